"""Transcripts of a circle over several weeks: schedule, reminders across a DST change, rotation, sessions."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import ManualClock
from bot.storage import Database
from tests.e2e.circle_setup import RULE, START, evening_circle, volunteer_and_train
from tests.harness import Console


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def berlin(database: Database, clock: ManualClock) -> Console:
    """amal, ben and chen have joined "Evening circle"; nobody facilitates it yet and it has no schedule."""
    return await evening_circle(database, clock)


async def _train(console: Console, *names: str) -> None:
    """Each of ``names`` volunteers and a moderator confirms their training; the console is left as the moderator."""
    for name, out in (await volunteer_and_train(console, names, names)).items():
        assert f"{name} is now a trained facilitator" in out


async def test_schedule_is_shown_in_local_time_across_daylight_saving(berlin: Console) -> None:
    await berlin.as_("mod", "moderator")
    out = await berlin.say(f"!circle schedule-set {RULE}")
    assert '"Evening circle" now meets: weekly tue 19:00 Europe/Berlin 1h30m from 2026-03-16.' in out
    assert "First session: Tue 2026-03-17 19:00 (Europe/Berlin)" in out
    await berlin.as_("amal")
    out = await berlin.say("!circle schedule Evening circle")
    assert "• Tue 2026-03-24 19:00 (Europe/Berlin)" in out
    assert "• Tue 2026-03-31 19:00 (Europe/Berlin)" in out  # after the change: still 19:00 local
    await berlin.say("!me timezone africa/cairo")
    out = await berlin.say("!circle schedule Evening circle")
    assert "• Tue 2026-03-24 20:00 (Africa/Cairo)" in out
    assert "Times are in Africa/Cairo." in out
    assert "Did you mean Europe/Berlin?" in await berlin.say("!me timezone Europe/Berln")


async def test_bad_schedules_are_refused_clearly(berlin: Console) -> None:
    await berlin.as_("mod", "moderator")
    out = await berlin.say('!circle schedule-set "Evening circle" weekly tue 25:00 90m')
    assert '"25:00" is not a time.' in out
    out = await berlin.say('!circle schedule-set "Evening circle" weekly tue 19:00 Europe/Cairo 90m')
    assert "Did you mean Africa/Cairo?" in out
    await berlin.as_("amal")
    assert "Only a moderator or above" in await berlin.say(f"!circle schedule-set {RULE}")
    assert "has no schedule yet" in await berlin.say("!circle schedule Evening circle")


async def test_reminders_arrive_at_the_right_local_times_before_and_after_the_change(berlin: Console) -> None:
    await berlin.as_("mod", "moderator")
    await berlin.say(f"!circle schedule-set {RULE}")
    await berlin.as_("chen")
    await berlin.say("!me reminders off")
    # First session: Tue 17 March 19:00 CET = 18:00 UTC. The 24 h reminder is due at 18:00 UTC on Monday.
    assert "Reminder" not in await berlin.later(hours=5, minutes=59)
    out = await berlin.later(minutes=2)
    assert (
        '[direct message to amal] Reminder: "Evening circle" meets Tue 2026-03-17 19:00 (Europe/Berlin), in 24 h.'
        in out
    )
    assert "[direct message to ben] Reminder" in out
    assert "[direct message to chen]" not in out  # she turned reminders off
    # Third session: Tue 31 March 19:00 CEST = 17:00 UTC; 15 min before is 16:45 UTC.
    berlin_clock = berlin.clock
    await berlin.later(seconds=(datetime(2026, 3, 31, 16, 44, tzinfo=UTC) - berlin_clock.now()).total_seconds())
    out = await berlin.later(minutes=2)
    assert "meets Tue 2026-03-31 19:00 (Europe/Berlin), in 15 min." in out


async def test_no_facilitator_means_members_and_moderators_are_told(berlin: Console) -> None:
    await berlin.as_("mod", "moderator")
    await berlin.say(f"!circle schedule-set {RULE}")
    out = await berlin.later(days=1, hours=6, minutes=1)  # past Tuesday 18:00 UTC
    assert '[direct message to amal] "Evening circle" cannot meet as planned on Tue 2026-03-17 19:00' in out
    assert '[moderators\' channel] No facilitator is available for "Evening circle"' in out


async def test_rotation_is_fair_and_sessions_open_and_close(berlin: Console) -> None:
    await _train(berlin, "amal", "ben")
    await berlin.as_("mod", "moderator")
    await berlin.say(f"!circle schedule-set {RULE}")
    out = await berlin.say("!rotation show Evening circle")
    assert "• Tue 2026-03-17 19:00 (Europe/Berlin): amal (backup: ben)" in out
    assert "• Tue 2026-03-24 19:00 (Europe/Berlin): ben (backup: amal)" in out
    assert "• Tue 2026-03-31 19:00 (Europe/Berlin): amal (backup: ben)" in out
    out = await berlin.later(days=1, hours=6)  # Tuesday 18:00 UTC: the start
    prompt = 'It\'s time: "Evening circle" starts now. Open the session with !session open Evening circle.'
    assert f"[direct message to amal] {prompt}" in out
    await berlin.as_("chen")
    assert 'Only the facilitators of "Evening circle" or a moderator' in await berlin.say(
        "!session open Evening circle"
    )
    await berlin.as_("amal")
    out = await berlin.say("!session open Evening circle")
    assert '[in session-1] Session space "Evening circle" opened for: amal, ben, chen' in out
    assert "What is shared here stays here." in out
    assert 'The session of "Evening circle" is open in session-1.' in out
    await berlin.as_("chen")
    assert "you're marked as here" in await berlin.say("!session here Evening circle")
    await berlin.as_("amal")
    out = await berlin.say("!session close Evening circle")
    assert 'Closed "Evening circle". 2 people took part' in out
    assert "[direct message to chen] Thank you for coming" in out
    assert "[in session-1] This session space is now closed and archived." in out
    await berlin.as_("chen")
    assert "saved without your name" in await berlin.say('!session feedback "Evening circle" 4 it helped')
    assert "already given feedback" in await berlin.say('!session feedback "Evening circle" 5')
    await berlin.as_("ben")
    assert "no recent session" in await berlin.say('!session feedback "Evening circle" 5')
    # Next week: ben leads, because amal has led one and ben none.
    out = await berlin.later(days=7)
    assert "[direct message to ben] It's time" in out
    await berlin.as_("ben")
    await berlin.say("!session open Evening circle")
    await berlin.say("!session close Evening circle")
    out = await berlin.say("!rotation show Evening circle")
    assert "• Tue 2026-03-31 19:00 (Europe/Berlin): amal (backup: ben)" in out


async def test_away_periods_and_swaps_change_who_leads(berlin: Console) -> None:
    await _train(berlin, "amal", "ben")
    await berlin.as_("amal")
    assert "won't be chosen" in await berlin.say('!facilitate away "Evening circle" 2026-03-16 2026-03-18')
    await berlin.as_("mod", "moderator")
    await berlin.say(f"!circle schedule-set {RULE}")
    out = await berlin.say("!rotation show Evening circle")
    assert "• Tue 2026-03-17 19:00 (Europe/Berlin): ben (backup: nobody available)" in out
    await berlin.as_("ben")
    out = await berlin.say('!rotation swap "Evening circle" chen')
    assert "chen is not a trained facilitator" in out
    out = await berlin.say('!rotation swap "Evening circle" amal')
    assert "[direct message to amal] ben asks you to facilitate" in out
    await berlin.as_("chen")
    assert "no swap request 1 waiting for you" in await berlin.say("!rotation accept 1")
    await berlin.as_("amal")
    out = await berlin.say("!rotation accept 1")
    assert 'the next session of "Evening circle" is yours' in out
    assert "[direct message to ben] amal accepted" in out
    # amal is still away at the start, so the start falls back to whoever is eligible: ben.
    out = await berlin.later(days=1, hours=6)
    assert "[direct message to ben] It's time" in out


async def test_moderator_override_and_step_down(berlin: Console) -> None:
    await _train(berlin, "amal", "ben")
    await berlin.as_("mod", "moderator")
    await berlin.say(f"!circle schedule-set {RULE}")
    out = await berlin.say('!rotation set "Evening circle" ben')
    assert "ben will facilitate the next session" in out
    await berlin.as_("ben")
    assert "out of the rotation" in await berlin.say("!facilitate step-down Evening circle")
    await berlin.as_("amal")
    assert "Only a moderator or above" in await berlin.say('!rotation set "Evening circle" amal')


async def test_quorum_postpones_and_tells_everyone(database: Database, clock: ManualClock) -> None:
    console = await evening_circle(database, clock, members=("amal", "ben"), capacity=None, rule=f"{RULE} quorum=2")
    await console.as_("amal")
    assert "you're confirmed" in await console.say("!session rsvp Evening circle")
    # The quorum check is 2 h before the start: Tuesday 16:00 UTC.
    out = await console.later(days=1, hours=4, minutes=1)
    assert '[direct message to ben] "Evening circle" on Tue 2026-03-17 19:00 (Europe/Berlin) is postponed' in out
    assert "was postponed: 1 of the 2 needed confirmed" in out
    out = await console.later(hours=3)
    # A postponed session does not start.
    assert "It's time" not in out
    assert "cannot meet" not in out
    await console.as_("amal")
    assert "• Tue 2026-03-24 19:00" in await console.say("!circle schedule Evening circle")


async def test_a_restart_fires_what_fell_due_once_under_the_misfire_policy(berlin: Console) -> None:
    await _train(berlin, "amal")
    await berlin.as_("mod", "moderator")
    await berlin.say(f"!circle schedule-set {RULE}")
    await berlin.later(hours=5)  # Monday 17:00 UTC: nothing due yet
    # The bot is down from before the 24 h reminder (Monday 18:00 UTC) until 18:05: within the 10 min grace.
    berlin.clock.advance(timedelta(hours=1, minutes=5))
    restarted = Console(berlin.database, berlin.clock, timezone="Europe/Berlin")
    await restarted.scheduler.plan_all()
    out = await restarted.later(seconds=1)
    assert out.count("[direct message to amal] Reminder") == 1
    # A second restart does not send it again.
    again = Console(berlin.database, berlin.clock, timezone="Europe/Berlin")
    assert "Reminder" not in await again.later(seconds=1)
    # Down again across the 15 min reminder (17:45 UTC Tuesday) and the start (18:00), back at 18:10:
    # the stale reminder is skipped, the start is within its 15 min grace and still prompts the facilitator.
    berlin.clock.advance(datetime(2026, 3, 17, 18, 10, tzinfo=UTC) - berlin.clock.now())
    back = Console(berlin.database, berlin.clock, timezone="Europe/Berlin")
    out = await back.later(seconds=1)
    assert "in 15 min" not in out
    assert "[direct message to amal] It's time" in out


async def test_a_start_missed_beyond_its_grace_is_recorded_and_the_next_is_planned(berlin: Console) -> None:
    await _train(berlin, "amal")
    await berlin.as_("mod", "moderator")
    await berlin.say(f"!circle schedule-set {RULE}")
    berlin.clock.advance(datetime(2026, 3, 17, 19, 0, tzinfo=UTC) - berlin.clock.now())
    back = Console(berlin.database, berlin.clock, timezone="Europe/Berlin")
    out = await back.later(seconds=1)
    assert "It's time" not in out
    await back.as_("amal")
    assert "• Tue 2026-03-24 19:00" in await back.say("!circle schedule Evening circle")
    out = await back.later(days=7)
    assert "[direct message to amal] It's time" in out


async def test_two_schedulers_on_one_database_fire_each_occurrence_once(berlin: Console) -> None:
    await _train(berlin, "amal")
    await berlin.as_("mod", "moderator")
    await berlin.say(f"!circle schedule-set {RULE}")
    second = Console(berlin.database, berlin.clock, timezone="Europe/Berlin")

    async def both_at(moment: datetime) -> str:
        berlin.clock.advance(moment - berlin.clock.now())
        await asyncio.gather(berlin.scheduler.run_due(), second.scheduler.run_due(), second.scheduler.plan_all())
        await asyncio.gather(berlin.deliverer.drain(), second.deliverer.drain())
        return berlin.output.getvalue() + second.output.getvalue()

    shown = await both_at(datetime(2026, 3, 16, 18, 0, tzinfo=UTC))
    reminder = (
        '[direct message to amal] Reminder: "Evening circle" meets Tue 2026-03-17 19:00 (Europe/Berlin), in 24 h.'
    )
    assert shown.count(reminder) == 1
    shown = await both_at(datetime(2026, 3, 17, 18, 0, tzinfo=UTC))
    assert shown.count(reminder) == 1
    assert shown.count("It's time") == 1


async def test_one_session_can_be_cancelled_or_moved_and_members_are_told(berlin: Console) -> None:
    await _train(berlin, "amal")
    await berlin.as_("mod", "moderator")
    await berlin.say(f"!circle schedule-set {RULE}")
    out = await berlin.say("!session cancel Evening circle 2026-03-17")
    assert 'Cancelled the session of "Evening circle" on Tue 2026-03-17 19:00 (Europe/Berlin).' in out
    assert (
        '[direct message to ben] The session of "Evening circle" on Tue 2026-03-17 19:00 (Europe/Berlin) is cancelled.'
        in out
    )
    out = await berlin.say("!session move Evening circle 2026-03-24 2026-03-25 18:30")
    assert "to Wed 2026-03-25 18:30 (Europe/Berlin)" in out
    assert '"Evening circle" has no session on 2026-03-18.' in await berlin.say(
        "!session cancel Evening circle 2026-03-18"
    )
    await berlin.as_("ben")
    assert "Only the facilitators" in await berlin.say("!session cancel Evening circle 2026-03-31")
    out = await berlin.say("!circle schedule Evening circle")
    assert "2026-03-17" not in out
    assert "• Wed 2026-03-25 18:30 (Europe/Berlin)" in out
    # Nothing fires for the cancelled Tuesday; the moved session prompts its facilitator at its new time.
    assert "It's time" not in await berlin.later(days=2)  # Wednesday 18 March, 12:00 UTC
    assert "It's time" not in await berlin.later(days=7, hours=5, minutes=29)  # Wed 25 March, 17:29 UTC
    out = await berlin.later(minutes=2)  # 18:30 in Berlin is 17:30 UTC
    assert "[direct message to amal] It's time" in out


async def test_check_in_prompts_and_one_gentle_nudge_for_someone_quiet(berlin: Console) -> None:
    await _train(berlin, "amal")
    await berlin.as_("chen")
    await berlin.say("!checkin share-name on")
    await berlin.as_("mod", "moderator")
    await berlin.say(f"!circle schedule-set {RULE}")
    await berlin.later(days=1, hours=6)  # Tuesday 17 March, 18:00 UTC: the first session starts
    await berlin.as_("amal")
    await berlin.say("!session open Evening circle")
    await berlin.as_("ben")
    await berlin.say("!session here Evening circle")
    await berlin.as_("amal")
    await berlin.say("!session close Evening circle")
    # The day after the session, members are invited to check in privately.
    out = await berlin.later(days=1, hours=2)
    assert '[direct message to ben] How have you been since the last session of "Evening circle"?' in out
    assert "[direct message to chen] How have you been" in out
    await berlin.as_("ben")
    await berlin.say("!checkin 4")
    # Three weeks on, chen (who agreed to be named) has had no check-in and no session; ben checked in.
    out = await berlin.later(days=21)
    assert out.count("[direct message to chen] Hi, it's been a little while since we heard from you") == 1
    assert "[direct message to ben] Hi, it's been a little while" not in out
    assert '[direct message to amal] chen in "Evening circle" has been quiet for 3 weeks' in out
    # Sessions that did not happen bring no check-in prompt; chen's nudge is not repeated, while ben, quiet
    # in his turn now, gets his own one (unnamed to the facilitator: he did not agree to be named).
    out = await berlin.later(days=14)
    assert "[direct message to chen] Hi, it's been a little while" not in out
    assert out.count("[direct message to ben] Hi, it's been a little while") == 1
    assert '[direct message to amal] Someone in "Evening circle" has been quiet for 3 weeks' in out
    assert "How have you been" not in out


async def test_start_up_plans_only_what_is_missing(berlin: Console) -> None:
    from sqlalchemy import delete

    from bot.storage.schedule_models import CircleSession

    await berlin.as_("mod", "moderator")
    await berlin.say(f"!circle schedule-set {RULE}")
    await berlin.say('!circle create "Morning circle"')
    await berlin.say('!circle schedule-set "Morning circle" weekly mon,wed 08:00 60m')
    assert await berlin.scheduler.plan_all() == 0  # everything is planned: a restart changes nothing
    async with berlin.database.transaction() as session:
        await session.execute(delete(CircleSession))
    assert await berlin.scheduler.plan_all() == 2
    assert await berlin.scheduler.plan_all() == 0
    await berlin.as_("amal")
    out = await berlin.later(days=1, hours=6, minutes=1)
    assert "[direct message to amal] Reminder" in out


async def test_the_facilitator_is_offered_a_debrief_after_an_escalation_in_their_session(berlin: Console) -> None:
    await _train(berlin, "amal")
    await berlin.as_("mod", "moderator")
    await berlin.say(f"!circle schedule-set {RULE}")
    await berlin.later(days=1, hours=6)
    await berlin.as_("amal")
    await berlin.say("!session open Evening circle")
    await berlin.as_("ben")
    assert "⚠ Concern alert #1" in await berlin.say("honestly I want to kill myself")
    await berlin.as_("amal")
    out = await berlin.say("!session close Evening circle")
    assert '[direct message to amal] Thank you for holding the space in "Evening circle" today.' in out
    assert "ben" not in out.split("Thank you for holding the space", 1)[1].split("\n[", 1)[0]
    # A session without an escalation brings no debrief.
    await berlin.later(days=7)
    await berlin.say("!session open Evening circle")
    assert "Thank you for holding the space" not in await berlin.say("!session close Evening circle")
