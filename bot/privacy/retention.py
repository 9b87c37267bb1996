"""Retention: purge what has been kept longer than the configured periods, at most once an hour.

* escalation excerpts (the only message text kept): set to ``NULL`` once the escalation was last updated more than
  ``escalated_text_retention`` ago; the escalation itself stays for accountability;
* audit entries older than ``audit_retention``: deleted;
* check-ins older than ``checkin_note_retention``: deleted whole (mood and note), reusing
  :func:`bot.circles.checkins.purge_before`. A mood without its note is still a dated record of how someone felt,
  and the member's own trend and the anonymous summaries only look back a few weeks, well inside the retention;
* records of sessions that ended (closed, cancelled, missed, unstaffed) more than ``session_record_retention`` ago:
  their attendance, feedback and swap requests are deleted; the session row stays as the rotation ledger;
* delivered outbox rows older than a day (their text was already cleared on delivery).

Only counts are logged, never content.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config.schema import PrivacySettings
from bot.storage import Database
from bot.storage.models import AuditEntry, Escalation, OutboxItem, OutboxStatus
from bot.storage.schedule_models import Attendance, CircleSession, Feedback, SessionStatus, SwapRequest

__all__ = ["DELIVERED_OUTBOX_RETENTION", "ENDED", "PURGE_EVERY", "RetentionJob", "purge_expired"]

log = logging.getLogger(__name__)

PURGE_EVERY = timedelta(hours=1)
DELIVERED_OUTBOX_RETENTION = timedelta(days=1)
ENDED = (SessionStatus.CLOSED, SessionStatus.CANCELLED, SessionStatus.MISSED, SessionStatus.UNSTAFFED)
"""Session states that are over: their records age out."""


def _count(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


async def purge_expired(session: AsyncSession, now: datetime, privacy: PrivacySettings) -> dict[str, int]:
    """Delete or anonymise everything past its retention, in the caller's transaction; returns counts per kind."""
    # Imported here: bot.circles.checkins imports the engine, which runs this module's job.
    from bot.circles.checkins import purge_before

    counts: dict[str, int] = {}
    cutoff = now - privacy.escalated_text_retention
    counts["escalation_excerpts"] = _count(
        await session.execute(
            update(Escalation)
            .where(Escalation.excerpt.is_not(None), Escalation.updated_at < cutoff)
            .values(excerpt=None)
            .execution_options(synchronize_session=False)
        )
    )
    counts["audit_entries"] = _count(
        await session.execute(delete(AuditEntry).where(AuditEntry.created_at < now - privacy.audit_retention))
    )
    counts["checkins"] = await purge_before(session, now - privacy.checkin_note_retention)
    ended = select(CircleSession.id).where(
        CircleSession.status.in_(ENDED),
        CircleSession.end_at < now - privacy.session_record_retention,
    )
    for name, table, column in (
        ("attendance", Attendance, Attendance.session_id),
        ("feedback", Feedback, Feedback.session_id),
        ("swap_requests", SwapRequest, SwapRequest.session_id),
    ):
        statement = delete(table).where(column.in_(ended)).execution_options(synchronize_session=False)
        counts[name] = _count(await session.execute(statement))
    counts["outbox_delivered"] = _count(
        await session.execute(
            delete(OutboxItem)
            .where(
                OutboxItem.status == OutboxStatus.DELIVERED,
                OutboxItem.delivered_at < now - DELIVERED_OUTBOX_RETENTION,
            )
            .execution_options(synchronize_session=False)
        )
    )
    return counts


class RetentionJob:
    """The hourly purge for one database: settings, and when it last ran (in memory; a restart runs it again)."""

    def __init__(self, privacy: PrivacySettings | None = None, every: timedelta = PURGE_EVERY) -> None:
        self.privacy = privacy or PrivacySettings()
        self.every = every
        self.last_run: datetime | None = None

    def due(self, now: datetime) -> bool:
        """Whether an hour (``every``) has passed since the last run."""
        return self.last_run is None or now - self.last_run >= self.every

    async def run_if_due(self, database: Database, now: datetime) -> dict[str, int] | None:
        """Purge when due; returns the counts, or ``None`` when not due or when it failed (it is logged and the
        caller's loop carries on: the next attempt is an hour later)."""
        if not self.due(now):
            return None
        self.last_run = now
        try:
            async with database.transaction() as session:
                counts = await purge_expired(session, now, self.privacy)
        except Exception:
            log.exception("retention purge failed")
            return None
        if any(counts.values()):
            log.info("retention purge: %s", ", ".join(f"{kind}={count}" for kind, count in counts.items()))
        return counts
