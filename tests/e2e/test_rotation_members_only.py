"""Transcripts: the rotation turns only to trained volunteers who hold a seat in the circle. One who left it, or
waits for a seat, is not planned, not shown in ``rotation show``, not kept at the start and cannot take a swap."""

from __future__ import annotations

import pytest

from bot.clock import ManualClock
from bot.storage import Database
from tests.e2e.circle_setup import FIRST, PROMPT, RULE, START, TO_START, evening_circle
from tests.harness import Console


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def console(database: Database, clock: ManualClock) -> Console:
    """A circle of three seats, taken by amal, ben and chen; amal and ben volunteer and are trained. No schedule yet.
    The rate limit is not what is tested."""
    return await evening_circle(database, clock, volunteers=("amal", "ben"), capacity=3, relax_rate_limit=True)


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
    assert PROMPT.format(who="ben") in out
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
