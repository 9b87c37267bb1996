"""Discord permissions and configured roles mapped to engine roles."""

from __future__ import annotations

import discord

from bot.config.communities import Community
from bot.model import Role

__all__ = ["role_for"]


def role_for(member: discord.Member | discord.User, community: Community | None) -> Role:
    """The highest engine role Discord grants ``member``.

    Guild owner or Administrator, or a configured admin role: admin. Manage Server, or a configured moderator role:
    moderator. A configured facilitator role: facilitator. Anyone else, and anyone outside a server: member.
    The engine checks this role on every command; hiding commands in Discord is never relied on.
    """
    if not isinstance(member, discord.Member):
        return Role.MEMBER
    permissions = member.guild_permissions
    if member.guild.owner_id == member.id or permissions.administrator:
        return Role.ADMIN
    held = {str(role.id) for role in member.roles}
    configured = community.roles if community is not None else None
    if configured is not None and held & set(configured.admin):
        return Role.ADMIN
    if permissions.manage_guild or (configured is not None and held & set(configured.moderator)):
        return Role.MODERATOR
    if configured is not None and held & set(configured.facilitator):
        return Role.FACILITATOR
    return Role.MEMBER
