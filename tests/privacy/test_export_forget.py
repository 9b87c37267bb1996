"""Export holds exactly one member's data; forgetting removes them from every table (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import ManualClock
from bot.privacy.export import EXPORT_FORMAT, build_export, to_json
from bot.privacy.forget import forget_member
from bot.storage import Database
from bot.storage.matrix_models import PlatformState
from bot.storage.models import AuditEntry, Base, Escalation, Member
from bot.storage.schedule_models import CircleSession
from tests.privacy.seed import Seeded, seed_member
from tests.storage.factories import add_community, add_member


async def _two(database: Database, clock: ManualClock) -> tuple[Seeded, Seeded, Member]:
    async with database.transaction() as session:
        community = await add_community(session, clock)
        moderator = await add_member(session, clock, "mona")  # a name no export key or value contains
        alpha = await seed_member(session, clock, community, "alpha", moderator=moderator, timezone="Africa/Cairo")
        bravo = await seed_member(
            session,
            clock,
            community,
            "bravo",
            moderator=moderator,
            other=alpha.member,
            timezone="Europe/Berlin",
            circle_name="Tuesday circle",
        )
        return alpha, bravo, moderator


def _member_columns() -> list[tuple[Any, Any]]:
    """Every (table, column) with a foreign key to members.id, found from the metadata."""
    return [
        (table, column)
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if any(fk.column.table.name == "members" for fk in column.foreign_keys)
    ]


async def _linked(session: AsyncSession, member_id: int) -> dict[str, int]:
    found: dict[str, int] = {}
    for table, column in _member_columns():
        count = await session.scalar(select(func.count()).select_from(table).where(column == member_id))
        if count:
            found[f"{table.name}.{column.name}"] = int(count)
    return found


async def _text_anywhere(session: AsyncSession, needle: str) -> list[str]:
    """Every table and column whose stored value mentions ``needle`` (text and JSON alike)."""
    hits: list[str] = []
    for table in Base.metadata.sorted_tables:
        for row in (await session.execute(select(table))).mappings():
            for name, value in row.items():
                if needle in json.dumps(value, default=str):
                    hits.append(f"{table.name}.{name}")
    return hits


async def test_export_holds_exactly_the_members_own_data(database: Database, clock: ManualClock) -> None:
    alpha, _bravo, _moderator = await _two(database, clock)
    async with database.transaction() as session:
        data = await build_export(session, alpha.member, clock.now())
    text = to_json(data)
    assert "bravo" not in text.lower()
    assert "Berlin" not in text
    assert "mona" not in text
    assert data["format"] == EXPORT_FORMAT
    assert data["exported_at"] == clock.now().isoformat()
    assert data["member"] == {
        "platform": "console",
        "native_id": "alpha",
        "locale": "en",
        "timezone": "Africa/Cairo",
        "reminders": True,
        "created_at": clock.now().isoformat(),
    }
    assert [(row["circle"], row["status"], row["waitlist_position"]) for row in data["memberships"]] == [
        ("Monday circle", "active", None)
    ]
    assert [(row["mood"], row["note"]) for row in data["checkins"]] == [(2, "alpha-note")]
    assert data["checkin_preferences"][0]["share_name"] is True
    assert [row["circle"] for row in data["facilitator_roles"]] == ["Monday circle"]
    assert len(data["away_periods"]) == 1
    # alpha led their own session and backs up bravo's: both are alpha's record, without bravo's identity.
    assert sorted(row["as"] for row in data["sessions_led"]) == ["backup", "facilitator"]
    # How alpha came to lead their session is theirs to see; which moderator named them is not.
    assert {row["as"]: row["assigned_by"] for row in data["sessions_led"]} == {
        "facilitator": "moderator",
        "backup": None,
    }
    assert [row["attended"] for row in data["attendance"]] == [True]
    assert [row["direction"] for row in data["swap_requests"]] == ["asked_of_you"]
    [request] = data["support_requests"]
    assert request["note"] == "alpha-support-note"
    assert request["tier"] == "concern"
    assert request["status"] == "resolved"
    assert "claimed_by" not in request
    assert "room_id" not in request
    assert data["safety_replies"][0]["last_tier"] == 1
    assert [row["action"] for row in data["audit_actions"]] == ["circle.create"]
    assert data["circles_created"][0]["circle"] == "Monday circle"
    assert data["direct_rooms"] == [{"direct_room": "!dm-room-alpha"}]
    json.loads(to_json(data, compact=True))  # valid JSON either way


async def test_forget_leaves_nothing_linked_and_keeps_escalations_anonymised(
    database: Database, clock: ManualClock
) -> None:
    alpha, bravo, moderator = await _two(database, clock)
    async with database.transaction() as session:
        bravo_before = await _linked(session, bravo.member.id)
        member = await session.get(Member, alpha.member.id)
        assert member is not None
        result = await forget_member(session, member)
    assert [circle.name for circle in result.freed_seats] == ["Monday circle"]
    assert result.counts["members"] == 1
    assert result.total > 10
    async with database.transaction() as session:
        assert await _linked(session, alpha.member.id) == {}
        assert await _text_anywhere(session, "alpha") == [], "alpha's name, words or rooms are still stored"
        assert await session.get(Member, alpha.member.id) is None
        # bravo keeps everything except the swap request alpha was asked (it was alpha's too).
        bravo_after = await _linked(session, bravo.member.id)
        assert bravo_before.pop("swap_requests.from_member") == 1
        assert bravo_after == bravo_before
        kept = await session.get(Escalation, alpha.escalation.id)
        assert kept is not None
        assert (kept.member_id, kept.excerpt, kept.matched, kept.room_id, kept.link) == (None, None, [], None, None)
        assert (kept.tier, kept.source, kept.status) == ("concern", "support", "resolved")
        assert (kept.claimed_by, kept.resolved_by) == (moderator.id, moderator.id)
        assert kept.claimed_at is not None
        assert kept.resolved_at is not None
        actions = (await session.execute(select(AuditEntry.action, AuditEntry.actor_id, AuditEntry.details))).all()
        assert ("circle.create", None, {}) in [(a, b, c or {}) for a, b, c in actions]
        assert ("facilitate.train", moderator.id, {"member": None}) in actions
        assert ("facilitate.train", moderator.id, {"member": bravo.member.id}) in actions
        states = set((await session.execute(select(PlatformState.key))).scalars())
        assert states == {"console:@bot:dm:bravo"}


async def test_forgetting_a_moderator_keeps_the_alerts_they_handled(database: Database, clock: ManualClock) -> None:
    alpha, bravo, moderator = await _two(database, clock)
    async with database.transaction() as session:
        member = await session.get(Member, moderator.id)
        assert member is not None
        result = await forget_member(session, member)
    # The moderator named alpha and bravo to lead their sessions: each choice stays, without who made it.
    assert result.counts["sessions"] == 2
    async with database.transaction() as session:
        named = (
            await session.execute(
                select(CircleSession.facilitator_id, CircleSession.facilitator_source, CircleSession.facilitator_set_by)
            )
        ).all()
        assert sorted(named) == sorted([(alpha.member.id, "moderator", None), (bravo.member.id, "moderator", None)])
        kept = await session.get(Escalation, alpha.escalation.id)
        assert kept is not None
        assert (kept.member_id, kept.claimed_by, kept.resolved_by) == (alpha.member.id, None, None)
        assert kept.excerpt == "alpha-support-note"
        assert await _linked(session, moderator.id) == {}
