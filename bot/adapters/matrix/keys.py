"""Encrypted messages the bot could not decrypt yet: the room key is requested, the event kept, and decrypted when
the key arrives.

A room key (``m.room_key``) travels as a to-device message and can arrive in a later sync than the message it opens,
or after the bot asked for it (``m.room_key_request``; nio sends the request to the bot's own other devices and
accepts forwarded keys only from those it trusts). Each sync, the events whose session just arrived are decrypted and
handed back to the adapter as ordinary messages. An event whose key has not come after ``wait`` is reported once (a
warning in the log, and the adapter tells the room): nothing is dropped silently.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from nio import (
    AsyncClient,
    EncryptionError,
    ErrorResponse,
    ForwardedRoomKeyEvent,
    LocalProtocolError,
    MegolmEvent,
    RoomKeyEvent,
)

from bot.adapters.matrix.client import NETWORK_ERRORS
from bot.clock import Clock

__all__ = ["KEY_WAIT", "PENDING_LIMIT", "MissingKeys", "Pending", "arrived_sessions"]

log = logging.getLogger(__name__)

KEY_WAIT = timedelta(minutes=5)
"""How long an undecryptable message waits for its key before the bot says it cannot read it."""

PENDING_LIMIT = 1000
"""At most this many undecrypted events are kept; beyond it the oldest is given up, with a warning."""


@dataclass
class Pending:
    """An event waiting for its room key."""

    room_id: str
    event: MegolmEvent
    since: datetime
    overdue: bool = False


def arrived_sessions(to_device_events: Iterable[Any]) -> set[str]:
    """The megolm session ids whose keys a sync's (decrypted) to-device events brought."""
    return {event.session_id for event in to_device_events if isinstance(event, RoomKeyEvent | ForwardedRoomKeyEvent)}


class MissingKeys:
    """The undecrypted events of one client, in memory and bounded."""

    def __init__(
        self, client: AsyncClient, clock: Clock, *, wait: timedelta = KEY_WAIT, limit: int = PENDING_LIMIT
    ) -> None:
        self.client = client
        self.clock = clock
        self.wait = wait
        self.limit = limit
        self._pending: OrderedDict[str, Pending] = OrderedDict()

    def __len__(self) -> int:
        return len(self._pending)

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._pending

    async def add(self, room_id: str, event: MegolmEvent) -> None:
        """Keep ``event`` until its key arrives, and ask for the key (once per session: nio refuses repeats)."""
        if event.event_id in self._pending:
            return
        event.room_id = room_id
        self._pending[event.event_id] = Pending(room_id, event, self.clock.now())
        log.info("Matrix: waiting for the room key of %s in %s", event.event_id, room_id)
        while len(self._pending) > self.limit:
            _, dropped = self._pending.popitem(last=False)
            log.warning(
                "Matrix: gave up waiting for the room key of %s in %s (more than %d messages wait)",
                dropped.event.event_id,
                dropped.room_id,
                self.limit,
            )
        await self._request(event)

    async def _request(self, event: MegolmEvent) -> None:
        if event.session_id in self.client.outgoing_key_requests:
            return
        try:
            answer = await self.client.request_room_key(event)
        except LocalProtocolError:
            return  # already requested
        except NETWORK_ERRORS as error:
            log.warning("Matrix: could not request the room key for %s: %r", event.event_id, error)
            return
        if isinstance(answer, ErrorResponse):
            log.warning("Matrix: could not request the room key for %s: %s", event.event_id, answer)

    def forget(self, event_id: str) -> None:
        """Stop waiting for ``event_id`` (it arrived decrypted some other way)."""
        self._pending.pop(event_id, None)

    def decrypted(self, sessions: set[str]) -> list[tuple[str, Any]]:
        """``(room_id, event)`` for each waiting event of ``sessions`` that can now be decrypted, oldest first;
        those are forgotten here."""
        ready: list[tuple[str, Any]] = []
        for event_id, pending in list(self._pending.items()):
            if pending.event.session_id not in sessions:
                continue
            try:
                event = self.client.decrypt_event(pending.event)
            except EncryptionError as error:
                log.warning("Matrix: the key for %s arrived but it still cannot be decrypted: %s", event_id, error)
                continue
            del self._pending[event_id]
            if pending.overdue:
                log.info("Matrix: the room key of %s arrived late; reading it now", event_id)
            ready.append((pending.room_id, event))
        return ready

    def overdue(self) -> list[Pending]:
        """The events that have waited longer than ``wait`` and were not reported yet (each is reported once)."""
        now = self.clock.now()
        late = [p for p in self._pending.values() if not p.overdue and now - p.since >= self.wait]
        for pending in late:
            pending.overdue = True
        return late
