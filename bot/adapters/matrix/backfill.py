"""Catching up on a truncated (``limited``) sync timeline, and remembering which events were already handled.

When more happened in a room than a sync's timeline holds (after downtime, or in a burst), the homeserver sends only
the newest events with ``limited: true`` and a ``prev_batch`` token. The events between the previous sync position and
that token are fetched here with ``/messages``, paging backwards and stopping at the previous sync token (Synapse
accepts a sync token as the ``to`` bound), so none of them is missed and none before it is read again.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

from nio import AsyncClient, MessageDirection, RoomMessagesResponse

from bot.adapters.matrix.client import NETWORK_ERRORS, check
from bot.errors import PlatformError

__all__ = ["BACKFILL_CAP", "PAGE_SIZE", "SeenEvents", "missed_events"]

log = logging.getLogger(__name__)

BACKFILL_CAP = 1000
"""At most this many older events are fetched for one room and one sync; beyond it the oldest are given up (logged)."""

PAGE_SIZE = 100
"""Events asked for per ``/messages`` request."""


async def missed_events(
    client: AsyncClient,
    room_id: str,
    prev_batch: str,
    since: str,
    *,
    cap: int = BACKFILL_CAP,
    page_size: int = PAGE_SIZE,
) -> list[Any]:
    """The events of ``room_id`` between the sync token ``since`` and a limited timeline's ``prev_batch``,
    oldest first, at most ``cap`` of them (the newest ones, when there are more).

    Raises :class:`PlatformError` on a 429, a 5xx or a lost connection: the caller must not advance its sync token,
    so the next attempt fetches the same events again.
    """
    newest_first: list[Any] = []
    start = prev_batch
    while len(newest_first) < cap:
        limit = min(page_size, cap - len(newest_first))
        try:
            answer = await client.room_messages(
                room_id, start=start, end=since, direction=MessageDirection.back, limit=limit
            )
        except NETWORK_ERRORS as error:
            raise PlatformError(f"reading missed messages in {room_id}: {error!r}") from error
        page: RoomMessagesResponse = check(answer, f"reading missed messages in {room_id}")
        newest_first.extend(page.chunk[:limit])
        if not page.chunk or not page.end or page.end == start:
            break  # reached the previous sync position (Synapse leaves out ``end`` there)
        start = page.end
    else:
        log.warning("Matrix: more than %d events were missed in %s; the older ones are not read", cap, room_id)
    newest_first.reverse()
    return newest_first


class SeenEvents:
    """The ids of the last ``size`` events handled, so an event reached twice (by a backfill that overlaps a
    timeline, a retried sync, or a late decryption) is handled once."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._ids

    def add(self, event_id: str) -> bool:
        """Remember ``event_id``; ``False`` when it was already there (the event must not be handled again)."""
        if event_id in self._ids:
            return False
        self._ids[event_id] = None
        if len(self._ids) > self.size:
            self._ids.popitem(last=False)
        return True
