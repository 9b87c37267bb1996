"""Scheduling benchmark: many circles with weekly schedules.

Prints, for 10,000 and 100,000 circles (or the counts given on the command line):
- the first planning of every circle (sessions and timers written in bulk),
- start-up with everything planned (what a restart costs: the time to load and register the schedules),
- the process's resident memory,
- the lateness of fired timers, measured with the real clock and the real APScheduler-driven loop: timers spread
  over 20 seconds (a steady load), and a burst of timers all due in the same second (the worst case).

Run: python -m bench.bench_scheduling [COUNT ...]
(SQLite; set PEER_CIRCLES_BENCH_POSTGRES_URL for PostgreSQL, naming a database of its own: the benchmark empties its
public schema)
Targets (issue 3): 100,000 circles load in under 10 s and under 300 MB; p99 lateness under 1 s.
"""

from __future__ import annotations

import asyncio
import os
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path

from sqlalchemy import insert, select, text, update

from bot.circles.planning import SchedulingPolicy
from bot.circles.recurrence import Schedule
from bot.circles.session_flow import SessionFlow
from bot.circles.timers import SessionScheduler, run_scheduler
from bot.clock import SystemClock
from bot.communities import CommunitySpec, console_ref, sync_communities
from bot.i18n import catalogue
from bot.storage import Database, upgrade
from bot.storage.models import Circle, Community
from bot.storage.schedule_models import CircleSchedule, Timer, TimerStatus

ZONES = ("Europe/Berlin", "Africa/Cairo", "America/New_York", "Asia/Riyadh", "UTC", "Asia/Tokyo")


def rss_mb() -> float:
    """Current resident memory of this process, in MB."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def seed(database: Database, count: int, clock: SystemClock) -> None:
    await sync_communities(database, [CommunitySpec("bench", console_ref("bench"), "Bench", "en", "UTC", None)], clock)
    async with database.transaction() as session:
        community_id = await session.scalar(select(Community.id))
    now = clock.now()
    today = now.date()
    for start in range(0, count, 10_000):
        chunk = range(start, min(count, start + 10_000))
        async with database.transaction() as session:
            await session.execute(
                insert(Circle),
                [
                    {
                        "community_id": community_id,
                        "name": f"Circle {i}",
                        "name_key": f"circle {i}",
                        "topic": "",
                        "description": "",
                        "capacity": 12,
                        "visibility": "public",
                        "status": "active",
                        "created_at": now,
                    }
                    for i in chunk
                ],
            )
        async with database.transaction() as session:
            ids = list(
                (
                    await session.execute(
                        select(Circle.id).where(Circle.name_key.in_([f"circle {i}" for i in chunk])).order_by(Circle.id)
                    )
                ).scalars()
            )
            rules = []
            for offset, circle_id in enumerate(ids):
                i = start + offset
                minute = (i * 7) % (24 * 60)  # spread over every minute of every day of the week
                schedule = Schedule(
                    kind="weekly",
                    weekdays=(i % 7,),
                    start_time=dt_time(minute // 60, minute % 60),
                    timezone=ZONES[i % len(ZONES)],
                    duration=timedelta(minutes=90),
                    anchor=today,
                )
                rules.append(
                    {
                        "circle_id": circle_id,
                        "rule": schedule.to_dict(),
                        "quorum": None,
                        "quorum_check_minutes": 120,
                        "updated_at": now,
                    }
                )
            await session.execute(insert(CircleSchedule), rules)


async def lateness(database: Database, scheduler: SessionScheduler, count: int, spread: float) -> list[float]:
    """Make ``count`` pending timers due over the next ``spread`` seconds, run the real loop, return lateness."""
    now = datetime.now(UTC)
    async with database.transaction() as session:
        ids = list(
            (
                await session.execute(
                    select(Timer.id)
                    .where(Timer.status == TimerStatus.PENDING, Timer.kind == "facilitator_notice")
                    .order_by(Timer.due_at.desc())
                    .limit(count)
                )
            ).scalars()
        )
        # One executemany, so setting the due times does not itself make the first timers late.
        await session.execute(
            update(Timer),
            [
                {"id": timer_id, "due_at": now + timedelta(seconds=2 + spread * index / max(1, len(ids)))}
                for index, timer_id in enumerate(ids)
            ],
        )
    stop = asyncio.Event()
    loop = asyncio.create_task(run_scheduler(scheduler, stop, longest_sleep=1.0))
    deadline = time.monotonic() + spread + 60
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        async with database.transaction() as session:
            left = await session.scalar(
                select(text("count(*)"))
                .select_from(Timer)
                .where(Timer.id.in_(ids), Timer.status == TimerStatus.PENDING)
            )
        if not left:
            break
    stop.set()
    await loop
    async with database.transaction() as session:
        rows = (await session.execute(select(Timer.due_at, Timer.done_at).where(Timer.id.in_(ids)))).all()
    return [(done - due).total_seconds() for due, done in rows if done is not None]


async def run(count: int, url: str | None) -> None:
    clock = SystemClock()
    with tempfile.TemporaryDirectory() as folder:
        database = Database(url or f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}")
        if url:
            async with database.engine.begin() as connection:
                await connection.execute(text("DROP SCHEMA public CASCADE"))
                await connection.execute(text("CREATE SCHEMA public"))
        await upgrade(database)
        started = time.perf_counter()
        await seed(database, count, clock)
        seeded = time.perf_counter() - started
        policy = SchedulingPolicy()
        flow = SessionFlow(catalogue(), {})
        started = time.perf_counter()
        planned = await SessionScheduler(database, clock, flow, policy).plan_all()
        first = time.perf_counter() - started
        before = rss_mb()
        started = time.perf_counter()
        restarted = SessionScheduler(database, clock, flow, policy)
        replanned = await restarted.plan_all()
        await restarted.next_due()
        load = time.perf_counter() - started
        after = rss_mb()
        # First planning makes every notice for a session within 48 h due at once: drain that backlog first, so
        # the lateness figures describe steady running.
        started = time.perf_counter()
        backlog = await restarted.run_due()
        drained = time.perf_counter() - started
        steady = await lateness(database, restarted, 2_000, 20.0)
        burst = await lateness(database, restarted, 1_000, 0.0)
        await database.close()
    print(f"\n{count:,} circles ({'PostgreSQL' if url else 'SQLite'})")
    print(f"  seed circles and schedules:        {seeded:8.2f} s")
    print(f"  first planning ({planned:,} sessions):   {first:8.2f} s  ({first / max(1, planned) * 1e6:.0f} us each)")
    print(f"  start-up with all planned:         {load:8.3f} s  (planned again: {replanned})   target < 10 s")
    print(
        f"  backlog due at first planning:     {drained:8.2f} s  "
        f"({backlog:,} timers, {drained / max(1, backlog) * 1e3:.1f} ms each)"
    )
    print(f"  resident memory:                   {after:8.1f} MB (before start-up {before:.1f} MB)   target < 300 MB")
    print(f"  peak resident memory:              {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:8.1f} MB")
    for name, values in (("steady, 2,000 over 20 s", steady), ("burst, 1,000 in one second", burst)):
        print(
            f"  lateness {name}: median {statistics.median(values):.3f} s, p99 {percentile(values, 0.99):.3f} s, "
            f"max {max(values):.3f} s ({len(values)} fired)   target p99 < 1 s"
        )


def main() -> None:
    counts = [int(arg) for arg in sys.argv[1:]] or [10_000, 100_000]
    url = os.environ.get("PEER_CIRCLES_BENCH_POSTGRES_URL")
    for count in counts:
        asyncio.run(run(count, url))


if __name__ == "__main__":
    main()
