"""What the Matrix adapter remembers across restarts, in the ``platform_state`` table.

The sync token (so a restart neither replays nor misses events), each person's DM room, each session's room (and
thread root, when sessions are threads), which notice is the alert about which escalation (for claims by reaction),
and the rooms already told that the bot cannot read their encryption. Keys are namespaced by the bot's own user id, so
two bot accounts can share one database.
"""

from __future__ import annotations

from sqlalchemy import select, update

from bot.clock import Clock
from bot.storage import Database
from bot.storage.matrix_models import PlatformState
from bot.storage.upsert import insert_ignore

__all__ = ["MatrixState"]


class MatrixState:
    """A small key-value store for one bot account, with an in-memory cache in front of the database."""

    def __init__(self, database: Database, clock: Clock, user_id: str) -> None:
        self.database = database
        self.clock = clock
        self.prefix = f"matrix:{user_id}:"
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
        full = self.prefix + key
        now = self.clock.now()
        async with self.database.transaction() as session:
            await insert_ignore(session, PlatformState, {"key": full, "value": value, "updated_at": now})
            await session.execute(
                update(PlatformState).where(PlatformState.key == full).values(value=value, updated_at=now)
            )
        self._cache[key] = value

    # Named accessors, so the key spellings live in one place.

    async def next_batch(self) -> str | None:
        """The sync token of the last sync whose events were all handled."""
        return await self.get("next_batch")

    async def set_next_batch(self, token: str) -> None:
        """Record that every event up to ``token`` was handled."""
        await self.set("next_batch", token)

    async def dm_room(self, user_id: str) -> str | None:
        """The direct room the bot uses with ``user_id``."""
        return await self.get(f"dm:{user_id}")

    async def set_dm_room(self, user_id: str, room_id: str) -> None:
        """Remember the direct room with ``user_id``."""
        await self.set(f"dm:{user_id}", room_id)

    async def space_room(self, space_id: str) -> str | None:
        """The room created for a session space such as ``session-12``."""
        return await self.get(f"space:{space_id}")

    async def set_space_room(self, space_id: str, room_id: str) -> None:
        """Remember the room created for a session space."""
        await self.set(f"space:{space_id}", room_id)

    async def alert_for_event(self, event_id: str) -> int | None:
        """The escalation an alert notice (by its event id) is about, for claims by reaction."""
        value = await self.get(f"alert-event:{event_id}")
        return int(value) if value else None

    async def set_alert_event(self, event_id: str, escalation_id: int) -> None:
        """Remember that the notice ``event_id`` is an alert about ``escalation_id``."""
        await self.set(f"alert-event:{event_id}", str(escalation_id))

    async def thread_root(self, space_id: str) -> str | None:
        """The root event of the thread a session space was opened as, when sessions are threads."""
        return await self.get(f"thread:{space_id}")

    async def set_thread_root(self, space_id: str, event_id: str) -> None:
        """Remember the thread root of a session space."""
        await self.set(f"thread:{space_id}", event_id)
