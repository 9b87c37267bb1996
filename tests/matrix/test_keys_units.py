"""Waiting for room keys, without a homeserver (the Synapse test is in test_encryption.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from nio import EncryptionError, LocalProtocolError, MegolmEvent, RoomKeyEvent

from bot.adapters.matrix.keys import MissingKeys, arrived_sessions
from bot.clock import ManualClock

ROOM = "!room:example.org"


def _event(n: int, session: str = "S1") -> MegolmEvent:
    event = MegolmEvent.from_dict(
        {
            "event_id": f"$e{n}",
            "sender": "@carol:example.org",
            "origin_server_ts": 0,
            "type": "m.room.encrypted",
            "content": {
                "algorithm": "m.megolm.v1.aes-sha2",
                "ciphertext": "x",
                "device_id": "CAROL",
                "sender_key": "curve",
                "session_id": session,
            },
        }
    )
    assert isinstance(event, MegolmEvent), event
    return event


@dataclass
class Crypto:
    """Decrypts the events of the sessions it has; records key requests (refusing a repeat, as nio does)."""

    sessions: set[str] = field(default_factory=set)
    outgoing_key_requests: dict[str, Any] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    async def request_room_key(self, event: MegolmEvent) -> Any:
        if event.session_id in self.outgoing_key_requests:
            raise LocalProtocolError("already requested")
        self.outgoing_key_requests[event.session_id] = True
        self.requests.append(event.event_id)
        return None

    def decrypt_event(self, event: MegolmEvent) -> Any:
        if event.session_id not in self.sessions:
            raise EncryptionError("no session")
        return {"decrypted": event.event_id}


def _keys(crypto: Crypto, clock: ManualClock, **kwargs: Any) -> MissingKeys:
    return MissingKeys(crypto, clock, **kwargs)  # type: ignore[arg-type]


async def test_the_key_is_requested_once_per_session_and_the_event_read_when_it_arrives() -> None:
    crypto, clock = Crypto(), ManualClock()
    keys = _keys(crypto, clock)
    await keys.add(ROOM, _event(1))
    await keys.add(ROOM, _event(1))  # reached again: still one
    await keys.add(ROOM, _event(2))
    await keys.add(ROOM, _event(3, session="S2"))
    assert len(keys) == 3
    assert crypto.requests == ["$e1", "$e3"]
    assert keys.decrypted({"S1"}) == []  # the session was announced but cannot decrypt yet: they keep waiting
    crypto.sessions.add("S1")
    assert keys.decrypted({"S2"}) == []  # only the sessions that arrived are tried
    assert keys.decrypted({"S1"}) == [(ROOM, {"decrypted": "$e1"}), (ROOM, {"decrypted": "$e2"})]
    assert "$e1" not in keys
    assert len(keys) == 1


async def test_an_event_waiting_too_long_is_reported_once() -> None:
    crypto, clock = Crypto(), ManualClock()
    keys = _keys(crypto, clock, wait=timedelta(minutes=5))
    await keys.add(ROOM, _event(1))
    clock.advance(timedelta(minutes=3))
    await keys.add(ROOM, _event(2))
    assert keys.overdue() == []
    clock.advance(timedelta(minutes=2))
    assert [p.event.event_id for p in keys.overdue()] == ["$e1"]
    assert keys.overdue() == []  # once
    clock.advance(timedelta(minutes=3))
    assert [p.event.event_id for p in keys.overdue()] == ["$e2"]
    assert len(keys) == 2  # reported, still waiting: a late key is still used


async def test_past_the_limit_the_oldest_is_given_up_loudly(caplog: pytest.LogCaptureFixture) -> None:
    keys = _keys(Crypto(), ManualClock(), limit=2)
    for n in range(3):
        await keys.add(ROOM, _event(n))
    assert "$e0" not in keys
    assert len(keys) == 2
    assert "gave up waiting for the room key of $e0" in caplog.text


def test_the_sessions_a_sync_brought_are_those_of_its_room_keys() -> None:
    key = RoomKeyEvent({}, "@carol:example.org", "curve", ROOM, "S9", "m.megolm.v1.aes-sha2")
    assert arrived_sessions([key, object()]) == {"S9"}
