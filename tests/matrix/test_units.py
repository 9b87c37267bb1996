"""The Matrix adapter's pure parts and its error mapping, without a homeserver."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from nio import RoomSendError, RoomSendResponse

from bot.adapters.matrix.client import Backoff, error_for
from bot.adapters.matrix.outgoing import Outgoing
from bot.adapters.matrix.render import event_link, notice
from bot.adapters.matrix.roles import role_for
from bot.adapters.matrix.rooms import CommunityMap
from bot.adapters.matrix.state import MatrixState
from bot.clock import ManualClock
from bot.config.communities import Community
from bot.delivery.outbox import Delivery
from bot.errors import DeliveryRefused, PlatformError
from bot.i18n import catalogue
from bot.model import Platform, Role
from bot.storage import Database

ROOM = "!mods:example.org"


@dataclass
class Transport:
    status: int


def _error(status: int, errcode: str | None, retry_after_ms: int | None = None) -> RoomSendError:
    error = RoomSendError("failed", errcode, retry_after_ms)
    error.transport_response = Transport(status)  # type: ignore[assignment]
    return error


@dataclass
class FakeClient:
    """Answers every send with the next prepared response, recording the transaction ids."""

    answers: list[Any]
    user_id: str = "@bot:example.org"
    sent: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    rooms: dict[str, Any] = field(default_factory=dict)
    invited_rooms: dict[str, Any] = field(default_factory=dict)

    async def room_send(self, room_id: str, event_type: str, content: dict[str, Any], tx_id: str) -> Any:
        self.sent.append((room_id, tx_id, content))
        return self.answers.pop(0)


def _community() -> Community:
    return Community.model_validate(
        {
            "id": "c",
            "platform": "matrix",
            "name": "C",
            "rooms": ["!general:example.org"],
            "moderators": {"destination": ROOM},
            "roles": {"facilitator": ["@fran:example.org"], "moderator": ["@maya:example.org"]},
            "power_levels": {"moderator": 50, "admin": 100},
        }
    )


def _outgoing(client: FakeClient, database: Database) -> Outgoing:
    state = MatrixState(database, ManualClock(), client.user_id)
    return Outgoing(client, state, CommunityMap([_community()]), catalogue())  # type: ignore[arg-type]


def _delivery(**kwargs: Any) -> Delivery:
    values: dict[str, Any] = {"key": "alert:1:primary", "platform": Platform.MATRIX, "kind": "room", "target": ROOM}
    return Delivery(text="alert <b>", **{**values, **kwargs})


async def test_the_outbox_key_is_the_transaction_id_and_pings_are_pills(database: Database) -> None:
    client = FakeClient([RoomSendResponse("$e", ROOM)])
    await _outgoing(client, database).send(_delivery(ping="@oncall:example.org"))
    room_id, txn_id, content = client.sent[0]
    assert (room_id, txn_id) == (ROOM, "alert:1:primary")
    assert content["m.mentions"] == {"user_ids": ["@oncall:example.org"]}
    assert "alert &lt;b&gt;" in content["formatted_body"]


@pytest.mark.parametrize(
    ("answer", "retry_after"),
    [(_error(429, "M_LIMIT_EXCEEDED", 2500), 2.5), (_error(502, None), None), (_error(500, "M_UNKNOWN"), None)],
)
async def test_rate_limits_and_server_errors_are_retryable(
    database: Database, answer: RoomSendError, retry_after: float | None
) -> None:
    with pytest.raises(PlatformError) as raised:
        await _outgoing(FakeClient([answer]), database).send(_delivery())
    assert raised.value.retry_after == retry_after


async def test_forbidden_is_refused_for_good(database: Database) -> None:
    with pytest.raises(DeliveryRefused):
        await _outgoing(FakeClient([_error(403, "M_FORBIDDEN")]), database).send(_delivery())


async def test_an_unopened_session_space_is_refused(database: Database) -> None:
    with pytest.raises(DeliveryRefused):
        await _outgoing(FakeClient([]), database).send(_delivery(target="session-9"))


async def test_state_survives_a_new_store(database: Database) -> None:
    first = MatrixState(database, ManualClock(), "@bot:example.org")
    await first.set_next_batch("s1")
    await first.set_next_batch("s2")
    await first.set_dm_room("@a:example.org", "!dm:example.org")
    again = MatrixState(database, ManualClock(), "@bot:example.org")
    assert await again.next_batch() == "s2"
    assert await again.dm_room("@a:example.org") == "!dm:example.org"
    assert await MatrixState(database, ManualClock(), "@other:example.org").next_batch() is None


def test_notice_escapes_everything_and_links_addresses() -> None:
    content = notice("<script>x</script> @room see https://matrix.to/#/!r:s/$e?a=1&b=2\nnext")
    html = content["formatted_body"]
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert '<a href="https://matrix.to/#/!r:s/$e?a=1&amp;b=2">' in html
    assert html.endswith("<br>next")
    assert content["m.mentions"] == {}
    assert content["body"].startswith("<script>")


def test_a_mention_names_the_person_in_both_bodies() -> None:
    content = notice("hi", mention=("@a:example.org", "<A>"))
    assert content["body"] == "<A>: hi"
    assert content["formatted_body"] == '<a href="https://matrix.to/#/@a:example.org">&lt;A&gt;</a>: hi'


def test_event_links() -> None:
    assert event_link("!r:example.org", "$abc:x") == "https://matrix.to/#/!r:example.org/$abc:x"


def test_roles_from_power_levels_and_lists() -> None:
    community = _community()
    assert role_for(community, "@x:example.org", 0) is Role.MEMBER
    assert role_for(community, "@x:example.org", 50) is Role.MODERATOR
    assert role_for(community, "@x:example.org", 100) is Role.ADMIN
    assert role_for(community, "@fran:example.org", 0) is Role.FACILITATOR
    assert role_for(community, "@maya:example.org", 0) is Role.MODERATOR


def test_backoff_is_capped_and_honours_retry_after() -> None:
    backoff = Backoff(first=1, cap=8)
    assert [backoff.next() for _ in range(5)] == [1, 2, 4, 8, 8]
    assert backoff.next(retry_after=30) == 30
    backoff.reset()
    assert backoff.next() == 1


def test_an_unreadable_answer_is_retryable() -> None:
    assert type(error_for(RoomSendError("unknown error"), "x")) is PlatformError
