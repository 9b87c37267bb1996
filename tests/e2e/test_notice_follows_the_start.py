"""Transcripts of the facilitator notice when the person planned to lead the session can no longer do so by the time
it falls due (stepped down, away over the session, left the circle): the notice applies the check the start applies,
so the session goes at once to whoever the start would give it to, and only they are told. The one planned, who was
never told, hears nothing, neither the notice nor a "change of plan". A moderator's choice that lapsed is reported
to the moderators, as at the start."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.clock import ManualClock
from bot.storage import Database
from bot.storage.models import Member
from bot.storage.schedule_models import FacilitatorSource
from tests.e2e.circle_setup import PEOPLE, PROMPT, START, evening_circle, next_session
from tests.harness import Console

# Fridays at 19:00 in Berlin: the first session is four days away, so its notice comes on Wednesday.
FRIDAY = '"Evening circle" weekly fri 19:00 Europe/Berlin 90m'
FRI = "Fri 2026-03-20 19:00 (Europe/Berlin)"
TO_NOTICE = {"days": 2, "hours": 6, "minutes": 1}  # from START to Wednesday 18:01 UTC, just after the notice
NOTICE = (
    '[direct message to {who}] You are facilitating "Evening circle" on {when}. Your backup is {backup}. When '
    "it's time, open it with !session open Evening circle. If you can't make it, ask someone to swap: "
    "!rotation swap Evening circle"
)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def circle(database: Database, clock: ManualClock) -> Console:
    """amal, ben and chen volunteer and are trained; the first session (Friday) is amal's, with ben as backup. Nobody
    has been told yet. The rate limit is not what is tested."""
    console = await evening_circle(
        database, clock, volunteers=PEOPLE, trained=PEOPLE, rule=FRIDAY, relax_rate_limit=True
    )
    assert f"• {FRI}: amal (backup: ben)" in await console.say("!rotation show Evening circle")
    out = await console.later(minutes=1)
    assert "You are facilitating" not in out
    return console


def _nothing_about_leading(out: str, who: str) -> bool:
    """Whether ``who`` was told nothing about leading the session (reminders, as a member, may still come)."""
    told = ("Change of plan", "You are facilitating", "It's time", "A moderator asked you")
    return not any(f"[direct message to {who}] {start}" in out for start in told)


async def _names(console: Console) -> tuple[str | None, str | None, str | None]:
    """Who leads the next session, who backs them up and who was told it is theirs."""
    row = await next_session(console)
    async with console.database.transaction() as session:

        async def name(member_id: int | None) -> str | None:
            member = await session.get(Member, member_id) if member_id is not None else None
            return member.native_id if member is not None else None

        return await name(row.facilitator_id), await name(row.backup_id), await name(row.facilitator_notified_id)


async def _up_to_the_start(console: Console, lead: str, planned: str) -> None:
    """The start prompts ``lead``; ``planned`` never heard a word about leading it, from beginning to end."""
    out = await console.later(days=2)
    assert PROMPT.format(who=lead) in out
    assert _nothing_about_leading(console.output.getvalue(), planned)


async def test_the_planned_facilitator_is_told_as_before(circle: Console) -> None:
    out = await circle.later(**TO_NOTICE)
    assert out.count(NOTICE.format(who="amal", when=FRI, backup="ben")) == 1
    assert _nothing_about_leading(out, "ben")
    assert "[moderators' channel]" not in out
    assert await _names(circle) == ("amal", "ben", "amal")
    out = await circle.later(days=2)
    assert PROMPT.format(who="amal") in out
    assert "Change of plan" not in circle.output.getvalue()


async def test_someone_who_stepped_down_is_not_told_and_the_backup_is(circle: Console) -> None:
    await circle.as_("amal")
    await circle.say("!facilitate step-down Evening circle")
    out = await circle.later(**TO_NOTICE)
    # ben, amal's backup, has the session now, backed up by the next fairest (chen), and is told.
    assert out.count(NOTICE.format(who="ben", when=FRI, backup="chen")) == 1
    assert _nothing_about_leading(out, "amal")
    assert "[moderators' channel]" not in out  # the rotation's own pick: nothing for the moderators
    assert await _names(circle) == ("ben", "chen", "ben")
    row = await next_session(circle)
    assert (row.facilitator_source, row.facilitator_set_by) == (FacilitatorSource.ROTATION, None)
    await _up_to_the_start(circle, "ben", "amal")


async def test_someone_away_over_the_session_is_not_told(circle: Console) -> None:
    await circle.as_("amal")
    await circle.say('!facilitate away "Evening circle" 2026-03-20 2026-03-20')
    out = await circle.later(**TO_NOTICE)
    assert out.count(NOTICE.format(who="ben", when=FRI, backup="chen")) == 1
    assert _nothing_about_leading(out, "amal")
    assert await _names(circle) == ("ben", "chen", "ben")
    await _up_to_the_start(circle, "ben", "amal")


async def test_when_the_backup_cannot_either_the_rotation_picks_and_is_told(circle: Console) -> None:
    await circle.as_("amal")
    await circle.say("!circle leave Evening circle")
    await circle.as_("ben")
    await circle.say('!facilitate away "Evening circle" 2026-03-20 2026-03-20')
    out = await circle.later(**TO_NOTICE)
    assert out.count(NOTICE.format(who="chen", when=FRI, backup="nobody yet")) == 1
    assert _nothing_about_leading(out, "amal")
    assert _nothing_about_leading(out, "ben")
    assert await _names(circle) == ("chen", None, "chen")
    await _up_to_the_start(circle, "chen", "ben")


async def test_nobody_able_to_lead_means_no_notice_and_the_start_says_so(circle: Console) -> None:
    for name in PEOPLE:
        await circle.as_(name)
        await circle.say("!facilitate step-down Evening circle")
    out = await circle.later(**TO_NOTICE)
    assert "You are facilitating" not in out
    row = await next_session(circle)
    assert (row.facilitator_id, row.facilitator_notified_id) == (None, None)
    out = await circle.later(days=2)
    assert '[moderators\' channel] No facilitator is available for "Evening circle"' in out
    assert "Change of plan" not in circle.output.getvalue()


async def test_a_moderators_choice_away_at_the_notice_lapses_then_and_the_moderators_hear_why(
    circle: Console,
) -> None:
    await circle.as_("mod", "moderator")
    out = await circle.say('!rotation set "Evening circle" chen')
    assert "[direct message to chen] A moderator asked you to facilitate the next session" in out
    assert await _names(circle) == ("chen", "amal", "chen")  # the rotation's own pick backs chen up
    await circle.as_("chen")
    await circle.say('!facilitate away "Evening circle" 2026-03-20 2026-03-20')
    circle.clock.advance(timedelta(hours=1))
    out = await circle.later(**TO_NOTICE)
    assert (
        f'[moderators\' channel] The facilitator a moderator chose for "Evening circle" on {FRI} cannot lead it: '
        "chen is away then. It went back to the rotation: amal has been asked to facilitate."
    ) in out
    assert out.count(NOTICE.format(who="amal", when=FRI, backup="ben")) == 1
    # chen had been told by the moderator's word, so chen hears, once, that it is no longer theirs.
    assert out.count("[direct message to chen] Change of plan") == 1
    assert await _names(circle) == ("amal", "ben", "amal")
    row = await next_session(circle)
    assert (row.facilitator_source, row.facilitator_set_by) == (FacilitatorSource.ROTATION, None)
    # The start keeps amal, with the plain prompt, and tells the moderators nothing more.
    out = await circle.later(days=2)
    assert PROMPT.format(who="amal") in out
    assert "[moderators' channel] The facilitator a moderator chose" not in out
    assert circle.output.getvalue().count("[direct message to chen] Change of plan") == 1
