"""How people and rooms are named in the bot's text, per platform (the adapters send no pings, so a mention only
shows a name)."""

from __future__ import annotations

from bot.config.fields import is_snowflake
from bot.model import Platform
from bot.storage.models import Member

__all__ = ["shown_name", "shown_room"]


def shown_name(member: Member) -> str:
    """How a person is named to others: on Discord a mention (``<@123>``, shown as their name), elsewhere their
    platform id (a Matrix ``@user:server`` or a console name). A bare Discord snowflake tells the reader nothing."""
    if member.platform == Platform.DISCORD.value and is_snowflake(member.native_id):
        return f"<@{member.native_id}>"
    return member.native_id


def shown_room(platform: str, room_id: str) -> str:
    """How a room is named: on Discord a channel mention (``<#123>``, shown as ``#general`` and a link), elsewhere
    its id (a Matrix room id; alerts also carry a matrix.to link to the message)."""
    if platform == Platform.DISCORD.value and is_snowflake(room_id):
        return f"<#{room_id}>"
    return room_id
