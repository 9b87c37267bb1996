"""Claiming due timers in batches for the scheduler: one transaction per batch, one savepoint per timer.

A burst of timers due in the same second is what the scheduler must absorb quickly (every session of the evening
starting on the hour). A transaction per timer paid a claim query, a locking query, three lookups, an update and a
commit for each; a batch pays the claim, the update and the commit once for many timers, and on SQLite the lookups
too.

A timer whose firing fails is held back (:func:`hold`): it stays pending, its ``due_at`` unchanged (lateness and the
misfire policy are judged against it), and ``leased_until`` says when it may be tried again, after 5 s, then 10 s,
20 s... up to 5 minutes between attempts, the count of failed attempts kept in its ``data``. Claiming and
:func:`next_due` pass over a timer held back until later, so one that fails every time costs an attempt per step of
the backoff, not a loop that wakes at once to fail again.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import Circle, Community, Member
from bot.storage.schedule_models import CircleSession, Timer, TimerStatus

__all__ = [
    "FAILURES",
    "FIRST_RETRY",
    "LONGEST_RETRY",
    "BatchLimits",
    "Outcome",
    "claim_due",
    "failures",
    "hold",
    "limits_for",
    "mark_fired",
    "next_due",
    "prime",
    "retry_delay",
    "rows_for",
]

FIRST_RETRY = timedelta(seconds=5)
"""How long a timer that failed once is held back before it is tried again; each further failure doubles it."""
LONGEST_RETRY = timedelta(minutes=5)
"""The longest a failing timer is held back between attempts."""
FAILURES = "failures"
"""The key in a timer's ``data`` that counts its failed attempts (absent until the first failure)."""


@dataclass(frozen=True, slots=True)
class BatchLimits:
    """How much one batch (one transaction) may take on."""

    size: int
    """Timers claimed at once."""
    seconds: float
    """Wall time after which the batch commits, whatever is left of it going to the next one: nothing a batch
    writes is visible (or sent) before its commit, and on SQLite the batch holds the one connection meanwhile."""
    prime: bool
    """Whether to load the rows the batch's timers refer to up front (:func:`prime`). Only where nothing else can
    commit during the batch: on SQLite the batch holds the one connection. On PostgreSQL commands commit meanwhile
    (a session cancelled, a facilitator changed), so each timer reads its rows when it fires, as it always did."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one timer of a batch ended: ``done`` or ``skipped`` (under the misfire policy), and when."""

    timer_id: int
    status: str
    at: datetime


# Chosen by measuring bench/bench_scheduling.py and heavier variants (1,000 timers due at once; README
# "Performance"). Primed on SQLite, a timer that sends nothing costs about 0.15 ms in a batch and one that queues a
# message about 1.5 ms; on PostgreSQL, reading each timer's rows when it fires costs about 1 ms more (primed there,
# a burst of idle timers took 0.2 s instead of 1.1 s, but could act on a row another process changed meanwhile). So
# the time bound, not the size, ends a batch of busy timers, and sizes from 100 to 500 measured alike within the
# noise. The bound is 0.1 s on both: on SQLite the batch holds the only pooled connection, and every command and
# message waits for it; on PostgreSQL the other connections carry on, but the batch's messages wait for its commit.
SQLITE_LIMITS = BatchLimits(size=100, seconds=0.1, prime=True)
POSTGRES_LIMITS = BatchLimits(size=100, seconds=0.1, prime=False)


def limits_for(dialect: str) -> BatchLimits:
    """The batch limits for a database dialect (``sqlite`` or ``postgresql``)."""
    return SQLITE_LIMITS if dialect == "sqlite" else POSTGRES_LIMITS


def retry_delay(attempt: int) -> timedelta:
    """How long a timer is held back after failed attempt number ``attempt``: 5 s doubling, 5 min at most."""
    doublings: int = min(max(attempt, 1) - 1, 16)
    return min(FIRST_RETRY * (1 << doublings), LONGEST_RETRY)


def failures(data: dict[str, Any]) -> int:
    """How many attempts to fire a timer with this ``data`` have failed so far."""
    count = data.get(FAILURES, 0)
    return count if isinstance(count, int) else 0


def _not_held(now: datetime) -> ColumnElement[bool]:
    """Not held back after a failure beyond ``now``."""
    return or_(Timer.leased_until.is_(None), Timer.leased_until <= now)


async def next_due(session: AsyncSession, now: datetime) -> datetime | None:
    """When a pending timer can next be fired: the earliest due time among those not held back (in the past if one
    is overdue), or the earliest end of a hold on one already due, whichever comes first.

    Two lookups in one statement, each along the ``(status, due_at)`` index: only the scheduler holds a timer back,
    and only one already due, so the held ones are among the few pending timers due by ``now``.
    """
    free = (
        select(Timer.due_at)
        .where(Timer.status == TimerStatus.PENDING, _not_held(now))
        .order_by(Timer.due_at)
        .limit(1)
        .scalar_subquery()
    )
    held = (
        select(func.min(Timer.leased_until))
        .where(Timer.status == TimerStatus.PENDING, Timer.due_at <= now, Timer.leased_until > now)
        .scalar_subquery()
    )
    row = (await session.execute(select(free, held))).one()
    times = [value for value in row if value is not None]
    return min(times) if times else None


async def claim_due(session: AsyncSession, now: datetime, limit: int, exclude: Collection[int]) -> list[Timer]:
    """Lock up to ``limit`` pending timers due by ``now``, earliest first, leaving out ``exclude`` and those held
    back after a failure until later than ``now``.

    On PostgreSQL the rows stay locked until the batch commits and ``SKIP LOCKED`` makes a second process take
    other timers rather than wait, so no timer is fired by two processes. SQLite has no row locks (the clause is
    left out); its one process serialises its batches on the one connection.
    """
    statement = select(Timer).where(Timer.status == TimerStatus.PENDING, Timer.due_at <= now, _not_held(now))
    if exclude:
        statement = statement.where(Timer.id.not_in(exclude))
    statement = statement.order_by(Timer.due_at, Timer.id).limit(limit).with_for_update(skip_locked=True)
    return list((await session.execute(statement)).scalars())


async def prime(session: AsyncSession, timers: list[Timer]) -> list[object]:
    """Load the sessions, circles, communities and facilitators the batch's timers refer to, a query each, so firing
    each timer finds them in the session's identity map instead of asking the database for each.

    Returns the loaded objects: the caller keeps the list for the batch, because the identity map holds clean
    objects only weakly.
    """
    loaded: list[object] = []
    session_ids = {timer.session_id for timer in timers if timer.session_id is not None}
    circle_ids = {timer.circle_id for timer in timers if timer.circle_id is not None}
    if session_ids:
        rows = list((await session.execute(select(CircleSession).where(CircleSession.id.in_(session_ids)))).scalars())
        loaded.extend(rows)
        # Their facilitators and backups: a facilitator notice or a start looks them up.
        member_ids = {member_id for row in rows for member_id in (row.facilitator_id, row.backup_id) if member_id}
        if member_ids:
            loaded.extend((await session.execute(select(Member).where(Member.id.in_(member_ids)))).scalars())
    if circle_ids:
        circles = list((await session.execute(select(Circle).where(Circle.id.in_(circle_ids)))).scalars())
        loaded.extend(circles)
        community_ids = {circle.community_id for circle in circles}
        loaded.extend((await session.execute(select(Community).where(Community.id.in_(community_ids)))).scalars())
    return loaded


async def rows_for(
    session: AsyncSession, timer: Timer, *, primed: bool
) -> tuple[CircleSession, Circle, Community] | None:
    """The session, circle and community ``timer`` acts on, or ``None`` when the session or circle is gone.

    Primed (SQLite), they are found in the identity map without a query. Otherwise they are read in one query as
    they are now, not as an earlier timer of the batch may have left them in the identity map: another connection
    may have committed a change (a cancelled session, a new facilitator) since.
    """
    if timer.session_id is None or timer.circle_id is None:
        return None
    if primed:
        row = await session.get(CircleSession, timer.session_id)
        circle = await session.get(Circle, timer.circle_id)
        community = await session.get(Community, circle.community_id) if circle is not None else None
        return (row, circle, community) if row is not None and circle is not None and community is not None else None
    found = (
        await session.execute(
            select(CircleSession, Circle, Community)
            .join(Circle, Circle.id == CircleSession.circle_id)
            .join(Community, Community.id == Circle.community_id)
            .where(CircleSession.id == timer.session_id, Circle.id == timer.circle_id)
            .execution_options(populate_existing=True)
        )
    ).one_or_none()
    return (found[0], found[1], found[2]) if found is not None else None


async def mark_fired(session: AsyncSession, outcomes: list[Outcome]) -> None:
    """Record the batch's fired timers, in one statement (an executemany), in the batch's transaction."""
    if outcomes:
        await session.execute(
            update(Timer),
            [{"id": outcome.timer_id, "status": outcome.status, "done_at": outcome.at} for outcome in outcomes],
        )


async def hold(session: AsyncSession, timer_id: int, data: dict[str, Any], attempt: int, until: datetime) -> None:
    """Record a timer's ``attempt``-th failed attempt and hold it back until ``until``, in the batch's transaction
    (after its savepoint was undone): it stays pending with its due time, and claims pass over it until then.

    ``data`` is the timer's data as read before it fired (a rolled-back savepoint expires the loaded timer).
    """
    await session.execute(
        update(Timer)
        .where(Timer.id == timer_id)
        .values(leased_until=until, data={**data, FAILURES: attempt})
        .execution_options(synchronize_session=False)
    )
