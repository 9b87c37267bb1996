"""Transcripts: the rotation turns only to trained volunteers who hold a seat in the circle. One who left it, or
waits for a seat, is not planned, not shown in ``rotation show``, not kept at the start and cannot take a swap."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.clock import ManualClock
from bot.ratelimit import RateLimiter
from bot.storage import Database
from tests.harness import Console

# Monday 16 March 2026, 12:00 UTC; the circle meets on Tuesdays at 19:00 in Berlin (18:00 UTC until 29 March).
START = datetime(2026, 3, 16, 12, 0, tzinfo=UTC)
RULE = '"Evening circle" weekly tue 19:00 Europe/Berlin 90m'
FIRST = "Tue 2026-03-17 19:00 (Europe/Berlin)"
TO_START = {"days": 1, "hours": 6}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def console(database: Database, clock: ManualClock) -> Console:
    """A circle of three seats: amal and ben volunteer and are trained, then chen takes the third seat."""
    console = Console(database, clock, timezone="Europe/Berlin")
    console.engine.limiter = RateLimiter(burst=1_000)  # the rate limit is not what is tested
    await console.prepare()
    await console.as_("mod", "moderator")
    await console.say('!circle create "Evening circle" capacity=3')
    for name in ("amal", "ben"):
        await console.as_(name)
        await console.say("!circle join Evening circle")
        await console.say("!facilitate volunteer Evening circle")
    await console.as_("mod", "moderator")
    for name in ("amal", "ben"):
        await console.say(f"!facilitate train Evening circle {name}")
    await console.as_("chen")
    await console.say("!circle join Evening circle")
    return console


async def test_one_who_left_or_waits_for_a_seat_is_not_planned_or_shown(console: Console) -> None:
    # amal, first in the rotation, gives up her seat (dana, waiting, takes it) and joins the waitlist again.
    await console.as_("dana")
    assert "waitlist" in await console.say("!circle join Evening circle")
    await console.as_("amal")
    await console.say("!circle leave Evening circle")
    assert "waitlist" in await console.say("!circle join Evening circle")
    await console.as_("mod", "moderator")
    await console.say(f"!circle schedule-set {RULE}")
    out = await console.say("!rotation show Evening circle")
    assert f"• {FIRST}: ben (backup: nobody available)" in out, out
    assert "amal" not in out
    out = await console.later(minutes=1)
    assert f'[direct message to ben] You are facilitating "Evening circle" on {FIRST}' in out
    assert "[direct message to amal] You are facilitating" not in out


async def test_one_who_left_after_planning_is_not_kept_at_the_start(console: Console) -> None:
    await console.as_("mod", "moderator")
    await console.say(f"!circle schedule-set {RULE}")
    out = await console.later(minutes=1)
    assert f'[direct message to amal] You are facilitating "Evening circle" on {FIRST}' in out
    await console.as_("amal")
    await console.say("!circle leave Evening circle")
    # rotation show already says what the start will do.
    assert f"• {FIRST}: ben (backup: nobody available)" in await console.say("!rotation show Evening circle")
    out = await console.later(**TO_START)
    assert '[direct message to ben] It\'s time: "Evening circle" starts now.' in out
    assert "[direct message to amal] It's time" not in out
    # amal was told it was hers: she hears it no longer is.
    assert f'[direct message to amal] Change of plan: you are no longer facilitating "Evening circle" on {FIRST}' in out


async def test_a_swap_cannot_go_to_one_who_left(console: Console) -> None:
    await console.as_("mod", "moderator")
    await console.say(f"!circle schedule-set {RULE}")
    await console.as_("ben")
    await console.say("!circle leave Evening circle")
    await console.as_("amal")
    out = await console.say('!rotation swap "Evening circle" ben')
    assert 'ben is not a member of "Evening circle": only its members can facilitate it.' in out
    # Asked while ben still had a seat, and accepted after he left: refused too.
    await console.as_("ben")
    await console.say("!circle join Evening circle")
    await console.as_("amal")
    assert "I've asked ben" in await console.say('!rotation swap "Evening circle" ben')
    await console.as_("ben")
    await console.say("!circle leave Evening circle")
    out = await console.say("!rotation accept 1")
    assert 'ben is not a member of "Evening circle"' in out
