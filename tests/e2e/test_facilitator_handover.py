"""Transcripts of a session changing hands after its facilitator was told it was theirs: a moderator's ``rotation
set``, an accepted swap, the start-time check or a re-plan. The person told hears, once and privately, that it no
longer is theirs; the new facilitator gets the notice if theirs would otherwise never come; someone the rotation
picked who had not been told yet hears nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.clock import ManualClock
from bot.storage import Database
from bot.storage.models import Member
from tests.e2e.circle_setup import FIRST, PEOPLE, PROMPT, RULE, START, evening_circle, next_session
from tests.harness import Console

TUESDAY, TUE = RULE, FIRST  # 30 h away: inside the 48 h notice at once
FRIDAY = '"Evening circle" weekly fri 19:00 Europe/Berlin 90m'  # 4 days away: the notice comes on Wednesday
FRI = "Fri 2026-03-20 19:00 (Europe/Berlin)"
NOTICE = '[direct message to {who}] You are facilitating "Evening circle" on {when}.'
RELEASED = (
    '[direct message to {who}] Change of plan: you are no longer facilitating "Evening circle" on {when}, so there '
    "is nothing you need to prepare for it. Thank you for being ready to hold the space."
)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


async def _circle(database: Database, clock: ManualClock, rule: str) -> Console:
    """amal and ben volunteer and are trained; chen is trained but not in the rotation. The schedule is set, so the
    first session is planned: amal's, with ben as backup. The rate limit is not what is tested."""
    return await evening_circle(
        database, clock, volunteers=("amal", "ben"), trained=PEOPLE, rule=rule, relax_rate_limit=True
    )


@pytest.fixture
async def told(database: Database, clock: ManualClock) -> Console:
    """The Tuesday circle: amal has had her notice."""
    console = await _circle(database, clock, TUESDAY)
    out = await console.later(minutes=1)
    assert NOTICE.format(who="amal", when=TUE) in out
    return console


@pytest.fixture
async def untold(database: Database, clock: ManualClock) -> Console:
    """The Friday circle: amal leads it, and her notice is not due before Wednesday."""
    console = await _circle(database, clock, FRIDAY)
    out = await console.later(minutes=1)
    assert "You are facilitating" not in out
    return console


def _nothing_about_leading(out: str, who: str) -> bool:
    """Whether ``who`` was told nothing about leading the session (reminders, as a member, may still come)."""
    told = ("Change of plan", "You are facilitating", "It's time", "A moderator asked you", "accepted: they will")
    return not any(f"[direct message to {who}] {start}" in out for start in told)


def _released(console: Console, name: str) -> int:
    """How many times ``name`` was told, in the whole transcript, that a session is no longer theirs."""
    return console.output.getvalue().count(f"[direct message to {name}] Change of plan")


async def _notified(console: Console) -> str | None:
    """Who the next session records as told it is theirs."""
    row = await next_session(console)
    if row.facilitator_notified_id is None:
        return None
    async with console.database.transaction() as session:
        member = await session.get(Member, row.facilitator_notified_id)
        assert member is not None
        return member.native_id


async def test_a_moderator_naming_someone_else_tells_the_one_who_had_the_notice(told: Console) -> None:
    assert await _notified(told) == "amal"
    out = await told.say('!rotation set "Evening circle" chen')
    assert "chen will facilitate the next session" in out
    assert out.count(RELEASED.format(who="amal", when=TUE)) == 1
    # chen's notice time has passed, so the moderator's message to chen carries it whole.
    assert (
        f'[direct message to chen] A moderator asked you to facilitate "Evening circle" on {TUE}. Your backup is amal. '
        "When it's time, open it with !session open Evening circle. If you can't make it, ask someone to swap: "
        "!rotation swap Evening circle"
    ) in out
    assert await _notified(told) == "chen"
    # Naming chen again changes nothing for amal, and chen, told already, gets the short word only.
    out = await told.say('!rotation set "Evening circle" chen')
    assert _nothing_about_leading(out, "amal")
    assert "[direct message to chen] A moderator asked you to facilitate the next session" in out
    # The start: chen is prompted, amal hears nothing more, and nothing was queued twice.
    out = await told.later(days=1, hours=6)
    assert PROMPT.format(who="chen") in out
    assert _nothing_about_leading(out, "amal")
    assert _released(told, "amal") == 1
    assert _released(told, "chen") == 0


async def test_naming_someone_back_and_away_again_tells_each_in_turn(told: Console) -> None:
    await told.say('!rotation set "Evening circle" chen')
    out = await told.say('!rotation set "Evening circle" amal')
    assert RELEASED.format(who="chen", when=TUE) in out
    assert "[direct message to amal] A moderator asked you to facilitate" in out
    told.clock.advance(timedelta(minutes=5))
    out = await told.say('!rotation set "Evening circle" ben')
    assert out.count(RELEASED.format(who="amal", when=TUE)) == 1
    assert _released(told, "amal") == 2
    assert _released(told, "chen") == 1
    assert await _notified(told) == "ben"


async def test_the_release_reads_in_the_persons_own_language(told: Console) -> None:
    await told.as_("amal")
    await told.say("!me language ar")
    await told.as_("mod", "moderator")
    out = await told.say('!rotation set "Evening circle" chen')
    line = next(line for line in out.splitlines() if line.startswith("[direct message to amal]"))
    assert "لم تعد ميسّر" in line
    assert "Evening circle" in line


async def test_an_accepted_swap_tells_the_asker_and_gives_the_taker_the_notice(told: Console) -> None:
    await told.as_("amal")
    assert "I've asked ben" in await told.say('!rotation swap "Evening circle" ben')
    await told.as_("ben")
    out = await told.say("!rotation accept 1")
    assert 'the next session of "Evening circle" is yours' in out
    # ben's notice time passed while the session was amal's: ben gets it now, with a backup who is not ben.
    assert NOTICE.format(who="ben", when=TUE) in out
    assert "Your backup is ben" not in out
    done = (
        f'[direct message to amal] ben accepted: they will facilitate "Evening circle" on {TUE} in your place, so it '
        "is no longer yours to lead. Thank you for arranging it."
    )
    assert out.count(done) == 1
    assert "Change of plan" not in out  # the swap's own message is amal's one word on it
    assert await _notified(told) == "ben"
    out = await told.later(days=1, hours=6)
    assert PROMPT.format(who="ben") in out
    assert _nothing_about_leading(out, "amal")
    assert told.output.getvalue().count("[direct message to amal] ben accepted") == 1


async def test_the_start_handing_it_to_the_backup_tells_the_one_who_had_the_notice(told: Console) -> None:
    await told.as_("amal")
    await told.say('!facilitate away "Evening circle" 2026-03-17 2026-03-17')
    out = await told.later(days=1, hours=6)
    assert PROMPT.format(who="ben") in out
    assert out.count(RELEASED.format(who="amal", when=TUE)) == 1
    assert "[direct message to amal] It's time" not in out
    assert _released(told, "amal") == 1
    out = await told.later(hours=1)
    assert _nothing_about_leading(out, "amal")


async def test_a_lapsed_choice_tells_the_person_named_and_the_rotation_takes_over(told: Console) -> None:
    await told.say('!rotation set "Evening circle" chen')
    await told.as_("chen")
    await told.say('!facilitate away "Evening circle" 2026-03-17 2026-03-17')
    out = await told.later(days=1, hours=6)
    assert RELEASED.format(who="chen", when=TUE) in out
    assert "[direct message to amal] It's time" in out
    assert "can't lead it, so it falls to you from the rotation" in out
    assert _released(told, "chen") == 1
    assert _released(told, "amal") == 1  # amal was told when chen was named, not again now


async def test_nobody_hears_anything_when_the_notice_had_not_been_sent(untold: Console) -> None:
    assert await _notified(untold) is None
    out = await untold.say('!rotation set "Evening circle" chen')
    assert _nothing_about_leading(out, "amal")
    # The notice is still to come, so chen gets the short word now and the whole notice on Wednesday.
    assert "[direct message to chen] A moderator asked you to facilitate the next session" in out
    assert "Your backup is" not in out
    out = await untold.later(days=2, hours=6, minutes=1)  # Wednesday 18:01 UTC
    assert NOTICE.format(who="chen", when=FRI) in out
    assert _nothing_about_leading(out, "amal")
    # chen, who had the notice, hands it to ben: chen hears it from the swap, and ben gets the notice at once.
    await untold.as_("chen")
    await untold.say('!rotation swap "Evening circle" ben')
    await untold.as_("ben")
    out = await untold.say("!rotation accept 1")
    assert "[direct message to chen] ben accepted" in out
    assert NOTICE.format(who="ben", when=FRI) in out
    assert _released(untold, "amal") == 0


async def test_a_swap_before_the_notice_leaves_the_notice_to_its_time_and_the_taker_is_told(untold: Console) -> None:
    await untold.as_("amal")
    await untold.say('!rotation swap "Evening circle" ben')
    await untold.as_("ben")
    out = await untold.say("!rotation accept 1")
    assert "[direct message to amal] ben accepted" in out
    assert "You are facilitating" not in out
    assert await _notified(untold) == "ben"  # ben knows: he accepted
    out = await untold.later(days=2, hours=6, minutes=1)
    assert out.count(NOTICE.format(who="ben", when=FRI)) == 1
    assert _nothing_about_leading(out, "amal")
    # The moderator names chen after all: ben, who took it and had the notice, hears it is no longer his.
    await untold.as_("mod", "moderator")
    out = await untold.say('!rotation set "Evening circle" chen')
    assert out.count(RELEASED.format(who="ben", when=FRI)) == 1
    assert _nothing_about_leading(out, "amal")


async def test_after_a_skipped_notice_the_start_falling_back_tells_nobody(untold: Console) -> None:
    # The bot is down when Wednesday's notice falls due, and back an hour later: the notice is skipped (misfire).
    untold.clock.advance(timedelta(days=2, hours=7))
    out = await untold.later(minutes=1)
    assert "You are facilitating" not in out
    assert await _notified(untold) is None
    await untold.as_("amal")
    await untold.say("!facilitate step-down Evening circle")
    # rotation show says what the start will do: amal is out of the rotation, so ben, her backup, leads it.
    assert f"• {FRI}: ben (backup: nobody available)" in await untold.say("!rotation show Evening circle")
    out = await untold.later(days=2)
    assert PROMPT.format(who="ben") in out
    assert _nothing_about_leading(out, "amal")


async def test_a_move_the_rotation_gives_to_someone_else_tells_the_one_who_had_the_notice(told: Console) -> None:
    await told.as_("amal")
    await told.say('!facilitate away "Evening circle" 2026-03-18 2026-03-18')
    await told.as_("mod", "moderator")
    out = await told.say("!session move Evening circle 2026-03-17 2026-03-18 19:00")
    wed = "Wed 2026-03-18 19:00 (Europe/Berlin)"
    assert f'[direct message to amal] The session of "Evening circle" on {TUE} has moved to {wed}.' in out
    assert out.count(RELEASED.format(who="amal", when=wed)) == 1
    assert await _notified(told) is None
    out = await told.later(hours=6)  # Monday 18:00 UTC, 48 h before: ben's notice
    assert NOTICE.format(who="ben", when=wed) in out
    assert await _notified(told) == "ben"
    out = await told.later(days=2)
    assert PROMPT.format(who="ben") in out
    assert _nothing_about_leading(out, "amal")
    assert _released(told, "amal") == 1


async def test_a_move_that_keeps_the_facilitator_keeps_them_told(told: Console) -> None:
    out = await told.say("!session move Evening circle 2026-03-17 2026-03-18 19:00")
    assert "Change of plan" not in out
    assert await _notified(told) == "amal"
    # Told, and then replaced by a moderator: amal hears it.
    out = await told.say('!rotation set "Evening circle" chen')
    assert RELEASED.format(who="amal", when="Wed 2026-03-18 19:00 (Europe/Berlin)") in out


async def test_a_new_schedule_without_the_session_tells_the_one_who_had_the_notice(told: Console) -> None:
    # The circle now meets at 20:00: the 19:00 session amal was told of is gone.
    out = await told.say('!circle schedule-set "Evening circle" weekly tue 20:00 Europe/Berlin 90m')
    assert out.count(RELEASED.format(who="amal", when=TUE)) == 1
    assert await _notified(told) is None  # the 20:00 session is amal's too, but she has not been told yet
    out = await told.later(minutes=1)
    assert NOTICE.format(who="amal", when="Tue 2026-03-17 20:00 (Europe/Berlin)") in out
    assert await _notified(told) == "amal"
    # Cancelling it tells every member, amal among them; that is word enough.
    out = await told.say("!session cancel Evening circle 2026-03-17")
    assert "Cancelled" in out
    when = "Tue 2026-03-17 20:00 (Europe/Berlin)"
    assert f'[direct message to amal] The session of "Evening circle" on {when} is cancelled.' in out
    assert "Change of plan" not in out
    assert _released(told, "amal") == 1
