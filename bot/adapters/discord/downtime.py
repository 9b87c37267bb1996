"""Messages written while the bot process was stopped: read back when it starts again.

Discord replays missed events only to a RESUMEd session, and a process that was stopped starts a new one. So while
connected, the bot writes down every :data:`MARK_EVERY` seconds (and when it stops) that it has seen everything until
then; on its next start it reads back its channels and threads from that moment (less a margin), and a crisis written
while it was down still reaches the moderators. Alerts are keyed by the message id, so a message read twice is
alerted once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from discord.ext import tasks

from bot.storage.state_store import StateStore

from .context import Context
from .ticker import every

__all__ = ["MARK_EVERY", "SeenMark"]

log = logging.getLogger(__name__)

MARK_EVERY = 20.0
"""Seconds between two marks: below the read-back margin (30 s), so a crash loses nothing the margin does not cover."""


class SeenMark:
    """When the bot last knew it had seen everything, kept in the database across restarts."""

    def __init__(self, context: Context, wall: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.context = context
        self.wall = wall  # real time: Discord's message ids are timestamps
        self.store = StateStore(context.services.database, context.engine.clock, "discord:")
        self._loop: tasks.Loop[Any] | None = None

    def _key(self) -> str | None:
        client = self.context.client
        account = client.application_id if client is not None else None
        return f"{account}:seen_until" if account else None

    async def read(self) -> datetime | None:
        """The last mark, or ``None`` on the very first start (nothing to read back)."""
        key = self._key()
        value = await self.store.get(key) if key else None
        return datetime.fromisoformat(value) if value else None

    async def write(self) -> None:
        """Mark that everything until now was seen (only while connected: an outage must not move the mark)."""
        client = self.context.client
        key = self._key()
        watch = getattr(client, "watch", None)
        if client is None or key is None or not client.is_ready() or (watch is not None and not watch.connected):
            return
        await self.store.set(key, self.wall().isoformat())

    def start(self) -> None:
        """Mark every :data:`MARK_EVERY` seconds once the client is ready, until it closes."""
        if self._loop is None:
            self._loop = every(self.context, MARK_EVERY, self._tick)

    async def _tick(self) -> None:
        try:
            await self.write()
        except Exception:  # the database may be briefly away: the next tick marks again
            log.exception("could not record that the Discord messages until now were seen")

    async def stop(self) -> None:
        """A last mark before the connection closes."""
        if self._loop is not None:
            self._loop.cancel()
        try:
            await self.write()
        except Exception:
            log.exception("could not record the last seen moment on stop")
