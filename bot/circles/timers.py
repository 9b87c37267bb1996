"""The scheduler: fires due timers once each, under the misfire policy, writing what it sends to the outbox.

Each timer runs in its own transaction, locked with ``SKIP LOCKED`` (PostgreSQL), so two bot processes never fire
the same one; its outbox rows commit with it, so a crash either loses nothing or did nothing.

Misfire policy (what fell due while the bot was down): reminders and facilitator notices more than
``misfire_grace`` late are skipped; a session start up to ``session_grace`` late still prompts its facilitator, later
it is recorded as missed; quorum checks and closes always run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.circles.bulk_planning import BATCH as PLAN_BATCH
from bot.circles.bulk_planning import circles_to_plan, plan_batch
from bot.circles.care import after_session
from bot.circles.planning import SchedulingPolicy, plan_next
from bot.circles.session_flow import SessionFlow
from bot.clock import Clock
from bot.observability.metrics import Metrics
from bot.storage import Database
from bot.storage.models import Circle, Community
from bot.storage.schedule_models import CircleSession, SessionStatus, Timer, TimerStatus

__all__ = ["SessionScheduler", "run_scheduler"]

log = logging.getLogger(__name__)

BATCH = 100


class SessionScheduler:
    """Plans sessions from the schedules in the database and fires their timers."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        flow: SessionFlow,
        policy: SchedulingPolicy,
        on_outbox: Callable[[], None] | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.metrics = metrics or Metrics()
        self.database = database
        self.clock = clock
        self.flow = flow
        self.policy = policy
        self.on_outbox = on_outbox or (lambda: None)

    async def plan_all(self) -> int:
        """Make sure every scheduled circle has its next session planned (at start, and after downtime)."""
        async with self.database.transaction() as session:
            missing = await circles_to_plan(session, self.clock.now())
        planned = 0
        for start in range(0, len(missing), PLAN_BATCH):
            async with self.database.transaction() as session:
                planned += await plan_batch(session, missing[start : start + PLAN_BATCH], self.clock.now(), self.policy)
        return planned

    async def next_due(self) -> datetime | None:
        """When the earliest pending timer falls due."""
        async with self.database.transaction() as session:
            return await session.scalar(
                select(Timer.due_at).where(Timer.status == TimerStatus.PENDING).order_by(Timer.due_at).limit(1)
            )

    async def run_due(self) -> int:
        """Fire every timer due now; returns how many fired (skipped ones included)."""
        fired = 0
        while True:
            now = self.clock.now()
            async with self.database.transaction() as session:
                ids = list(
                    (
                        await session.execute(
                            select(Timer.id)
                            .where(Timer.status == TimerStatus.PENDING, Timer.due_at <= now)
                            .order_by(Timer.due_at, Timer.id)
                            .limit(BATCH)
                        )
                    ).scalars()
                )
            if not ids:
                break
            progressed = 0
            for timer_id in ids:
                progressed += await self._fire(timer_id)
            fired += progressed
            if progressed == 0:  # every one was taken by another process meanwhile
                break
        if fired:
            self.on_outbox()
        return fired

    async def _fire(self, timer_id: int) -> int:
        try:
            async with self.database.transaction() as session:
                timer = (
                    await session.execute(
                        select(Timer)
                        .where(Timer.id == timer_id, Timer.status == TimerStatus.PENDING)
                        .with_for_update(skip_locked=True)
                    )
                ).scalar_one_or_none()
                if timer is None:
                    return 0
                now = self.clock.now()
                self.metrics.scheduler_lateness.labels(timer.kind).observe(
                    max(0.0, (now - timer.due_at).total_seconds())
                )
                ran = await self._dispatch(session, timer, now)
                timer.status = TimerStatus.DONE if ran else TimerStatus.SKIPPED
                timer.done_at = now
                if not ran:
                    log.info("timer %s (%s) skipped: %s late", timer.id, timer.kind, now - timer.due_at)
        except Exception:
            # One bad timer must not stop the others; it stays pending and is tried on the next wake.
            log.exception("timer %s failed; it will be tried again", timer_id)
            return 0
        return 1

    async def _dispatch(self, session: AsyncSession, timer: Timer, now: datetime) -> bool:
        row = await session.get(CircleSession, timer.session_id) if timer.session_id is not None else None
        circle = await session.get(Circle, timer.circle_id) if timer.circle_id is not None else None
        if row is None or circle is None:
            return False
        community = await session.get(Community, circle.community_id)
        assert community is not None
        late = now - timer.due_at
        zone = ZoneInfo(community.timezone)
        if timer.kind == "reminder":
            if late > self.policy.misfire_grace or row.status != SessionStatus.SCHEDULED:
                return False
            await self.flow.remind(session, community, circle, row, int(str(timer.data.get("minutes", 0))), now, zone)
            return True
        if timer.kind == "facilitator_notice":
            if late > self.policy.misfire_grace or row.status != SessionStatus.SCHEDULED:
                return False
            await self.flow.notify_facilitator(session, community, circle, row, now, zone)
            return True
        if timer.kind == "quorum":
            await self.flow.check_quorum(session, community, circle, row, now, zone)
            if row.status == SessionStatus.POSTPONED:
                await plan_next(session, circle.id, now, self.policy)
            return True
        if timer.kind == "start":
            if row.status == SessionStatus.SCHEDULED:
                if late > self.policy.session_grace:
                    row.status = SessionStatus.MISSED
                    log.warning("session %s of circle %s missed: the bot was down at its start", row.id, circle.id)
                else:
                    await self.flow.start(session, community, circle, row, now, self.policy, zone)
            await plan_next(session, circle.id, now, self.policy)
            return True
        if timer.kind == "close":
            await self.flow.auto_close(session, community, circle, row, now)
            return True
        if timer.kind == "care":
            if late > self.policy.care_delay:  # a day late after downtime: the moment has passed
                return False
            await after_session(session, self.flow, community, circle, row, now, self.policy)
            return True
        log.error("timer %s has an unknown kind %r", timer.id, timer.kind)
        return False


async def run_scheduler(scheduler: SessionScheduler, stop: asyncio.Event, *, longest_sleep: float = 60.0) -> None:
    """Plan what is missing, then fire timers as they fall due until ``stop`` is set.

    APScheduler does the waiting: one job, re-armed at the earliest pending timer (and at least every
    ``longest_sleep`` seconds, so a schedule another process changed is noticed). The database decides what is due
    and what fired; APScheduler's own misfire handling is switched off because the misfire policy lives here.
    """
    await scheduler.plan_all()
    wake = asyncio.Event()
    aps = AsyncIOScheduler(timezone=UTC)
    aps.start()
    try:
        while not stop.is_set():
            try:
                await scheduler.run_due()
                due = await scheduler.next_due()
            except Exception:
                log.exception("scheduler pass failed; will try again")
                due = None
            now = scheduler.clock.now()
            until = now + timedelta(seconds=longest_sleep)
            when = min(due, until) if due is not None else until
            wake.clear()
            aps.add_job(
                wake.set,
                DateTrigger(run_date=max(when, now)),
                id="wake",
                replace_existing=True,
                misfire_grace_time=None,
                coalesce=True,
            )
            waiter = asyncio.ensure_future(wake.wait())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            stopper.cancel()
    finally:
        aps.shutdown(wait=False)
