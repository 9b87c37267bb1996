"""Planning many circles at once: at start (after downtime) and when schedules arrive in bulk.

Finding the circles with nothing planned is one query, so a restart with everything planned costs one query, not
one transaction per circle. Circles without facilitators (the common case at scale) are planned in batches with
bulk inserts; circles with facilitators go through :func:`plan_next`, which runs the rotation.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.circles.planning import SchedulingPolicy, plan_next, session_key
from bot.circles.recurrence import Schedule, next_occurrence
from bot.storage.models import Circle, CircleStatus
from bot.storage.schedule_models import CircleSchedule, CircleSession, Facilitator, SessionStatus, Timer, TimerStatus
from bot.storage.upsert import insert_ignore

__all__ = ["BATCH", "circles_to_plan", "plan_batch"]

BATCH = 1000


async def circles_to_plan(session: AsyncSession, now: datetime) -> list[int]:
    """Active scheduled circles with no session planned ahead."""
    planned = exists().where(
        CircleSession.circle_id == CircleSchedule.circle_id,
        CircleSession.status == SessionStatus.SCHEDULED,
        CircleSession.start_at > now,
    )
    result = await session.execute(
        select(CircleSchedule.circle_id)
        .join(Circle, Circle.id == CircleSchedule.circle_id)
        .where(Circle.status == CircleStatus.ACTIVE, ~planned)
        .order_by(CircleSchedule.circle_id)
    )
    return list(result.scalars())


def _timers(
    row_id: int,
    circle_id: int,
    start: datetime,
    end: datetime,
    quorum: tuple[int, int] | None,
    now: datetime,
    policy: SchedulingPolicy,
) -> list[dict[str, Any]]:
    def timer(key: str, kind: str, due: datetime, **data: object) -> dict[str, Any]:
        return {
            "key": key,
            "kind": kind,
            "circle_id": circle_id,
            "session_id": row_id,
            "data": data,
            "due_at": due,
            "status": TimerStatus.PENDING,
            "created_at": now,
        }

    rows = [
        timer(
            f"reminder:{row_id}:{int(offset / timedelta(minutes=1))}",
            "reminder",
            start - offset,
            minutes=int(offset / timedelta(minutes=1)),
        )
        for offset in policy.reminder_offsets
        if start - offset >= now
    ]
    rows.append(timer(f"notice:{row_id}", "facilitator_notice", max(now, start - policy.facilitator_notice)))
    if quorum and quorum[0]:
        rows.append(timer(f"quorum:{row_id}", "quorum", max(now, start - timedelta(minutes=quorum[1]))))
    rows.append(timer(f"start:{row_id}", "start", start))
    rows.append(timer(f"close:{row_id}", "close", end + policy.session_grace))
    rows.append(timer(f"care:{row_id}", "care", end + policy.care_delay))
    return rows


async def plan_batch(session: AsyncSession, circle_ids: list[int], now: datetime, policy: SchedulingPolicy) -> int:
    """Plan the next session of each circle in ``circle_ids``; returns how many were planned."""
    if not circle_ids:
        return 0
    with_facilitators = set(
        (await session.execute(select(Facilitator.circle_id).where(Facilitator.circle_id.in_(circle_ids)))).scalars()
    )
    planned = 0
    for circle_id in sorted(with_facilitators):
        planned += await plan_next(session, circle_id, now, policy) is not None
    simple = [circle_id for circle_id in circle_ids if circle_id not in with_facilitators]
    if not simple:
        return planned
    schedules = (
        await session.execute(
            select(
                CircleSchedule.circle_id,
                CircleSchedule.rule,
                CircleSchedule.quorum,
                CircleSchedule.quorum_check_minutes,
            ).where(CircleSchedule.circle_id.in_(simple))
        )
    ).all()
    last = {
        row[0]: row[1]
        for row in (
            await session.execute(
                select(CircleSession.circle_id, func.max(CircleSession.original_start))
                .where(CircleSession.circle_id.in_(simple))
                .group_by(CircleSession.circle_id)
            )
        ).all()
    }
    sessions: list[dict[str, Any]] = []
    quorums: dict[str, tuple[int, int] | None] = {}
    for circle_id, rule, quorum, quorum_minutes in schedules:
        # After the last occurrence already recorded, as plan_next does: a postponed one is not planned again.
        after = max(now, last[circle_id]) if last.get(circle_id) is not None else now
        occurrence = next_occurrence(Schedule.from_dict(rule), after)
        if occurrence is None:
            continue
        key = session_key(circle_id, occurrence.original_start)
        quorums[key] = (quorum, quorum_minutes) if quorum else None
        sessions.append(
            {
                "circle_id": circle_id,
                "key": key,
                "original_start": occurrence.original_start,
                "start_at": occurrence.start,
                "end_at": occurrence.end,
                "status": SessionStatus.SCHEDULED,
                "created_at": now,
            }
        )
    if not sessions:
        return planned
    await insert_ignore(session, CircleSession, sessions)
    rows = (
        await session.execute(
            select(
                CircleSession.id,
                CircleSession.circle_id,
                CircleSession.key,
                CircleSession.start_at,
                CircleSession.end_at,
            ).where(CircleSession.key.in_([s["key"] for s in sessions]))
        )
    ).all()
    timers = [
        timer
        for row_id, circle_id, key, start, end in rows
        for timer in _timers(row_id, circle_id, start, end, quorums.get(key), now, policy)
    ]
    await insert_ignore(session, Timer, timers)
    return planned + len(rows)
