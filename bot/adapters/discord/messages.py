"""Messages in: attendance in session threads, and crisis scanning of what people write (new and edited), including
what Discord's AutoMod blocked or flagged (``platforms.discord.automod_signal``)."""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from datetime import datetime, timedelta

import discord

from bot.model import CommandInvocation, IncomingMessage, Platform, Reply, RoomRef, UserRef

from .actions import ActionRunner
from .context import Context

__all__ = ["MessageHandler"]

log = logging.getLogger(__name__)

RECENT = 2_000
"""How many recently scanned message ids are remembered, so a message seen twice (by AutoMod and as a message, or
replayed after a reconnect) is scanned once."""
AUTOMOD_SAME = timedelta(minutes=1)
"""AutoMod reports each action (block, alert, timeout) of one blocked message separately, without a message id: the
same text from the same person in the same channel within this time is taken as one message."""


class MessageHandler:
    """Marks who speaks in a session thread present and hands people's messages to the safety engine."""

    def __init__(self, context: Context, actions: ActionRunner) -> None:
        self.context = context
        self.actions = actions
        self.attended: dict[str, set[int]] = {}
        """Who has been marked present by speaking, per session space (once per member per session)."""
        actions.space_closed.append(self.space_closed)
        self._scanned: OrderedDict[str, None] = OrderedDict()
        self._blocked: OrderedDict[str, tuple[str, datetime]] = OrderedDict()
        """Event ids given to AutoMod reports without a message id, by channel, author and text digest."""

    def space_closed(self, space: str) -> None:
        """Forget who attended a session that closed."""
        self.attended.pop(space, None)

    async def on_message(self, message: discord.Message) -> None:
        """Mark who speaks in a session thread present; scan what a person wrote (a channel message or a DM to the
        bot) for crisis language."""
        try:
            await self._attend(message)
        except Exception:
            log.exception("could not mark attendance from message %s", message.id)
        await self.scan(message, event_id=str(message.id), edited=False)

    async def _attend(self, message: discord.Message) -> None:
        """The first message of a member in a session thread runs ``session here`` for them (once per session)."""
        thread = message.channel
        sender = self.context.sender
        if message.author.bot or not isinstance(thread, discord.Thread) or sender is None:
            return
        session = sender.session_of(thread)
        if session is None:
            return
        space, circle = session
        seen = self.attended.setdefault(space, set())
        if message.author.id in seen:
            return
        seen.add(message.author.id)
        context = self.context
        community = context.community(thread.guild.id)
        if community is None:
            return
        actions = await context.engine.handle_command(
            CommandInvocation(
                community=context.ref(thread.guild.id, community),
                author=UserRef(Platform.DISCORD, str(message.author.id)),
                command="session here",
                args={"circle": circle},
                room=RoomRef(Platform.DISCORD, str(thread.id)),
                platform_role=context.role(message.author, community),
                author_display=message.author.display_name,
            )
        )
        for action in actions:
            if not isinstance(action, Reply):  # the reply would interrupt the circle; presence is recorded quietly
                await self.actions.carry_out(action, thread.parent, community)

    async def on_message_edit(self, before: discord.Message, after: discord.Message) -> None:
        """Scan an edit whose text changed: someone may edit crisis words into a harmless message."""
        if before.content == after.content:
            return
        stamp = int(after.edited_at.timestamp() * 1000) if after.edited_at else 0
        await self.scan(after, event_id=f"{after.id}:edit:{stamp}", edited=True)

    def _first_time(self, event_id: str) -> bool:
        """Whether ``event_id`` is new (and remember it)."""
        if event_id in self._scanned:
            return False
        self._scanned[event_id] = None
        while len(self._scanned) > RECENT:
            self._scanned.popitem(last=False)
        return True

    async def scan(self, message: discord.Message, *, event_id: str, edited: bool) -> None:
        """Hand a person's message to the safety engine under ``event_id``, once."""
        if message.author.bot or not message.content.strip():
            return
        guild_id = message.guild.id if message.guild is not None else None
        context = self.context
        community = context.community(guild_id, message.author)
        if community is None or not self._first_time(event_id):
            return
        await context.engine.handle_message(
            IncomingMessage(
                community=context.ref(guild_id, community),
                author=UserRef(Platform.DISCORD, str(message.author.id)),
                text=message.content,
                event_id=event_id,
                room=RoomRef(Platform.DISCORD, str(message.channel.id)) if guild_id is not None else None,
                link=message.jump_url,
                edited=edited,
                author_display=message.author.display_name,
            )
        )

    async def on_automod_action(self, execution: discord.AutoModAction) -> None:
        """Scan what AutoMod blocked or flagged as a message from that member in that channel, so crisis words that
        AutoMod kept from the channel still reach the moderators. Without the message content intent Discord sends
        no text, and there is nothing to scan."""
        context = self.context
        if not context.settings.platforms.discord.automod_signal or not execution.content.strip():
            return
        community = context.community(execution.guild_id)
        if community is None:
            return
        event_id = self._automod_event_id(execution)
        if not self._first_time(event_id):
            return
        guild = execution.guild
        member = guild.get_member(execution.user_id)
        channel = execution.channel_id
        link = None
        if channel is not None:
            link = f"https://discord.com/channels/{guild.id}/{channel}" + (
                f"/{execution.message_id}" if execution.message_id else ""
            )
        await context.engine.handle_message(
            IncomingMessage(
                community=context.ref(guild.id, community),
                author=UserRef(Platform.DISCORD, str(execution.user_id)),
                text=execution.content,
                event_id=event_id,
                room=RoomRef(Platform.DISCORD, str(channel)) if channel is not None else None,
                link=link,
                author_display=member.display_name if member is not None else "",
            )
        )

    def _automod_event_id(self, execution: discord.AutoModAction) -> str:
        """The message's own id when AutoMod gives one (the message also arrives, and is scanned once); otherwise
        one id for the same text by the same person in the same channel within :data:`AUTOMOD_SAME`."""
        if execution.message_id is not None:
            return str(execution.message_id)
        digest = hashlib.sha256(execution.content.encode()).hexdigest()[:16]
        who = f"{execution.guild_id}:{execution.channel_id}:{execution.user_id}:{digest}"
        now = self.context.engine.clock.now()
        earlier = self._blocked.get(who)
        if earlier is not None and now - earlier[1] < AUTOMOD_SAME:
            return earlier[0]
        event_id = f"automod:{who}:{int(now.timestamp() * 1000)}"
        self._blocked[who] = (event_id, now)
        self._blocked.move_to_end(who)
        while len(self._blocked) > RECENT:
            self._blocked.popitem(last=False)
        return event_id
