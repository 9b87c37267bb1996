"""Matrix power levels and configured user lists -> engine roles."""

from __future__ import annotations

from collections.abc import Iterable

from nio import MatrixRoom

from bot.config.communities import Community
from bot.model import Role

__all__ = ["member_role", "role_for"]


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


def member_role(
    community: Community, user_id: str, room: MatrixRoom, community_rooms: Iterable[MatrixRoom] | None = None
) -> Role:
    """The role ``user_id`` acts with in ``room``. In a direct chat (``community_rooms`` given) there are no power
    levels to go by: the person's highest level in the community's rooms they are in counts."""
    if community_rooms is None:
        return role_for(community, user_id, room.power_levels.get_user_level(user_id))
    levels = [r.power_levels.get_user_level(user_id) for r in community_rooms if user_id in r.users]
    return role_for(community, user_id, max(levels, default=0))
