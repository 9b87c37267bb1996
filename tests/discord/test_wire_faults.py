"""Discord's REST API failing under a crisis alert, end to end: a member's message arrives over the emulated gateway,
the real application decides, and the real discord.py client posts through the outbox while the emulator answers the
moderators' channel with 429s, 5xx bursts longer than discord.py's own retries, a stalled answer, or 403 for good.

The alert must reach the moderators exactly once (never dropped, never twice), the member's private reply once, the
bot must stay ready, and the log must say what happened. The outbox's backoff runs on the application's manual clock;
discord.py's own waits (its retry-after and 5xx sleeps) are recorded and skipped, so the test does not sit through
them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import discord
import pytest
from discord.gateway import DiscordWebSocket
from sqlalchemy import select

from bot.adapters.discord import DiscordAdapter
from bot.adapters.discord.render import nonce_for
from bot.app import Application
from bot.clock import ManualClock
from bot.storage.models import OutboxItem, OutboxStatus
from tests.discord.emulator import (
    FALLBACK_ID,
    GENERAL_ID,
    MOD_ROLE_ID,
    MODERATORS_ID,
    Clockwork,
    Emulator,
    member,
    running_app,
    running_emulator,
    until,
    user,
)

URGENT = "I have the pills ready and I'm doing it tonight"
AMAL = user("500000000000000002", "amal")
ALERTS = f"/channels/{MODERATORS_ID}/messages"
T = TypeVar("T")


@pytest.fixture
async def emulator(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Emulator]:
    # The adapter points discord.py's class-level endpoints at the emulator; put them back after the test.
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", DiscordWebSocket.DEFAULT_GATEWAY)
    async with running_emulator() as running:
        running.members.append(member(AMAL))
        yield running


@pytest.fixture
def clockwork(monkeypatch: pytest.MonkeyPatch) -> Clockwork:
    recorder = Clockwork()
    monkeypatch.setattr(discord.http, "asyncio", recorder)
    return recorder


def _community(fallback: str | None = None) -> dict[str, Any]:
    moderators: dict[str, str] = {"destination": MODERATORS_ID}
    if fallback is not None:
        moderators["fallback"] = fallback
    return {"moderators": moderators, "roles": {"moderator": [MOD_ROLE_ID]}}


@pytest.fixture
async def connected(
    tmp_path: Path, sqlite_template: Path, emulator: Emulator, clockwork: Clockwork
) -> AsyncIterator[tuple[Application, DiscordAdapter]]:
    async with running_app(tmp_path, sqlite_template, emulator, community=_community()) as running:
        yield running


@pytest.fixture
async def with_fallback(
    tmp_path: Path, sqlite_template: Path, emulator: Emulator, clockwork: Clockwork
) -> AsyncIterator[tuple[Application, DiscordAdapter]]:
    async with running_app(tmp_path, sqlite_template, emulator, community=_community(FALLBACK_ID)) as running:
        yield running


async def eventually(probe: Callable[[], Awaitable[T]], check: Callable[[T], bool], what: str) -> T:
    """Poll ``probe`` (every 20 ms, at most 10 s) until ``check`` holds for its result."""
    for _ in range(500):
        value = await probe()
        if check(value):
            return value
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}: last {value!r}")


async def _items(app: Application) -> list[tuple[Any, ...]]:
    """(key, kind, target, status, attempts, leased, last_error) of every outbox item, oldest first."""
    async with app.database.transaction() as session:
        rows = await session.execute(
            select(
                OutboxItem.key,
                OutboxItem.kind,
                OutboxItem.target,
                OutboxItem.status,
                OutboxItem.attempts,
                OutboxItem.leased_until,
                OutboxItem.last_error,
            ).order_by(OutboxItem.id)
        )
        return [tuple(row) for row in rows]


async def _alert(app: Application, target: str = MODERATORS_ID) -> tuple[Any, ...]:
    """The outbox item for ``target`` (``()`` until the engine has written it)."""
    items = [item for item in await _items(app) if item[1] == "room" and item[2] == target]
    assert len(items) <= 1
    return items[0] if items else ()


def _after(attempts: int) -> Callable[[tuple[Any, ...]], bool]:
    """The alert's ``attempts``-th delivery has failed and it waits for its retry."""
    return lambda item: bool(item) and item[4] == attempts and item[5] is None and item[3] == OutboxStatus.PENDING


def _delivered(item: tuple[Any, ...]) -> bool:
    return bool(item) and item[3] == OutboxStatus.DELIVERED


def _retry_now(app: Application, by: timedelta = timedelta(minutes=5)) -> None:
    """Move the manual clock past the outbox's backoff (at most 5 minutes) and wake the deliverer."""
    clock = app.clock
    assert isinstance(clock, ManualClock)
    clock.advance(by)
    app.deliverer.wake()


def _bot_lines(caplog: pytest.LogCaptureFixture, level: int = logging.INFO) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("bot.") and r.levelno >= level]


async def test_a_crisis_alert_survives_429s_5xx_bursts_and_a_stalled_answer_and_shows_once(
    connected: tuple[Application, DiscordAdapter],
    emulator: Emulator,
    clockwork: Clockwork,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    app, adapter = connected
    sender = adapter.bridge.sender
    assert sender is not None
    sender.timeout = 0.5  # the stalled answer below waits until released: far longer than this
    # Outbox attempt 1: two 429s (discord.py waits Discord's retry_after itself), then 500s until discord.py's five
    # tries are spent. Attempt 2: five 502s (discord.py's own 5xx retries, all spent). Attempt 3: a 503, which
    # discord.py does not retry. Attempt 4: Discord creates the message but the answer never comes. Attempt 5: the
    # same nonce again, and Discord answers with the message it already has.
    emulator.fail("POST", ALERTS, 429, times=2, retry_after=2.5)
    emulator.fail("POST", ALERTS, 500, times=3)
    emulator.fail("POST", ALERTS, 502, times=5)
    emulator.fail("POST", ALERTS, 503)
    emulator.fail("POST", ALERTS, 200, stall=True)

    await emulator.dispatch("MESSAGE_CREATE", emulator.message(AMAL, GENERAL_ID, URGENT))

    first = await eventually(lambda: _alert(app), _after(1), "the first failed attempt")
    assert emulator.statuses("POST", ALERTS) == [429, 429, 500, 500, 500]
    assert clockwork.waits == [2.5, 2.5, 5, 7, 9]  # Discord's retry_after twice, then 1 + 2 * tries after 500s
    assert "500" in first[6]
    # The member's private reply was not held up by the moderators' channel: delivered once, on the first try.
    dm_channel = emulator.dm_channel(AMAL["id"])
    assert dm_channel is not None
    assert len(emulator.messages_in(dm_channel)) == 1

    _retry_now(app)
    second = await eventually(lambda: _alert(app), _after(2), "the second failed attempt")
    assert emulator.statuses("POST", ALERTS)[5:] == [502] * 5
    assert clockwork.waits[5:] == [1, 3, 5, 7, 9]
    assert "502" in second[6]

    _retry_now(app)
    third = await eventually(lambda: _alert(app), _after(3), "the third failed attempt")
    assert emulator.statuses("POST", ALERTS)[10:] == [503]
    assert "503" in third[6]

    _retry_now(app)
    fourth = await eventually(lambda: _alert(app), _after(4), "the timed-out attempt")
    assert "did not answer within 0.5 s" in fourth[6]
    assert len(emulator.messages_in(MODERATORS_ID)) == 1  # Discord has it; the bot could not know

    _retry_now(app)
    delivered = await eventually(lambda: _alert(app), _delivered, "delivery")
    assert delivered[4] == 5
    emulator.release()
    await until(lambda: len(emulator.statuses("POST", ALERTS)) == 13, what="the stalled answer")

    # Exactly once: one message in the moderators' channel, though Discord was asked 13 times; the retry after the
    # lost answer carried the same enforced nonce and got the existing message back.
    (alert,) = emulator.messages_in(MODERATORS_ID)
    assert "URGENT" in alert["content"]
    assert [b["label"] for row in alert["components"] for b in row["components"]] == ["Claim", "Resolve"]
    assert emulator.nonce_repeats == 1
    assert emulator.statuses("POST", ALERTS).count(200) == 2  # the created one (answered late) and the repeat
    bodies = emulator.posts_to(MODERATORS_ID)
    assert {body["nonce"] for body in bodies} == {nonce_for(delivered[0])}
    assert all(body["enforce_nonce"] is True for body in bodies)
    # The private reply went once, under its own nonce; nothing else was delivered twice.
    (reply,) = emulator.messages_in(dm_channel)
    (dm_item,) = [item for item in await _items(app) if item[1] == "dm"]
    assert reply["nonce"] == nonce_for(dm_item[0])
    assert dm_item[3] == OutboxStatus.DELIVERED
    assert dm_item[4] == 1
    # The bot stayed connected and healthy throughout.
    assert adapter.ready
    assert (await app.health())["adapter:discord"] is True
    # The log tells an operator each failure and the final delivery.
    lines = _bot_lines(caplog)
    retries = [line for line in lines if "not delivered" in line and "will retry" in line]
    assert len(retries) == 4
    assert "Discord server error 500" in retries[0]
    assert "Discord server error 502" in retries[1]
    assert "Discord server error 503" in retries[2]
    assert "Discord did not answer within 0.5 s" in retries[3]
    errors = _bot_lines(caplog, logging.ERROR)
    assert all(line in errors for line in retries)  # an alert's failure is an error, not a warning
    assert any("delivered outbox item" in line and "after 5 attempt(s)" in line for line in lines)


async def test_a_long_rate_limit_is_waited_out_on_the_outbox_clock(
    connected: tuple[Application, DiscordAdapter],
    emulator: Emulator,
    clockwork: Clockwork,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    app, adapter = connected
    # Longer than the 30 s discord.py may sleep: it raises at once, and the outbox keeps Discord's 42 s.
    emulator.fail("POST", ALERTS, 429, retry_after=42.0)
    await emulator.dispatch("MESSAGE_CREATE", emulator.message(AMAL, GENERAL_ID, URGENT))
    await eventually(lambda: _alert(app), _after(1), "the rate-limited attempt")
    assert clockwork.waits == []  # discord.py did not sit on it
    _retry_now(app, timedelta(seconds=41))
    await asyncio.sleep(0.3)  # three deliverer polls: the alert is not due yet
    assert emulator.statuses("POST", ALERTS) == [429]
    _retry_now(app, timedelta(seconds=1))
    await eventually(lambda: _alert(app), _delivered, "delivery")
    assert emulator.statuses("POST", ALERTS) == [429, 200]
    assert len(emulator.messages_in(MODERATORS_ID)) == 1
    assert adapter.ready
    assert any("Discord rate limit" in line and "will retry" in line for line in _bot_lines(caplog, logging.ERROR))


async def test_a_moderators_channel_refusing_for_good_sends_the_alert_to_the_fallback(
    with_fallback: tuple[Application, DiscordAdapter], emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    app, adapter = with_fallback
    emulator.fail("POST", ALERTS, 403, times=100, code=50001, message="Missing Access")
    await emulator.dispatch("MESSAGE_CREATE", emulator.message(AMAL, GENERAL_ID, URGENT))
    await eventually(
        lambda: _items(app),
        lambda items: any(item[2] == FALLBACK_ID and item[3] == OutboxStatus.DELIVERED for item in items),
        "the alert in the fallback channel",
    )
    # Refused once (a 403 is final: no retry against the same channel), then delivered to the fallback, once.
    assert emulator.statuses("POST", ALERTS) == [403]
    primary = await _alert(app)
    assert primary[3] == OutboxStatus.FAILED
    assert "403" in primary[6]
    (alert,) = emulator.messages_in(FALLBACK_ID)
    assert "URGENT" in alert["content"]
    assert [b["label"] for row in alert["components"] for b in row["components"]] == ["Claim", "Resolve"]
    assert emulator.messages_in(MODERATORS_ID) == []
    _retry_now(app)
    await asyncio.sleep(0.3)  # more deliverer polls, later: nothing more is sent anywhere
    assert len(emulator.messages_in(FALLBACK_ID)) == 1
    assert emulator.statuses("POST", ALERTS) == [403]
    assert adapter.ready
    errors = _bot_lines(caplog, logging.ERROR)
    assert any("refused by discord" in line and "403" in line for line in errors)
    assert any(f"moderator destination {MODERATORS_ID} unreachable" in line for line in errors)


async def test_without_a_fallback_a_refused_alert_is_kept_and_retried_until_it_goes_through(
    connected: tuple[Application, DiscordAdapter], emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    app, _ = connected
    emulator.fail("POST", ALERTS, 403, times=3, code=50001, message="Missing Access")
    await emulator.dispatch("MESSAGE_CREATE", emulator.message(AMAL, GENERAL_ID, URGENT))
    for attempt in (1, 2, 3):
        refused = await eventually(lambda: _alert(app), _after(attempt), f"refusal {attempt}")
        assert "403" in refused[6]
        assert emulator.messages_in(MODERATORS_ID) == []
        _retry_now(app)  # an administrator gives the bot its access back after the third refusal
    delivered = await eventually(lambda: _alert(app), _delivered, "delivery")
    assert delivered[4] == 4
    assert emulator.statuses("POST", ALERTS) == [403, 403, 403, 200]
    assert len(emulator.messages_in(MODERATORS_ID)) == 1
    refusals = [line for line in _bot_lines(caplog, logging.ERROR) if "refused by discord" in line]
    assert len(refusals) == 3


async def test_an_alert_failing_three_times_also_goes_to_the_fallback_and_each_channel_shows_it_once(
    with_fallback: tuple[Application, DiscordAdapter],
    emulator: Emulator,
    clockwork: Clockwork,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    app, adapter = with_fallback
    emulator.fail("POST", ALERTS, 503, times=4)  # the moderators' channel is unavailable for four attempts
    await emulator.dispatch("MESSAGE_CREATE", emulator.message(AMAL, GENERAL_ID, URGENT))
    for attempt in (1, 2, 3):
        await eventually(lambda: _alert(app), _after(attempt), f"failed attempt {attempt}")
        _retry_now(app)
    # After the third failure the alert is queued for the fallback channel too, and delivered there once, while the
    # moderators' channel is still retried.
    await eventually(lambda: _alert(app, FALLBACK_ID), _delivered, "the alert in the fallback channel")
    await eventually(lambda: _alert(app), _after(4), "failed attempt 4")
    _retry_now(app)
    await eventually(lambda: _alert(app), _delivered, "the alert in the moderators' channel")
    _retry_now(app)
    await asyncio.sleep(0.3)  # more deliverer polls, later: nothing is sent again
    assert emulator.statuses("POST", ALERTS) == [503, 503, 503, 503, 200]
    assert len(emulator.messages_in(MODERATORS_ID)) == 1
    assert len(emulator.messages_in(FALLBACK_ID)) == 1
    assert emulator.nonce_repeats == 0
    assert clockwork.waits == []  # discord.py does not retry a 503 itself
    assert adapter.ready
    errors = _bot_lines(caplog, logging.ERROR)
    assert any(f"moderator destination {MODERATORS_ID} unreachable" in line for line in errors)
