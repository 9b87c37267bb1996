"""Transcripts of a planned session that is deleted: re-planned when its schedule or the session is moved (a new row
takes its place), or called off when the schedule is cleared.

A re-planned session is a new row with an id never given before (on SQLite too, since migration 0009), so its
reminders and its facilitator's prompt, keyed by session id in the outbox, are never taken for the deleted
session's and dropped: each arrives exactly once. When the schedule is cleared, the members and whoever was told the
session was theirs to lead hear privately, once, that it will not take place."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.storage import Database
from bot.storage.schedule_models import CircleSession, SessionStatus
from tests.e2e.circle_setup import PEOPLE, PROMPT, RULE, START, evening_circle
from tests.harness import Console

# RULE meets first on Tuesday 17 March, 18:00 UTC; LATER an hour later.
LATER = '"Evening circle" weekly tue 20:00 Europe/Berlin 90m'
REMINDER = (
    '[direct message to {who}] Reminder: "Evening circle" meets Tue 2026-03-17 {time} (Europe/Berlin), in {left}.'
)
AMALS_PROMPT = PROMPT.format(who="amal")
CALLED_OFF = (
    '[direct message to {who}] The schedule of "Evening circle" was removed, so its session on Tue 2026-03-17 19:00 '
    "(Europe/Berlin) will not take place."
)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def circle(database: Database, clock: ManualClock) -> Console:
    """amal (the trained facilitator), ben and chen; the schedule is set, so Tuesday's session is planned and amal,
    30 hours ahead, has her notice. The rate limit is not what is tested."""
    console = await evening_circle(database, clock, volunteers=("amal",), rule=RULE, relax_rate_limit=True)
    out = await console.later(minutes=1)
    assert '[direct message to amal] You are facilitating "Evening circle" on Tue 2026-03-17 19:00' in out
    return console


async def _planned(console: Console) -> list[int]:
    async with console.database.transaction() as session:
        return list(
            (
                await session.execute(select(CircleSession.id).where(CircleSession.status == SessionStatus.SCHEDULED))
            ).scalars()
        )


async def _until(console: Console, moment: datetime) -> str:
    return await console.later(seconds=(moment - console.clock.now()).total_seconds())


@pytest.mark.parametrize(
    "move",
    [f"!circle schedule-set {LATER}", "!session move Evening circle 2026-03-17 2026-03-17 20:00"],
    ids=["schedule moved", "session moved"],
)
async def test_a_re_planned_session_gets_its_reminders_and_prompt_exactly_once(circle: Console, move: str) -> None:
    # Monday 18:00 UTC: the 24 h reminder of the 19:00 session goes out.
    out = await _until(circle, datetime(2026, 3, 16, 18, 1, tzinfo=UTC))
    for who in PEOPLE:
        assert out.count(REMINDER.format(who=who, time="19:00", left="24 h")) == 1
    (before,) = await _planned(circle)
    # 18:30 UTC: the session moves an hour later. Its row is deleted and a new one planned, whose own 24 h reminder
    # (19:00 UTC) is still to come.
    circle.clock.advance(timedelta(minutes=29))
    await circle.as_("mod", "moderator")
    assert "20:00" in await circle.say(move)
    (after,) = await _planned(circle)
    assert after != before  # a new row: under an id never given before
    out = await _until(circle, datetime(2026, 3, 16, 19, 1, tzinfo=UTC))
    for who in PEOPLE:
        assert out.count(REMINDER.format(who=who, time="20:00", left="24 h")) == 1, (who, out)
    # Tuesday: the 15 min reminder at 18:45 UTC, and the prompt at 19:00 UTC, once each.
    out = await _until(circle, datetime(2026, 3, 17, 19, 1, tzinfo=UTC))
    for who in PEOPLE:
        assert out.count(REMINDER.format(who=who, time="20:00", left="15 min")) == 1, (who, out)
    assert out.count(AMALS_PROMPT) == 1
    # Nothing of the session comes twice, then or later.
    await circle.later(days=2)
    transcript = circle.output.getvalue()
    for who in PEOPLE:
        for left in ("24 h", "15 min"):
            assert transcript.count(REMINDER.format(who=who, time="20:00", left=left)) == 1, (who, left)
    assert transcript.count(AMALS_PROMPT) == 1


async def test_clearing_the_schedule_tells_members_and_the_facilitator_once(circle: Console) -> None:
    await circle.as_("chen")
    await circle.say("!me language ar")
    await circle.as_("amal")
    await circle.say("!me timezone Africa/Cairo")
    await circle.as_("mod", "moderator")
    out = await circle.say("!circle schedule-clear Evening circle")
    assert (
        '[private to mod] "Evening circle" has no schedule any more, so its session on Tue 2026-03-17 19:00 '
        "(Europe/Berlin) will not take place. Its members have been told."
    ) in out
    assert out.count(CALLED_OFF.format(who="ben")) == 1
    # Each in their own language and time zone.
    assert (
        '[direct message to amal] The schedule of "Evening circle" was removed, so its session on Tue 2026-03-17 '
        "20:00 (Africa/Cairo) will not take place."
    ) in out
    assert '[direct message to chen] أُزيلت مواعيد "Evening circle"، فلن تُعقد جلستها يوم' in out
    assert "[direct message to mod]" not in out  # the moderator has their reply
    assert "Change of plan" not in out  # amal, who was told it was hers, hears it once, with the others
    assert await _planned(circle) == []
    # Nothing of the session comes afterwards: no reminder, no prompt.
    out = await circle.later(days=3)
    assert "Reminder" not in out
    assert "It's time" not in out
    assert circle.output.getvalue().count("[direct message to amal] The schedule of") == 1


async def test_the_facilitator_who_was_told_hears_it_even_after_leaving_the_circle(circle: Console) -> None:
    await circle.as_("amal")
    await circle.say("!circle leave Evening circle")
    await circle.as_("mod", "moderator")
    out = await circle.say("!circle schedule-clear Evening circle")
    for who in PEOPLE:
        assert out.count(CALLED_OFF.format(who=who)) == 1, who


async def test_a_cancellation_also_reaches_the_facilitator_who_left(circle: Console) -> None:
    """Cancelling one session tells members through the same code, and whoever was told it was theirs too."""
    await circle.as_("amal")
    await circle.say("!circle leave Evening circle")
    await circle.as_("mod", "moderator")
    out = await circle.say("!session cancel Evening circle 2026-03-17")
    cancelled = '[direct message to {who}] The session of "Evening circle" on Tue 2026-03-17 19:00 (Europe/Berlin) is '
    for who in PEOPLE:
        assert out.count(cancelled.format(who=who) + "cancelled.") == 1, who
    assert "Change of plan" not in out


async def test_clearing_a_schedule_with_nothing_planned_tells_nobody(circle: Console) -> None:
    await circle.as_("mod", "moderator")
    await circle.say('!circle schedule-set "Evening circle" weekly tue 19:00 Europe/Berlin 90m count 1')
    await circle.later(days=2)  # the one session has been and gone
    assert await _planned(circle) == []
    out = await circle.say("!circle schedule-clear Evening circle")
    assert out == '[private to mod] "Evening circle" has no schedule any more.\n'
