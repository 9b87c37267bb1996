"""The scheduler under a burst: many timers due at the same moment fire in batches, each exactly once, and a failing
timer or a crash mid-batch never loses or doubles what the others send. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.circles.planning import SchedulingPolicy
from bot.circles.session_flow import SessionFlow
from bot.circles.timer_batch import limits_for, retry_delay
from bot.circles.timers import SessionScheduler
from bot.i18n import catalogue
from bot.observability.metrics import Metrics
from bot.ratelimit import RateLimiter
from bot.storage import Database
from bot.storage.models import Circle, Community, Member, OutboxItem
from bot.storage.schedule_models import CircleSession, Timer, TimerStatus
from tests.harness import Console

CIRCLES = 12
MEMBERS = ("amal", "ben")


class Crash(BaseException):
    """The process dying mid-batch: not an ``Exception``, so nothing in the scheduler catches it."""


@pytest.fixture
async def burst(console: Console) -> list[int]:
    """Twelve circles of two members, each with a session planned for Tuesday: every reminder timer (24 h and
    15 min before) is made due now, everything else a month away. Returns the reminders' ids in claim order."""
    console.engine.limiter = RateLimiter(burst=1_000)  # setting up is not what is tested
    await console.as_("mod", "moderator")
    for number in range(CIRCLES):
        await console.say(f'!circle create "Circle {number}"')
        assert "now meets" in await console.say(f'!circle schedule-set "Circle {number}" weekly tue 19:00 60m')
    for name in MEMBERS:
        await console.as_(name)
        for number in range(CIRCLES):
            await console.say(f"!circle join Circle {number}")
    now = console.clock.now()
    async with console.database.transaction() as session:
        ids = list(
            (
                await session.execute(
                    select(Timer.id).where(Timer.kind == "reminder", Timer.status == TimerStatus.PENDING)
                )
            ).scalars()
        )
        await session.execute(update(Timer).where(Timer.id.in_(ids)).values(due_at=now))
        await session.execute(update(Timer).where(Timer.id.not_in(ids)).values(due_at=now + timedelta(days=30)))
    assert len(ids) == 2 * CIRCLES
    return sorted(ids)  # all due at the same moment, so claimed in id order


def scheduler(
    console: Console, size: int, *, prime: bool | None = None, database: Database | None = None
) -> SessionScheduler:
    """A scheduler on the console's community claiming ``size`` timers a batch (with no time bound), and its own
    metrics. ``prime`` overrides the database's choice of loading a batch's rows up front."""
    limits = limits_for(console.database.dialect)
    return SessionScheduler(
        database or console.database,
        console.clock,
        SessionFlow(catalogue(), {}),
        SchedulingPolicy(),
        console.deliverer.wake,
        Metrics(),
        replace(limits, size=size, seconds=60.0, prime=limits.prime if prime is None else prime),
    )


def utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


async def reminder_keys(database: Database) -> list[str]:
    async with database.transaction() as session:
        return list(
            (await session.execute(select(OutboxItem.key).where(OutboxItem.key.startswith("reminder:")))).scalars()
        )


async def statuses(database: Database, ids: list[int]) -> dict[int, str]:
    async with database.transaction() as session:
        rows = (await session.execute(select(Timer.id, Timer.status).where(Timer.id.in_(ids)))).all()
    return {row.id: row.status for row in rows}


async def expected_keys(database: Database, ids: list[int]) -> set[str]:
    """The outbox keys the reminder timers ``ids`` send: one per member of the circle."""
    async with database.transaction() as session:
        timers = (await session.execute(select(Timer).where(Timer.id.in_(ids)))).scalars().all()
        members = list((await session.execute(select(Member.id).where(Member.native_id.in_(MEMBERS)))).scalars())
    return {f"reminder:{timer.session_id}:{timer.data['minutes']}:{member}" for timer in timers for member in members}


async def sent_once(database: Database, ids: list[int]) -> list[str]:
    """Assert the outbox holds the reminders the timers ``ids`` send, each once, and no other reminder; returns its
    reminder keys."""
    keys = await reminder_keys(database)
    assert len(keys) == len(set(keys))
    assert set(keys) == await expected_keys(database, ids)
    return keys


def lateness_observed(runner: SessionScheduler) -> float:
    """How many reminder timers ``runner`` observed the lateness of (once per timer fired or skipped)."""
    registry = runner.metrics.registry
    return registry.get_sample_value("peer_circles_scheduler_lateness_seconds_count", {"kind": "reminder"}) or 0


async def session_and_minutes(database: Database, timer_id: int) -> tuple[int, int]:
    """The session and the minutes before its start of the reminder timer ``timer_id``."""
    async with database.transaction() as session:
        timer = await session.get(Timer, timer_id)
        assert timer is not None
        assert timer.session_id is not None
        return timer.session_id, int(timer.data["minutes"])


AfterRemind = Callable[[AsyncSession, CircleSession, int, datetime], Awaitable[None]]


def after_each_reminder(runner: SessionScheduler, then: AfterRemind) -> None:
    """Make each reminder ``runner`` fires call ``then(session, row, minutes, now)`` once it has queued its messages,
    inside the same transaction, until ``runner.flow.remind`` is put back."""
    remind = runner.flow.remind

    async def remind_then(
        session: AsyncSession,
        community: Community,
        circle: Circle,
        row: CircleSession,
        minutes: int,
        now: datetime,
        zone: ZoneInfo,
    ) -> None:
        await remind(session, community, circle, row, minutes, now, zone)
        await then(session, row, minutes, now)

    runner.flow.remind = remind_then  # type: ignore[method-assign]


@pytest.mark.parametrize("prime", [True, False], ids=["primed", "read-when-fired"])
async def test_a_burst_fires_every_timer_once_in_batches(console: Console, burst: list[int], prime: bool) -> None:
    wakes: list[int] = []
    runner = scheduler(console, 5, prime=prime)
    runner.on_outbox = lambda: wakes.append(1)
    assert await runner.run_due() == len(burst)
    assert set((await statuses(console.database, burst)).values()) == {TimerStatus.DONE}
    keys = await sent_once(console.database, burst)
    assert len(keys) == 2 * len(burst)
    assert len(wakes) == 5  # the deliverer is woken after each committed batch of five (24 timers: five batches)
    # Lateness is still observed once per fired timer.
    assert lateness_observed(runner) == len(burst)
    # Nothing is due any more: a second pass fires nothing and sends nothing again.
    assert await runner.run_due() == 0
    assert sorted(await reminder_keys(console.database)) == sorted(keys)
    await console.deliverer.drain()
    assert console.output.getvalue().count("[direct message to amal] Reminder") == len(burst)


@pytest.mark.parametrize("prime", [True, False], ids=["primed", "read-when-fired"])
async def test_a_timer_failing_mid_batch_leaves_only_itself_pending(
    console: Console, burst: list[int], caplog: pytest.LogCaptureFixture, prime: bool
) -> None:
    bad = burst[len(burst) // 2]
    bad_session, bad_minutes = await session_and_minutes(console.database, bad)
    runner = scheduler(console, 100, prime=prime)  # the whole burst in one batch
    remind = runner.flow.remind

    async def fail(session: AsyncSession, row: CircleSession, minutes: int, now: datetime) -> None:
        if row.id == bad_session and minutes == bad_minutes:
            # Its messages are queued; then a database error: on PostgreSQL it aborts the whole transaction unless a
            # savepoint is undone.
            await session.execute(text("SELECT * FROM no_such_table"))

    after_each_reminder(runner, fail)
    with caplog.at_level(logging.ERROR, logger="bot.circles.timers"):
        assert await runner.run_due() == len(burst) - 1
    assert [record.getMessage() for record in caplog.records] == [
        f"timer {bad} (reminder, due {utc(console.clock.now())}) failed on attempt 1; it stays pending and is tried"
        f" again in 5 s, at {utc(console.clock.now() + timedelta(seconds=5))}"
    ]
    states = await statuses(console.database, burst)
    assert states.pop(bad) == TimerStatus.PENDING
    assert set(states.values()) == {TimerStatus.DONE}
    await sent_once(console.database, [timer for timer in burst if timer != bad])
    # It is held back for 5 s; then it is tried again and fires once, and nothing else is sent again.
    runner.flow.remind = remind  # type: ignore[method-assign]
    assert await runner.run_due() == 0
    console.clock.advance(timedelta(seconds=5))
    assert await runner.run_due() == 1
    await sent_once(console.database, burst)
    assert set((await statuses(console.database, burst)).values()) == {TimerStatus.DONE}


async def test_a_crash_mid_batch_rolls_the_whole_batch_back(console: Console, burst: list[int]) -> None:
    runner = scheduler(console, 100)
    fired: list[int] = []

    async def crash_halfway(session: AsyncSession, row: CircleSession, minutes: int, now: datetime) -> None:
        fired.append(row.id)
        if len(fired) == len(burst) // 2:
            raise Crash

    after_each_reminder(runner, crash_halfway)
    with pytest.raises(Crash):
        await runner.run_due()
    # Half the batch had fired and queued its messages, uncommitted: all of it is gone, every timer still pending.
    assert set((await statuses(console.database, burst)).values()) == {TimerStatus.PENDING}
    assert await reminder_keys(console.database) == []
    restarted = scheduler(console, 100)
    assert await restarted.run_due() == len(burst)
    await sent_once(console.database, burst)


@pytest.fixture
async def second_database(database: Database) -> AsyncIterator[Database]:
    """On PostgreSQL, a second engine on the same database, as a second bot process has; SQLite serves one
    process, so there both schedulers share the one engine."""
    if database.dialect != "postgresql":
        yield database
        return
    other = Database(database.url)
    try:
        yield other
    finally:
        await other.close()


async def test_two_schedulers_racing_over_a_burst_fire_each_timer_once(
    console: Console, burst: list[int], second_database: Database
) -> None:
    first = scheduler(console, 3)
    second = scheduler(console, 3, database=second_database)
    counts = await asyncio.gather(first.run_due(), second.run_due(), first.run_due(), second.run_due())
    assert sum(counts) == len(burst)
    assert set((await statuses(console.database, burst)).values()) == {TimerStatus.DONE}
    await sent_once(console.database, burst)
    assert lateness_observed(first) + lateness_observed(second) == len(burst)  # no timer was even started twice


class Broken(Exception):
    """What a failing timer raises."""


async def break_reminder(runner: SessionScheduler, database: Database, timer_id: int) -> list[datetime]:
    """Make the reminder timer ``timer_id`` raise each time it fires, after queuing its messages, until
    ``runner.flow.remind`` is put back. Returns the list the attempts' times are appended to."""
    target = await session_and_minutes(database, timer_id)
    attempts: list[datetime] = []

    async def fail(session: AsyncSession, row: CircleSession, minutes: int, now: datetime) -> None:
        if (row.id, minutes) == target:
            attempts.append(now)
            raise Broken("the platform is gone")

    after_each_reminder(runner, fail)
    return attempts


def failures_counted(runner: SessionScheduler, kind: str = "reminder") -> float:
    return runner.metrics.registry.get_sample_value("peer_circles_timer_failures_total", {"kind": kind}) or 0


def test_a_failing_timer_is_held_back_5_s_doubling_to_5_minutes() -> None:
    assert [retry_delay(attempt).total_seconds() for attempt in range(1, 10)] == [
        5,
        10,
        20,
        40,
        80,
        160,
        300,
        300,
        300,
    ]
    assert retry_delay(1_000) == timedelta(minutes=5)


async def test_a_timer_that_always_fails_is_tried_once_per_backoff_step_then_skipped_when_too_late(
    console: Console, burst: list[int], caplog: pytest.LogCaptureFixture
) -> None:
    """The loop is woken every 5 s for 11 minutes (as other timers and the longest sleep wake it): a reminder that
    fails every time is tried 7 times, not 130; once it is later than the misfire grace (10 minutes) it is skipped,
    never sent late; the rest of its batch was sent once, at once."""
    bad = burst[len(burst) // 2]
    runner = scheduler(console, 100)
    attempts = await break_reminder(runner, console.database, bad)
    due = console.clock.now()
    wakes = 0
    with caplog.at_level(logging.ERROR, logger="bot.circles.timers"):
        while console.clock.now() - due <= timedelta(minutes=11):
            await runner.run_due()
            wakes += 1
            console.clock.advance(timedelta(seconds=5))
    assert wakes == 133
    offsets = [(attempt - due).total_seconds() for attempt in attempts]
    assert offsets == [0, 5, 15, 35, 75, 155, 315]  # the next, at 615 s, is past the 600 s grace
    assert failures_counted(runner) == 7
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 7
    for attempt, (message, offset, wait) in enumerate(
        zip(messages, offsets, [5, 10, 20, 40, 80, 160, 300], strict=True), start=1
    ):
        assert message == (
            f"timer {bad} (reminder, due {utc(due)}) failed on attempt {attempt}; it stays pending and is tried again"
            f" in {wait} s, at {utc(due + timedelta(seconds=offset + wait))}"
        )
    assert all(record.exc_info is not None and record.exc_info[0] is Broken for record in caplog.records)
    states = await statuses(console.database, burst)
    assert states.pop(bad) == TimerStatus.SKIPPED
    assert set(states.values()) == {TimerStatus.DONE}
    await sent_once(console.database, [timer for timer in burst if timer != bad])
    async with console.database.transaction() as session:
        timer = await session.get(Timer, bad)
        assert timer is not None
        assert timer.due_at == due  # lateness and the misfire policy were judged against the time it was due
    # Lateness is observed once per timer, when it fired or was skipped, never for a failed attempt.
    assert lateness_observed(runner) == len(burst)


async def test_the_loop_sleeps_until_a_failing_timer_may_be_tried_again_and_it_fires_once_the_cause_is_gone(
    console: Console, burst: list[int], caplog: pytest.LogCaptureFixture
) -> None:
    """Driven as run_scheduler drives it (wake at next_due, fire what is due), a failing timer makes the loop sleep
    until its hold ends instead of waking at once; once the cause is gone it fires, once, still within its grace."""
    bad = burst[0]
    runner = scheduler(console, 100)
    remind = runner.flow.remind
    attempts = await break_reminder(runner, console.database, bad)
    due = console.clock.now()
    wakes: list[float] = []
    with caplog.at_level(logging.INFO, logger="bot.circles.timers"):
        for _ in range(50):  # bounded: without a backoff this loop would never leave the due time
            when = await runner.next_due()
            assert when is not None
            if when > due + timedelta(days=1):
                break  # only next month's timers are left
            if when > console.clock.now():
                console.clock.advance(when - console.clock.now())
            wakes.append((console.clock.now() - due).total_seconds())
            if len(attempts) == 3:
                runner.flow.remind = remind  # type: ignore[method-assign]  # the cause goes away
            await runner.run_due()
    assert wakes == [0, 5, 15, 35]
    assert [(attempt - due).total_seconds() for attempt in attempts] == [0, 5, 15]
    assert failures_counted(runner) == 3
    assert [record.getMessage() for record in caplog.records if record.levelno == logging.INFO] == [
        f"timer {bad} (reminder) done on attempt 4"
    ]
    assert set((await statuses(console.database, burst)).values()) == {TimerStatus.DONE}
    await sent_once(console.database, burst)
    await console.deliverer.drain()
    assert console.output.getvalue().count("[direct message to amal] Reminder") == len(burst)


async def test_a_timer_held_back_by_one_process_is_not_tried_by_another(
    console: Console, burst: list[int], second_database: Database
) -> None:
    """Two processes (two engines on PostgreSQL): the one that saw a timer fail holds it back for both; after the
    hold exactly one of them fires it."""
    bad = burst[3]
    first = scheduler(console, 3)
    second = scheduler(console, 3, database=second_database)
    remind_first, remind_second = first.flow.remind, second.flow.remind
    attempts = [await break_reminder(runner, console.database, bad) for runner in (first, second)]
    counts = await asyncio.gather(first.run_due(), second.run_due(), first.run_due(), second.run_due())
    assert sum(counts) == len(burst) - 1
    assert sum(len(tried) for tried in attempts) == 1
    assert failures_counted(first) + failures_counted(second) == 1
    assert await first.next_due() == await second.next_due() == console.clock.now() + timedelta(seconds=5)
    console.clock.advance(timedelta(seconds=4))
    assert list(await asyncio.gather(first.run_due(), second.run_due())) == [0, 0]
    console.clock.advance(timedelta(seconds=1))
    first.flow.remind, second.flow.remind = remind_first, remind_second  # type: ignore[method-assign]
    assert sorted(await asyncio.gather(first.run_due(), second.run_due(), first.run_due())) == [0, 0, 1]
    assert set((await statuses(console.database, burst)).values()) == {TimerStatus.DONE}
    await sent_once(console.database, burst)


async def test_reminders_do_not_wait_for_a_session_a_command_is_changing(
    console: Console, burst: list[int], second_database: Database
) -> None:
    if console.database.dialect != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite's one connection serialises commands and timers")
    busy_session, _ = await session_and_minutes(console.database, burst[0])
    runner = scheduler(console, 100)
    # Another process's command holds the session row (as a move or a cancellation does before deleting timers):
    # a batch that waited for it while holding the timers that command deletes next would deadlock.
    async with second_database.transaction() as other:
        await other.execute(select(CircleSession).where(CircleSession.id == busy_session).with_for_update())
        fired = await asyncio.wait_for(runner.run_due(), timeout=30)
    assert fired == len(burst)
    assert set((await statuses(console.database, burst)).values()) == {TimerStatus.DONE}
    await sent_once(console.database, burst)
