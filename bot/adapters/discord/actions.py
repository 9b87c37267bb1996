"""Carrying out the engine's actions other than replies: direct messages, posts, and session threads."""

from __future__ import annotations

from collections.abc import Callable

import discord

from bot.config.communities import Community
from bot.config.fields import is_snowflake
from bot.errors import DeliveryRefused, PeerCirclesError
from bot.model import Action, CloseSpace, DirectMessage, OpenSpace, PostToRoom

from .context import Context
from .errors import translate_error

__all__ = ["ActionRunner"]


class ActionRunner:
    """Performs one action at a time through the sender; tells listeners when a session space closes."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.space_closed: list[Callable[[str], None]] = []
        """Called with the space id when a session space is closed."""

    async def carry_out(
        self, action: Action, where: discord.abc.GuildChannel | None, community: Community | None
    ) -> None:
        """Do ``action``; ``where`` is the channel the command ran in (a session opens there)."""
        sender = self.context.sender
        assert sender is not None
        if isinstance(action, DirectMessage):
            try:
                await sender.direct(action.to.native_id, action.text)
            except Exception as error:
                problem = error if isinstance(error, PeerCirclesError) else translate_error(error)
                if isinstance(problem, DeliveryRefused) and is_snowflake(action.to.native_id):
                    where_from = community.native_id if community is not None else None
                    self.context.remember_undelivered(action.to.native_id, action.text, where_from)
                if problem is error:
                    raise
                raise problem from error
        elif isinstance(action, PostToRoom):
            await sender.post(action.room.native_id, action.text)
        elif isinstance(action, OpenSpace):
            client = self.context.client
            if where is None and community is not None and community.moderators.destination and client:
                fallback = client.get_channel(int(community.moderators.destination))
                where = fallback if isinstance(fallback, discord.abc.GuildChannel) else None
            await sender.open_space(action.room.native_id, action.title, action.members, where)
        elif isinstance(action, CloseSpace):
            for listener in self.space_closed:
                listener(action.room.native_id)
            await sender.close_space(action.room.native_id)
