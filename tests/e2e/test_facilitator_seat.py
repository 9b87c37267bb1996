"""Transcripts of a trained facilitator who left their circle: their facilitator record stays (for coming back), but
without a seat they have no power over the circle. They cannot open, close, cancel, move or swap its sessions, nor
see its check-in summary, and are told why; they hear nothing more of its quiet members. Moderators keep their
power, and a seat again gives theirs back."""

from __future__ import annotations

import pytest

from bot.clock import ManualClock
from bot.storage import Database
from tests.e2e.circle_setup import RULE, START, evening_circle
from tests.harness import Console

NOT_SEATED = (
    "[private to amal] You don't have a seat in \"Evening circle\" now, so you can't lead or change its sessions: "
    "only its facilitators who have a seat in it, and the moderators, can. Once you have a seat in it again, you can "
    "lead its sessions."
)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def left(database: Database, clock: ManualClock) -> Console:
    """amal and ben are trained volunteers of "Evening circle"; amal had the notice for Tuesday's session (ben backs
    her up), then left the circle. The rate limit is not what is tested."""
    console = await evening_circle(database, clock, volunteers=("amal", "ben"), rule=RULE, relax_rate_limit=True)
    # RULE's first session is 30 h away: amal has her notice at once.
    assert '[direct message to amal] You are facilitating "Evening circle"' in await console.later(minutes=1)
    await console.as_("amal", "facilitator")  # the platform's facilitator role too: it gives no power over a circle
    assert 'You have left "Evening circle"' in await console.say("!circle leave Evening circle")
    return console


async def test_a_facilitator_who_left_cannot_change_or_lead_the_circles_sessions(left: Console) -> None:
    for line in (
        "!session cancel Evening circle 2026-03-17",
        "!session move Evening circle 2026-03-17 2026-03-18 19:00",
        "!session cancel Evening circle 2026-03-24",
        "!rotation swap Evening circle ben",
        "!session open Evening circle",
        "!session close Evening circle",
    ):
        assert await left.say(line) == NOT_SEATED + "\n", line
    for line in ("!circle schedule-set " + RULE.replace("19:00", "20:00"), "!circle schedule-clear Evening circle"):
        assert "Only a moderator or above" in await left.say(line), line
    assert 'Only the facilitators of "Evening circle" and the moderators can see its check-in summary' in (
        await left.say("!checkin summary Evening circle")
    )
    # The schedule is as it was: nothing was cancelled or moved.
    out = await left.say("!circle schedule Evening circle")
    assert "• Tue 2026-03-17 19:00 (Europe/Berlin)" in out
    assert "• Tue 2026-03-24 19:00 (Europe/Berlin)" in out
    # At the start the session goes to ben, her backup; amal hears it is no longer hers, and cannot open it, mark
    # herself present or close it; ben can.
    out = await left.later(days=1, hours=6)  # Tuesday 17 March, 18:00 UTC
    assert "[direct message to ben] It's time" in out
    assert '[direct message to amal] Change of plan: you are no longer facilitating "Evening circle"' in out
    assert await left.say("!session open Evening circle") == NOT_SEATED + "\n"
    await left.as_("ben", "facilitator")
    assert 'The session of "Evening circle" is open' in await left.say("!session open Evening circle")
    await left.as_("amal", "facilitator")
    assert 'You are not in "Evening circle"' in await left.say("!session here Evening circle")
    assert await left.say("!session close Evening circle") == NOT_SEATED + "\n"
    await left.as_("ben", "facilitator")
    assert 'Closed "Evening circle"' in await left.say("!session close Evening circle")


async def test_moderators_keep_their_power_and_a_seat_again_gives_hers_back(left: Console) -> None:
    await left.as_("mod", "moderator")
    assert "Cancelled the session" in await left.say("!session cancel Evening circle 2026-03-17")
    await left.as_("amal", "facilitator")
    assert await left.say("!session cancel Evening circle 2026-03-24") == NOT_SEATED + "\n"
    assert 'Welcome to "Evening circle"' in await left.say("!circle join Evening circle")
    assert "Cancelled the session" in await left.say("!session cancel Evening circle 2026-03-24")
    assert "from 3 members" not in await left.say("!checkin summary Evening circle")  # allowed: too few to show
    assert "Only the facilitators" not in await left.say("!checkin summary Evening circle")


async def test_a_facilitator_who_left_hears_nothing_of_the_circles_quiet_members(left: Console) -> None:
    """chen agreed to be named to the facilitators when quiet: ben, who has a seat, hears it; amal does not."""
    await left.as_("chen")
    await left.say("!checkin share-name on")
    out = await left.later(days=24)  # the care check the day after the session of Tuesday 7 April
    assert "[direct message to chen] Hi, it's been a little while since we heard from you" in out
    assert '[direct message to ben] chen in "Evening circle" has been quiet for 3 weeks' in out
    assert "[direct message to amal] chen" not in out
    assert "[direct message to amal] Someone" not in out
