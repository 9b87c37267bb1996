"""``me export`` and ``me forget`` through the console, in English and Arabic (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from bot.privacy.commands import MESSAGE_LIMIT
from bot.storage.checkin_models import CheckIn
from bot.storage.models import AuditEntry, Member, Membership, MembershipStatus
from tests.harness import Console

TEN_MINUTES = timedelta(minutes=10)


def _json(out: str) -> Any:
    return json.loads(out[out.index("{") : out.rindex("}") + 1])


async def _members(console: Console) -> set[str]:
    async with console.database.transaction() as session:
        return set((await session.execute(select(Member.native_id))).scalars())


async def _checkins(console: Console) -> int:
    async with console.database.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(CheckIn)) or 0)


async def test_export_is_private_and_holds_only_the_callers_data(console: Console) -> None:
    await console.as_("badr")
    await console.say("!checkin 2 badr's own words")
    await console.as_("amal")
    await console.say("!me timezone Africa/Cairo")
    await console.say("!checkin 4 slept well")
    out = await console.say("!me export")
    assert out.startswith("[private to amal] Here is everything I hold about you, seen only by you (")
    data = _json(out)
    assert data["member"]["native_id"] == "amal"
    assert data["member"]["timezone"] == "Africa/Cairo"
    assert [(row["mood"], row["note"]) for row in data["checkins"]] == [(4, "slept well")]
    assert "badr" not in out


async def test_a_long_export_says_how_long_and_comes_compact(console: Console) -> None:
    await console.as_("amal")
    for day in range(25):
        await console.say(f"!checkin 3 day {day} was a long day with a lot going on at work and at home")
        console.clock.advance(timedelta(hours=1))  # a person checks in over time, not in a burst
    out = await console.say("!me export")
    assert "too long to show readably in one message (checkins: 25" in out
    assert len(out) > MESSAGE_LIMIT
    assert "\n " not in out.split("\n", 1)[1]  # compact: no indentation
    assert len(_json(out)["checkins"]) == 25


async def test_forget_needs_confirmation_then_deletes_everything(console: Console) -> None:
    await console.as_("amal")
    await console.say("!checkin 4 my private words")
    out = await console.say("!me forget confirm")
    assert "There is no request to confirm" in out
    assert await _checkins(console) == 1
    out = await console.say("!me forget")
    assert out.startswith("[private to amal] This deletes everything I hold about you")
    assert "type !me forget confirm within 10 minutes" in out
    assert await _checkins(console) == 1
    console.clock.advance(TEN_MINUTES)  # just inside the window
    out = await console.say("!me forget confirm")
    assert out.startswith("[private to amal] Done. I have deleted everything I held about you (")
    assert await _checkins(console) == 0
    assert "amal" not in await _members(console)
    async with console.database.transaction() as session:
        entry = (await session.execute(select(AuditEntry).where(AuditEntry.action == "member.forget"))).scalar_one()
        assert entry.actor_id is None
        assert set(entry.details) == {"rows"}
    out = await console.say("!me forget confirm")  # used up: a second confirm asks again
    assert "There is no request to confirm" in out


async def test_a_confirmation_after_ten_minutes_has_expired(console: Console) -> None:
    await console.as_("amal")
    await console.say("!checkin 4")
    await console.say("!me forget")
    console.clock.advance(TEN_MINUTES + timedelta(seconds=1))
    out = await console.say("!me forget confirm")
    assert "Your request to be forgotten expired (it waits 10 minutes), so nothing was deleted." in out
    assert await _checkins(console) == 1
    assert "amal" in await _members(console)


async def test_another_persons_request_cannot_be_confirmed(console: Console) -> None:
    await console.as_("amal")
    await console.say("!me forget")
    await console.as_("badr")
    assert "There is no request to confirm" in await console.say("!me forget confirm")
    assert {"amal", "badr"} <= await _members(console)


async def test_forgetting_a_seat_in_a_full_circle_promotes_the_first_waiting(console: Console) -> None:
    await console.as_("mod", "moderator")
    await console.say("!circle create Evening capacity=2")
    for person in ("amal", "badr", "carim"):
        await console.as_(person)
        await console.say("!circle join Evening")
    await console.as_("amal")
    await console.say("!me forget")
    out = await console.say("!me forget confirm")
    assert 'a seat opened in "Evening" and it\'s yours' in out
    assert "carim" in out
    async with console.database.transaction() as session:
        rows = await session.execute(
            select(Member.native_id, Membership.status).join(Membership, Membership.member_id == Member.id)
        )
        assert sorted((name, status) for name, status in rows) == [
            ("badr", MembershipStatus.ACTIVE),
            ("carim", MembershipStatus.ACTIVE),
        ]


async def test_export_and_forget_answer_in_arabic(console: Console) -> None:
    await console.as_("amal")
    await console.say("!me language ar")
    await console.say("!checkin 3 ملاحظتي")
    out = await console.say("!me export")
    assert "هذا كل ما أحتفظ به عنك، ولا يراه أحد غيرك" in out
    assert _json(out)["checkins"][0]["note"] == "ملاحظتي"
    out = await console.say("!me forget")
    assert "سيحذف هذا كل ما أحتفظ به عنك" in out
    assert "!me forget confirm" in out
    out = await console.say("!me forget confirm")
    assert "تمّ. حذفت كل ما كنت أحتفظ به عنك" in out
    assert "amal" not in await _members(console)
