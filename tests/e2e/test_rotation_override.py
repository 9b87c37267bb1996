"""Transcripts of a moderator's ``rotation set``: the person named leads at the start even from outside the rotation,
and when they can no longer lead, the rotation takes over and the moderators are told why."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.storage import Database
from bot.storage.models import AuditEntry, Member
from bot.storage.schedule_models import CircleSession, FacilitatorSource
from tests.e2e.circle_setup import (
    FIRST,
    PEOPLE,
    RULE,
    START,
    TO_START,
    evening_circle,
    next_session,
    volunteer_and_train,
)
from tests.harness import Console

FIRST_UTC = datetime(2026, 3, 17, 18, 0, tzinfo=UTC)  # FIRST: Berlin is UTC+1 until 29 March
PROMPT = 'It\'s time: "Evening circle" starts now. Open the session with !session open Evening circle.'


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def circle(database: Database, clock: ManualClock) -> Console:
    """amal and ben volunteer and are trained; chen is trained but not in the rotation; dana is a plain member.
    The schedule is set, so the first session (amal's, ben as backup) is planned."""
    console = await evening_circle(database, clock, members=(*PEOPLE, "dana"))
    for out in (await volunteer_and_train(console, ("amal", "ben"), PEOPLE)).values():
        assert "now a trained facilitator" in out
    await console.say(f"!circle schedule-set {RULE}")
    assert f"• {FIRST}: amal (backup: ben)" in await console.say("!rotation show Evening circle")
    out = await console.later(minutes=1)  # a moment passes (the rate limit refills): amal hears the session is hers
    assert f'[direct message to amal] You are facilitating "Evening circle" on {FIRST}' in out
    return console


async def _first(console: Console) -> CircleSession:
    """The first session (Tuesday 17 March), whatever its id: a re-plan gives it a new row."""
    async with console.database.transaction() as session:
        row = await session.scalar(select(CircleSession).where(CircleSession.original_start == FIRST_UTC))
        assert row is not None
        return row


async def _member_id(console: Console, name: str) -> int:
    async with console.database.transaction() as session:
        found = await session.scalar(select(Member.id).where(Member.native_id == name))
        assert found is not None
        return found


async def test_a_moderator_sets_someone_outside_the_rotation_and_they_lead(circle: Console) -> None:
    out = await circle.say('!rotation set "Evening circle" chen')
    assert "chen will facilitate the next session" in out
    assert "[direct message to chen] A moderator asked you to facilitate" in out
    row = await next_session(circle)
    assert row.facilitator_id == await _member_id(circle, "chen")
    assert row.facilitator_source == FacilitatorSource.MODERATOR
    assert row.facilitator_set_by == await _member_id(circle, "mod")
    assert f"• {FIRST}: chen (backup: amal)" in await circle.say("!rotation show Evening circle")
    # The start: chen, not the rotation's amal, is prompted.
    out = await circle.later(**TO_START)
    assert f"[direct message to chen] {PROMPT}" in out
    assert "[direct message to amal] It's time" not in out
    assert "[direct message to ben] It's time" not in out
    assert "moderators' channel" not in out
    await circle.as_("chen")
    out = await circle.say("!session open Evening circle")
    assert 'The session of "Evening circle" is open in session-1.' in out
    assert 'Closed "Evening circle"' in await circle.say("!session close Evening circle")
    row = await _first(circle)
    assert (row.status, row.facilitator_id) == ("closed", await _member_id(circle, "chen"))
    assert row.facilitator_source == FacilitatorSource.MODERATOR
    # chen led it, so the ledger charges chen, not amal: chen's own record says so, and the rotation goes on with
    # amal, who has led nothing, then ben.
    led = json.loads((out := await circle.say("!me export"))[out.index("{") : out.rindex("}") + 1])["sessions_led"]
    assert [(r["as"], r["assigned_by"], r["status"]) for r in led] == [("facilitator", "moderator", "closed")]
    assert (await next_session(circle)).facilitator_source == FacilitatorSource.ROTATION
    out = await circle.say("!rotation show Evening circle")
    assert "• Tue 2026-03-24 19:00 (Europe/Berlin): amal (backup: ben)" in out
    assert "• Tue 2026-03-31 19:00 (Europe/Berlin): ben (backup: amal)" in out


async def test_a_choice_who_left_the_circle_falls_back_to_the_rotation_and_the_moderators_hear_why(
    circle: Console,
) -> None:
    await circle.say('!rotation set "Evening circle" chen')
    await circle.as_("chen")
    assert 'You have left "Evening circle"' in await circle.say("!circle leave Evening circle")
    out = await circle.later(**TO_START)
    assert "[direct message to chen] It's time" not in out
    # amal, the rotation's own pick (and so the backup of chen's session), is asked, and told why it is her.
    assert (
        '[direct message to amal] It\'s time: "Evening circle" starts now. The facilitator a moderator chose for it '
        "can't lead it, so it falls to you from the rotation. Open the session with !session open Evening circle."
    ) in out
    assert (
        f'[moderators\' channel] The facilitator a moderator chose for "Evening circle" on {FIRST} cannot lead it: '
        "chen has left the circle. It went back to the rotation: amal has been asked to facilitate."
    ) in out
    row = await _first(circle)
    assert row.facilitator_id == await _member_id(circle, "amal")
    assert (row.facilitator_source, row.facilitator_set_by) == (FacilitatorSource.ROTATION, None)
    async with circle.database.transaction() as session:
        entry = (await session.execute(select(AuditEntry).where(AuditEntry.action == "rotation.lapsed"))).scalar_one()
    assert entry.target == f"session:{row.id}"
    assert entry.actor_id is None
    assert entry.details == {
        "member": await _member_id(circle, "chen"),
        "to": await _member_id(circle, "amal"),
        "reason": "left",
    }
    # amal leads it, so the ledger charges amal: ben leads the next one.
    await circle.as_("amal")
    await circle.say("!session open Evening circle")
    assert "• Tue 2026-03-24 19:00 (Europe/Berlin): ben (backup: amal)" in await circle.say(
        "!rotation show Evening circle"
    )


async def test_a_choice_who_deleted_their_data_falls_back_and_nobody_left_means_unstaffed(circle: Console) -> None:
    # Only chen could lead it: amal and ben step down after the moderator named chen.
    await circle.say('!rotation set "Evening circle" chen')
    for name in ("amal", "ben"):
        await circle.as_(name)
        await circle.say("!facilitate step-down Evening circle")
    chen = await _member_id(circle, "chen")
    await circle.as_("chen")
    await circle.say("!me forget")
    assert "deleted" in (await circle.say("!me forget confirm")).lower()
    row = await _first(circle)
    assert row.facilitator_id is None  # nothing of chen's is left on the session...
    assert row.facilitator_source == FacilitatorSource.MODERATOR  # ...but that a moderator chose someone is
    out = await circle.later(**TO_START)
    assert (
        f'[moderators\' channel] The facilitator a moderator chose for "Evening circle" on {FIRST} cannot lead it: '
        "they deleted their data. Nobody in the rotation is available either."
    ) in out
    assert '[moderators\' channel] No facilitator is available for "Evening circle"' in out
    assert '[direct message to amal] "Evening circle" cannot meet as planned' in out
    async with circle.database.transaction() as session:
        entry = (await session.execute(select(AuditEntry).where(AuditEntry.action == "rotation.lapsed"))).scalar_one()
        assert entry.details == {"member": None, "to": None, "reason": "forgotten"}
        assert chen not in (await session.execute(select(CircleSession.facilitator_id))).scalars().all()


async def test_the_choice_outlives_the_moderators_own_data(circle: Console) -> None:
    await circle.say('!rotation set "Evening circle" chen')
    await circle.say("!me forget")
    await circle.say("!me forget confirm")
    row = await _first(circle)
    assert (row.facilitator_source, row.facilitator_set_by) == (FacilitatorSource.MODERATOR, None)
    out = await circle.later(**TO_START)
    assert f"[direct message to chen] {PROMPT}" in out
    assert "moderators' channel" not in out


async def test_a_later_swap_or_a_new_choice_replaces_the_moderators_and_both_hold(circle: Console) -> None:
    # amal, the rotation's pick, asks ben to swap; the moderator names chen before ben accepts: the request expires.
    await circle.as_("amal")
    assert "I've asked ben" in await circle.say('!rotation swap "Evening circle" ben')
    await circle.as_("mod", "moderator")
    await circle.say('!rotation set "Evening circle" chen')
    await circle.as_("ben")
    assert "no swap request 1 waiting for you" in await circle.say("!rotation accept 1")
    # chen hands the session to amal, who accepts: now it is a swap, not the moderator's choice.
    await circle.as_("chen")
    assert "I've asked amal" in await circle.say('!rotation swap "Evening circle" amal')
    await circle.as_("amal")
    assert "is yours" in await circle.say("!rotation accept 2")
    row = await _first(circle)
    assert row.facilitator_id == await _member_id(circle, "amal")
    assert (row.facilitator_source, row.facilitator_set_by) == (FacilitatorSource.SWAP, None)
    # The moderator sets it back to a rotation member, ben, who then steps out of the rotation: the choice still holds.
    await circle.as_("mod", "moderator")
    await circle.say('!rotation set "Evening circle" ben')
    row = await _first(circle)
    assert (row.facilitator_source, row.facilitator_set_by) == (
        FacilitatorSource.MODERATOR,
        await _member_id(circle, "mod"),
    )
    assert row.backup_id == await _member_id(circle, "amal")
    await circle.as_("ben")
    await circle.say("!facilitate step-down Evening circle")
    out = await circle.later(**TO_START)
    assert f"[direct message to ben] {PROMPT}" in out
    assert "moderators' channel" not in out


async def test_the_choice_stays_with_its_session_when_replanned_and_lapses_if_the_new_time_is_away(
    circle: Console,
) -> None:
    await circle.say('!rotation set "Evening circle" chen')
    # Setting the same schedule again (now with a quorum) and cancelling a later session both re-plan this one.
    await circle.say(f"!circle schedule-set {RULE}")
    out = await circle.say("!session cancel Evening circle 2026-03-24")
    assert "Cancelled" in out
    assert f"• {FIRST}: chen (backup: amal)" in await circle.say("!rotation show Evening circle")
    # chen will be away on Wednesday; the session moves there and is still chen's, until its start.
    await circle.as_("chen")
    await circle.say('!facilitate away "Evening circle" 2026-03-18 2026-03-18')
    await circle.as_("mod", "moderator")
    out = await circle.say("!session move Evening circle 2026-03-17 2026-03-18 19:00")
    assert "Wed 2026-03-18 19:00" in out, out
    row = await next_session(circle)
    assert row.facilitator_id == await _member_id(circle, "chen")
    assert row.facilitator_source == FacilitatorSource.MODERATOR
    out = await circle.later(days=2, hours=6)  # Wednesday 18:00 UTC
    assert (
        '[moderators\' channel] The facilitator a moderator chose for "Evening circle" on Wed 2026-03-18 19:00 '
        "(Europe/Berlin) cannot lead it: chen is away then. It went back to the rotation: amal has been asked"
    ) in out
    assert "[direct message to amal] It's time" in out


async def test_a_moderator_cannot_name_someone_who_could_not_lead(circle: Console) -> None:
    out = await circle.say('!rotation set "Evening circle" dana')
    assert "dana is not a trained facilitator" in out
    await circle.as_("chen")
    await circle.say('!facilitate away "Evening circle" 2026-03-17 2026-03-17')
    await circle.as_("mod", "moderator")
    out = await circle.say('!rotation set "Evening circle" chen')
    assert f'chen is away when the next session of "Evening circle" meets ({FIRST}).' in out
    await circle.as_("ben")
    await circle.say("!circle leave Evening circle")
    await circle.as_("mod", "moderator")
    out = await circle.say('!rotation set "Evening circle" ben')
    assert 'ben is not a member of "Evening circle": only its members can facilitate it.' in out
    assert (await next_session(circle)).facilitator_source == FacilitatorSource.ROTATION


async def test_a_postponed_session_keeps_the_choice_and_the_next_one_is_the_rotations(circle: Console) -> None:
    await circle.say('!rotation set "Evening circle" chen')
    await circle.say(f"!circle schedule-set {RULE} quorum=2")  # the same occurrence: chen's still
    assert (await _first(circle)).facilitator_source == FacilitatorSource.MODERATOR
    out = await circle.later(**TO_START)
    assert "was postponed" in out
    assert "It's time" not in out
    row = await _first(circle)
    assert (row.status, row.facilitator_source) == ("postponed", FacilitatorSource.MODERATOR)
    # A postponed session counts for nobody, and the choice was for that session only: amal leads the next.
    nxt = await next_session(circle)
    assert nxt.facilitator_id == await _member_id(circle, "amal")
    assert nxt.facilitator_source == FacilitatorSource.ROTATION


async def test_another_facilitator_opening_in_the_named_ones_place_is_recorded_as_a_stand_in(circle: Console) -> None:
    await circle.say('!rotation set "Evening circle" chen')
    await circle.later(**TO_START)
    await circle.as_("ben")
    assert "is open in" in await circle.say("!session open Evening circle")
    row = await _first(circle)
    # The ledger charges ben, who led it, and no longer says a moderator chose him.
    assert row.facilitator_id == await _member_id(circle, "ben")
    assert (row.facilitator_source, row.facilitator_set_by) == (FacilitatorSource.STAND_IN, None)
