"""What the Matrix adapter remembers across restarts, in the ``platform_state`` table.

The sync token (so a restart neither replays nor misses events), each person's DM room, each session's room (and
thread root, when sessions are threads), which notice is the alert about which escalation (for claims by reaction),
and the rooms already told that the bot cannot read their encryption. Keys are namespaced by the bot's own user id, so
two bot accounts can share one database.
"""

from __future__ import annotations

from bot.clock import Clock
from bot.storage import Database
from bot.storage.state_store import StateStore

__all__ = ["MatrixState"]


class MatrixState(StateStore):
    """The Matrix adapter's remembered values for one bot account."""

    def __init__(self, database: Database, clock: Clock, user_id: str) -> None:
        super().__init__(database, clock, f"matrix:{user_id}:")

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
