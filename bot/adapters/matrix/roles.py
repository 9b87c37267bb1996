"""Matrix power levels and configured user lists -> engine roles."""

from __future__ import annotations

from bot.config.communities import Community
from bot.model import Role

__all__ = ["role_for"]


def role_for(community: Community, user_id: str, power_level: int) -> Role:
    """The highest role ``user_id`` holds: from their power level (against the community's thresholds) or from the
    configured ``roles`` lists."""
    thresholds = community.power_levels
    role = Role.MEMBER
    if power_level >= thresholds.admin:
        role = Role.ADMIN
    elif power_level >= thresholds.moderator:
        role = Role.MODERATOR
    for listed in (Role.ADMIN, Role.MODERATOR, Role.FACILITATOR):
        if user_id in getattr(community.roles, listed.label):
            role = max(role, listed)
    return role
