"""Planning: turn a circle's next occurrence into a session row and the timers that serve it.

Only the next occurrence of each circle is planned; firing its start plans the one after. So 100,000 circles keep
100,000 sessions ahead, not years of them, and a changed schedule replaces just one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.circles.facilitation import choose_for
from bot.circles.recurrence import Schedule, next_occurrence
from bot.storage.models import Circle, CircleStatus
from bot.storage.schedule_models import (
    CircleSchedule,
    CircleSession,
    FacilitatorSource,
    SessionStatus,
    Timer,
    TimerStatus,
)
from bot.storage.upsert import insert_ignore

__all__ = ["SchedulingPolicy", "next_planned", "plan_next", "replan", "session_key", "upcoming_session"]


@dataclass(frozen=True, slots=True)
class SchedulingPolicy:
    """The scheduling settings the engine needs (see ``scheduling`` in config.example.yaml)."""

    reminder_offsets: tuple[timedelta, ...] = (timedelta(hours=24), timedelta(minutes=15))
    facilitator_notice: timedelta = timedelta(hours=48)
    misfire_grace: timedelta = timedelta(minutes=10)
    session_grace: timedelta = timedelta(minutes=15)
    monthly_cap: int | None = None
    checkin_prompts: bool = True
    quiet_after: timedelta = timedelta(weeks=3)
    care_delay: timedelta = timedelta(days=1)


EXPLICIT = (FacilitatorSource.MODERATOR, FacilitatorSource.SWAP)
"""Facilitators given to a session by a person's decision rather than by the rotation."""


def session_key(circle_id: int, original_start: datetime) -> str:
    """The occurrence key, unique in the database: a restart or a second process plans it once."""
    return f"session:{circle_id}:{original_start.isoformat()}"


async def upcoming_session(session: AsyncSession, circle_id: int, now: datetime) -> CircleSession | None:
    """The circle's planned session that has not ended yet (scheduled or open), earliest first."""
    result = await session.execute(
        select(CircleSession)
        .where(
            CircleSession.circle_id == circle_id,
            CircleSession.status.in_((SessionStatus.SCHEDULED, SessionStatus.OPEN)),
            CircleSession.end_at > now,
        )
        .order_by(CircleSession.start_at)
        .limit(1)
    )
    return result.scalar_one_or_none()


async def next_planned(
    session: AsyncSession, circle_id: int, now: datetime, *, for_update: bool = False
) -> CircleSession | None:
    """The circle's next session that is planned and not yet started."""
    statement = (
        select(CircleSession)
        .where(
            CircleSession.circle_id == circle_id,
            CircleSession.status == SessionStatus.SCHEDULED,
            CircleSession.start_at > now,
        )
        .order_by(CircleSession.start_at)
        .limit(1)
    )
    if for_update:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def _timer(
    session: AsyncSession, key: str, kind: str, due: datetime, now: datetime, row: CircleSession, **data: object
) -> None:
    await insert_ignore(
        session,
        Timer,
        {
            "key": key,
            "kind": kind,
            "circle_id": row.circle_id,
            "session_id": row.id,
            "data": dict(data),
            "due_at": due,
            "status": TimerStatus.PENDING,
            "created_at": now,
        },
    )


async def plan_next(
    session: AsyncSession, circle_id: int, now: datetime, policy: SchedulingPolicy
) -> CircleSession | None:
    """Plan the circle's next session after ``now`` unless one is already planned; returns it (or ``None``)."""
    circle = await session.get(Circle, circle_id)
    schedule_row = await session.get(CircleSchedule, circle_id)
    if circle is None or schedule_row is None or circle.status != CircleStatus.ACTIVE:
        return None
    planned = await next_planned(session, circle_id, now)
    if planned is not None:
        return planned
    schedule = Schedule.from_dict(schedule_row.rule)
    last = await session.scalar(
        select(func.max(CircleSession.original_start)).where(CircleSession.circle_id == circle_id)
    )
    occurrence = next_occurrence(schedule, max(now, last) if last is not None else now)
    if occurrence is None:
        return None
    key = session_key(circle_id, occurrence.original_start)
    await insert_ignore(
        session,
        CircleSession,
        {
            "circle_id": circle_id,
            "key": key,
            "original_start": occurrence.original_start,
            "start_at": occurrence.start,
            "end_at": occurrence.end,
            "status": SessionStatus.SCHEDULED,
            "created_at": now,
        },
    )
    row = (await session.execute(select(CircleSession).where(CircleSession.key == key))).scalar_one()
    if row.facilitator_id is None:
        choice = await choose_for(session, circle_id, row.start_at, now, policy.monthly_cap)
        row.facilitator_id, row.backup_id = choice.primary, choice.backup
    for offset in policy.reminder_offsets:
        due = row.start_at - offset
        if due >= now:  # a reminder whose time passed before the session was planned is never planned
            minutes = int(offset / timedelta(minutes=1))
            await _timer(session, f"reminder:{row.id}:{minutes}", "reminder", due, now, row, minutes=minutes)
    await _timer(
        session, f"notice:{row.id}", "facilitator_notice", max(now, row.start_at - policy.facilitator_notice), now, row
    )
    if schedule_row.quorum:
        due = row.start_at - timedelta(minutes=schedule_row.quorum_check_minutes)
        await _timer(session, f"quorum:{row.id}", "quorum", max(now, due), now, row)
    await _timer(session, f"start:{row.id}", "start", row.start_at, now, row)
    await _timer(session, f"close:{row.id}", "close", row.end_at + policy.session_grace, now, row)
    await _timer(session, f"care:{row.id}", "care", row.end_at + policy.care_delay, now, row)
    return row


async def replan(
    session: AsyncSession, circle_id: int, now: datetime, policy: SchedulingPolicy
) -> CircleSession | None:
    """After a schedule change: drop the planned (not yet started) session and its timers, and plan anew.

    A facilitator given to the session by a moderator or an accepted swap stays with it when the same occurrence is
    planned again (it was moved, or another session was cancelled or moved); a schedule without that occurrence
    starts afresh from the rotation. Whether the person can still lead it is checked at its start, as ever."""
    planned = (
        CircleSession.circle_id == circle_id,
        CircleSession.status == SessionStatus.SCHEDULED,
        CircleSession.start_at > now,
    )
    # Columns, not rows: a row left in the identity map could stand in for the new row if its id is reused.
    kept: dict[datetime, tuple[int | None, str, int | None]] = {
        original: (facilitator_id, source, set_by)
        for original, facilitator_id, source, set_by in (
            await session.execute(
                select(
                    CircleSession.original_start,
                    CircleSession.facilitator_id,
                    CircleSession.facilitator_source,
                    CircleSession.facilitator_set_by,
                ).where(
                    *planned,
                    CircleSession.facilitator_source.in_(EXPLICIT),
                    CircleSession.facilitator_id.is_not(None),
                )
            )
        ).all()
    }
    await session.execute(delete(CircleSession).where(*planned))
    await session.flush()
    row = await plan_next(session, circle_id, now, policy)
    if row is not None and row.original_start in kept:
        facilitator_id, source, set_by = kept[row.original_start]
        if row.facilitator_id != facilitator_id:
            row.backup_id = row.facilitator_id  # the rotation's own pick backs them up, as ``rotation set`` does
        row.facilitator_id, row.facilitator_source, row.facilitator_set_by = facilitator_id, source, set_by
    return row
