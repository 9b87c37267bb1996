"""Retention: with the injected clock, data just inside each period is kept and data just outside is purged."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.config.schema import PrivacySettings
from bot.privacy.retention import PURGE_EVERY, RetentionJob, purge_expired
from bot.storage import Database
from bot.storage.checkin_models import CheckIn
from bot.storage.models import AuditEntry, Escalation, OutboxItem, OutboxStatus
from bot.storage.schedule_models import Attendance, CircleSession, Feedback, SessionStatus, SwapRequest
from tests.harness import Console
from tests.storage.factories import add_circle, add_community, add_member

SECOND = timedelta(seconds=1)
PRIVACY = PrivacySettings(
    escalated_text_retention=timedelta(days=30),
    audit_retention=timedelta(days=180),
    checkin_note_retention=timedelta(days=90),
    session_record_retention=timedelta(days=180),
)


async def _seed(database: Database, clock: ManualClock) -> None:
    now = clock.now()
    async with database.transaction() as session:
        community = await add_community(session, clock)
        member = await add_member(session, clock, "amal")
        other = await add_member(session, clock, "badr")
        circle = await add_circle(session, clock, community, "Evening")
        for label, age in (("kept", -SECOND), ("gone", SECOND)):
            at = now - PRIVACY.escalated_text_retention - age
            session.add(
                Escalation(
                    community_id=community.id,
                    member_id=member.id,
                    source="message",
                    tier="concern",
                    excerpt=f"{label} words",
                    last_alert_at=at,
                    created_at=at,
                    updated_at=at,
                )
            )
            session.add(
                AuditEntry(
                    community_id=community.id,
                    actor_id=member.id,
                    action=f"test.{label}",
                    created_at=now - PRIVACY.audit_retention - age,
                )
            )
            session.add(
                CheckIn(
                    member_id=member.id,
                    community_id=community.id,
                    mood=3,
                    note=f"{label} note",
                    created_at=now - PRIVACY.checkin_note_retention - age,
                )
            )
            end = now - PRIVACY.session_record_retention - age
            for status in (SessionStatus.CLOSED, SessionStatus.SCHEDULED):
                row = CircleSession(
                    circle_id=circle.id,
                    key=f"session:{label}:{status}",
                    original_start=end - timedelta(hours=1),
                    start_at=end - timedelta(hours=1),
                    end_at=end,
                    status=status,
                    created_at=end,
                )
                session.add(row)
                await session.flush()
                session.add(Attendance(session_id=row.id, member_id=member.id, attended=True))
                session.add(Feedback(session_id=row.id, rating=4, created_at=end))
                session.add(SwapRequest(session_id=row.id, from_member=member.id, to_member=other.id, created_at=end))
            for status in (OutboxStatus.DELIVERED, OutboxStatus.PENDING):
                delivered = now - timedelta(days=1) - age
                session.add(
                    OutboxItem(
                        key=f"{label}:{status}",
                        community_id=community.id,
                        platform="console",
                        kind="dm",
                        target="amal",
                        text="",
                        status=status,
                        due_at=delivered,
                        created_at=delivered,
                        delivered_at=delivered if status == OutboxStatus.DELIVERED else None,
                    )
                )


async def test_purge_keeps_what_is_inside_retention_and_purges_what_is_outside(
    database: Database, clock: ManualClock
) -> None:
    await _seed(database, clock)
    async with database.transaction() as session:
        counts = await purge_expired(session, clock.now(), PRIVACY)
    assert counts == {
        "escalation_excerpts": 1,
        "audit_entries": 1,
        "checkins": 1,
        "attendance": 1,
        "feedback": 1,
        "swap_requests": 1,
        "outbox_delivered": 1,
    }
    async with database.transaction() as session:
        excerpts = set((await session.execute(select(Escalation.excerpt))).scalars())
        assert excerpts == {"kept words", None}
        assert await session.scalar(select(func.count()).select_from(Escalation)) == 2  # rows stay
        assert set((await session.execute(select(AuditEntry.action))).scalars()) == {"test.kept"}
        assert set((await session.execute(select(CheckIn.note))).scalars()) == {"kept note"}
        # Only the ended session past retention lost its records; scheduled ones and the session rows remain.
        assert await session.scalar(select(func.count()).select_from(CircleSession)) == 4
        for table in (Attendance, Feedback, SwapRequest):
            assert await session.scalar(select(func.count()).select_from(table)) == 3, table
        keys = set((await session.execute(select(OutboxItem.key))).scalars())
        assert keys == {"kept:delivered", "kept:pending", "gone:pending"}
    async with database.transaction() as session:
        again = await purge_expired(session, clock.now(), PRIVACY)
    assert set(again.values()) == {0}


async def test_the_job_runs_at_most_hourly_and_logs_only_counts(
    database: Database, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    await _seed(database, clock)
    job = RetentionJob(PRIVACY)
    with caplog.at_level(logging.INFO, logger="bot.privacy.retention"):
        first = await job.run_if_due(database, clock.now())
    assert first is not None
    assert first["checkins"] == 1
    assert "checkins=1" in caplog.text
    assert "words" not in caplog.text
    assert "note" not in caplog.text
    clock.advance(PURGE_EVERY - SECOND)
    assert await job.run_if_due(database, clock.now()) is None
    clock.advance(SECOND)
    assert await job.run_if_due(database, clock.now()) is not None


async def test_a_failing_purge_is_logged_and_never_raises(clock: ManualClock, caplog: pytest.LogCaptureFixture) -> None:
    broken = Database("sqlite+aiosqlite:////nonexistent-dir-for-test/x.db")
    try:
        with caplog.at_level(logging.ERROR):
            assert await RetentionJob(PRIVACY).run_if_due(broken, clock.now()) is None
    finally:
        await broken.close()
    assert "retention purge failed" in caplog.text


async def test_engine_tick_purges_with_the_configured_periods(console: Console) -> None:
    console.engine.retention = RetentionJob(PrivacySettings(checkin_note_retention=timedelta(days=7)))
    await console.as_("amal")
    await console.say("!checkin 3 a quiet week")
    console.clock.advance(timedelta(days=7) + SECOND)
    await console.engine.tick()
    async with console.database.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(CheckIn)) == 0
    await console.say("!checkin 4")
    # Within the hour the job is skipped, however old the data: the engine may tick every 30 seconds.
    async with console.database.transaction() as session:
        member_id, community_id = (await session.execute(select(CheckIn.member_id, CheckIn.community_id))).one()
        old = console.clock.now() - timedelta(days=30)
        session.add(CheckIn(member_id=member_id, community_id=community_id, mood=2, created_at=old))
    console.clock.advance(PURGE_EVERY - SECOND)
    assert await console.engine.retention.run_if_due(console.database, console.clock.now()) is None
    async with console.database.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(CheckIn)) == 2
    console.clock.advance(SECOND)
    await console.engine.tick()
    async with console.database.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(CheckIn)) == 1
