"""Backfill paging and the handled-events memory, without a homeserver (the Synapse tests are in test_catch_up.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from nio import MessageDirection, RoomMessagesError, RoomMessagesResponse

from bot.adapters.matrix.backfill import SeenEvents, missed_events
from bot.errors import DeliveryRefused, PlatformError

ROOM = "!room:example.org"


@dataclass
class Transport:
    status: int


@dataclass
class Event:
    event_id: str


@dataclass
class History:
    """A room's events newest first, served in pages from a token ``t<index>`` back to the ``end`` bound."""

    events: list[Event]
    bound: int  # index of the first event at or before the previous sync position
    calls: list[dict[str, Any]] = field(default_factory=list)
    fail: dict[int, Any] = field(default_factory=dict)  # call number -> the error answered or raised

    async def room_messages(self, room_id: str, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        failure = self.fail.get(len(self.calls))
        if isinstance(failure, BaseException):
            raise failure
        if failure is not None:
            return failure
        assert room_id == ROOM
        assert kwargs["direction"] == MessageDirection.back
        assert kwargs["end"] == "since"
        first = int(kwargs["start"][1:])
        last = min(first + kwargs["limit"], self.bound)
        chunk = self.events[first:last]
        end = f"t{last}" if last < self.bound else None  # Synapse leaves out `end` at the bound
        return RoomMessagesResponse(ROOM, chunk, kwargs["start"], end)  # type: ignore[arg-type]


def _history(count: int, bound: int | None = None) -> History:
    return History([Event(f"$e{n}") for n in range(count)], bound if bound is not None else count)


def _error(status: int, errcode: str | None) -> RoomMessagesError:
    error = RoomMessagesError("failed", errcode, 250 if status == 429 else None)
    error.transport_response = Transport(status)  # type: ignore[assignment]
    return error


async def test_pages_back_to_the_previous_sync_position_and_returns_oldest_first() -> None:
    history = _history(250, bound=230)  # 230 events newer than the previous sync position
    events = await missed_events(history, ROOM, "t0", "since", page_size=100)  # type: ignore[arg-type]
    assert [e.event_id for e in events] == [f"$e{n}" for n in reversed(range(230))]
    assert [call["start"] for call in history.calls] == ["t0", "t100", "t200"]


async def test_nothing_missed_is_one_empty_page() -> None:
    history = _history(0)
    assert await missed_events(history, ROOM, "t0", "since") == []  # type: ignore[arg-type]
    assert len(history.calls) == 1


async def test_the_cap_keeps_the_newest_events(caplog: pytest.LogCaptureFixture) -> None:
    history = _history(500)
    events = await missed_events(history, ROOM, "t0", "since", cap=120, page_size=50)  # type: ignore[arg-type]
    assert [e.event_id for e in events] == [f"$e{n}" for n in reversed(range(120))]
    assert [call["limit"] for call in history.calls] == [50, 50, 20]
    assert "more than 120 events were missed" in caplog.text


@pytest.mark.parametrize(
    ("failure", "retry_after"),
    [
        (_error(429, "M_LIMIT_EXCEEDED"), 0.25),
        (_error(502, None), None),
        (aiohttp.ClientConnectionError("reset"), None),
    ],
)
async def test_a_429_a_5xx_or_a_lost_connection_while_paging_is_our_platform_error(
    failure: Any, retry_after: float | None
) -> None:
    history = _history(300)
    history.fail = {2: failure}  # the second page fails
    with pytest.raises(PlatformError) as raised:
        await missed_events(history, ROOM, "t0", "since", page_size=100)  # type: ignore[arg-type]
    assert raised.value.retry_after == retry_after


async def test_a_refusal_while_paging_is_a_refusal_not_a_retry() -> None:
    history = _history(10)
    history.fail = {1: _error(403, "M_FORBIDDEN")}
    with pytest.raises(DeliveryRefused):
        await missed_events(history, ROOM, "t0", "since")  # type: ignore[arg-type]


def test_seen_events_remember_a_bounded_number_of_ids() -> None:
    seen = SeenEvents(size=3)
    assert all(seen.add(event_id) for event_id in ("$a", "$b", "$c"))
    assert not seen.add("$a")
    assert seen.add("$d")  # "$a" is forgotten, the oldest
    assert "$a" not in seen
    assert "$d" in seen
    assert seen.add("$a")
