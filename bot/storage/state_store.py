"""A small key-value store over the ``platform_state`` table, for what an adapter remembers across restarts.

Keys are namespaced by the adapter and its account (``matrix:@bot:example.org:next_batch``,
``discord:123:seen_until``), so two bot accounts can share one database. Values are platform ids, tokens and times,
never message text.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.storage import Database
from bot.storage.matrix_models import PlatformState
from bot.storage.upsert import insert_ignore

__all__ = ["StateStore", "put_state"]


async def put_state(session: AsyncSession, key: str, value: str, now: datetime) -> None:
    """Remember ``value`` under the full ``key`` in ``session`` (replacing any earlier one)."""
    await insert_ignore(session, PlatformState, {"key": key, "value": value, "updated_at": now})
    await session.execute(update(PlatformState).where(PlatformState.key == key).values(value=value, updated_at=now))


class StateStore:
    """Values under one key prefix, with an in-memory cache in front of the database."""

    def __init__(self, database: Database, clock: Clock, prefix: str) -> None:
        self.database = database
        self.clock = clock
        self.prefix = prefix
        self._cache: dict[str, str | None] = {}

    async def get(self, key: str) -> str | None:
        """The remembered value, or ``None``."""
        if key in self._cache:
            return self._cache[key]
        async with self.database.transaction() as session:
            value = await session.scalar(select(PlatformState.value).where(PlatformState.key == self.prefix + key))
        self._cache[key] = value
        return value

    async def set(self, key: str, value: str) -> None:
        """Remember ``value`` under ``key`` (replacing any earlier one)."""
        if self._cache.get(key) == value:
            return
        async with self.database.transaction() as session:
            await put_state(session, self.prefix + key, value, self.clock.now())
        self._cache[key] = value
