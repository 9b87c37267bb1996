"""The scheduler: fires due timers once each, under the misfire policy, writing what it sends to the outbox.

Due timers are claimed in batches, one transaction each, locked with ``SKIP LOCKED`` (PostgreSQL) so two bot processes
never fire the same one (bot/circles/timer_batch.py). Each timer fires inside its own savepoint: one that fails rolls
back only its own work and stays pending for the next wake, while the rest of the batch commits. A timer's outbox rows
commit with it, so a crash loses nothing and sends nothing twice: an uncommitted batch rolls back whole, its timers
still pending, and the outbox's idempotency keys are written again when they fire again. (On SQLite savepoints nest
in the batch's transaction only because bot/storage/db.py begins every transaction itself.)

A timer that fails is held back with exponential backoff (5 s, 10 s, 20 s... at most 5 minutes between attempts),
its due time unchanged: each failed attempt is logged once with its count and counted in
``peer_circles_timer_failures_total``, and :meth:`SessionScheduler.next_due` (where the loop re-arms) passes over it
until its hold ends, so a timer that fails every time never makes the loop spin. When it finally runs, the misfire
policy judges it by its due time like any other: a reminder that has become too late is skipped, not sent late.

Misfire policy (what fell due while the bot was down): reminders and facilitator notices more than
``misfire_grace`` late are skipped; a session start up to ``session_grace`` late still prompts its facilitator, later
it is recorded as missed; quorum checks and closes always run.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from sqlalchemy.ext.asyncio import AsyncSession

from bot.circles.bulk_planning import BATCH as PLAN_BATCH
from bot.circles.bulk_planning import circles_to_plan, plan_batch
from bot.circles.care import after_session
from bot.circles.planning import SchedulingPolicy, plan_next
from bot.circles.session_flow import SessionFlow
from bot.circles.timer_batch import (
    BatchLimits,
    Outcome,
    claim_due,
    failures,
    hold,
    limits_for,
    mark_fired,
    next_due,
    prime,
    retry_delay,
    rows_for,
)
from bot.clock import Clock
from bot.observability.metrics import Metrics
from bot.storage import Database
from bot.storage.schedule_models import SessionStatus, Timer, TimerStatus

__all__ = ["SessionScheduler", "run_scheduler"]

log = logging.getLogger(__name__)


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
        batch: BatchLimits | None = None,
    ) -> None:
        self.metrics = metrics or Metrics()
        self.batch = batch or limits_for(database.dialect)
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
        """When the earliest pending timer can fire: its due time, or the end of its hold if it failed lately."""
        async with self.database.transaction() as session:
            return await next_due(session, self.clock.now())

    async def run_due(self) -> int:
        """Fire every timer due now; returns how many fired (skipped ones included)."""
        fired = 0
        failed: set[int] = set()  # failed in this pass: never tried twice in one pass, however long it takes
        while True:
            async with self.database.transaction() as session:
                claimed, progressed = await self._fire_batch(session, failed)
            if progressed:
                fired += progressed
                self.on_outbox()  # committed: what this batch queued can be delivered while the next one fires
            if not claimed:
                return fired

    async def _fire_batch(self, session: AsyncSession, failed: set[int]) -> tuple[int, int]:
        """Claim a batch and fire it; returns how many timers were claimed and how many fired."""
        timers = await claim_due(session, self.clock.now(), self.batch.size, failed)
        # Held, so the identity map keeps them for the whole batch (it holds unchanged objects only weakly).
        loaded = await prime(session, timers) if self.batch.prime else []
        started = time.monotonic()
        outcomes: list[Outcome] = []
        for timer in timers:
            # Read now: a rolled-back savepoint expires the timer, and reloading it needs I/O.
            timer_id, kind, due_at, data = timer.id, timer.kind, timer.due_at, dict(timer.data)
            try:
                async with session.begin_nested():
                    outcome = await self._fire(session, timer)
            except Exception:
                # One bad timer must not stop the others: its savepoint undid its own work only, and it stays
                # pending, held back until its next attempt. The batch commits what fired before it, and the rest
                # of the batch goes to a fresh session, so nothing the failure left half-loaded is reused.
                await self._held_back(session, timer_id, kind, due_at, data)
                failed.add(timer_id)
                break
            outcomes.append(outcome)
            self.metrics.scheduler_lateness.labels(kind).observe(max(0.0, (outcome.at - due_at).total_seconds()))
            if failures(data):
                log.info("timer %s (%s) %s on attempt %d", timer_id, kind, outcome.status, failures(data) + 1)
            if time.monotonic() - started > self.batch.seconds:
                break  # commit now; what is left is claimed again at once (it stays pending, first in line)
        # Marked in one statement for the batch, inside its transaction: a timer is done exactly when its work
        # commits. SQLAlchemy emits a SAVEPOINT only before the first statement inside it, so a timer that runs none
        # (skipped under the misfire policy, its rows primed) costs nothing.
        await mark_fired(session, outcomes)
        del loaded
        return len(timers), len(outcomes)

    async def _held_back(
        self, session: AsyncSession, timer_id: int, kind: str, due_at: datetime, data: dict[str, Any]
    ) -> None:
        """Log the failure that is being handled, count it, and hold the timer back until its next attempt."""
        attempt = failures(data) + 1
        now = self.clock.now()
        delay = retry_delay(attempt)
        log.exception(
            "timer %s (%s, due %s) failed on attempt %d; it stays pending and is tried again in %d s, at %s",
            timer_id,
            kind,
            due_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
            attempt,
            delay.total_seconds(),
            (now + delay).strftime("%Y-%m-%d %H:%M:%S UTC"),
        )
        self.metrics.timer_failures.labels(kind).inc()
        await hold(session, timer_id, data, attempt, now + delay)

    async def _fire(self, session: AsyncSession, timer: Timer) -> Outcome:
        now = self.clock.now()
        ran = await self._dispatch(session, timer, now)
        if not ran:
            log.info("timer %s (%s) skipped: %s late", timer.id, timer.kind, now - timer.due_at)
        return Outcome(timer.id, TimerStatus.DONE if ran else TimerStatus.SKIPPED, now)

    async def _dispatch(self, session: AsyncSession, timer: Timer, now: datetime) -> bool:
        found = await rows_for(session, timer, primed=self.batch.prime)
        if found is None:
            return False
        row, circle, community = found
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
