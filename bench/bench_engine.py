"""Engine load benchmark: the path every platform shares (parse, role check, unit of work, scan, outbox).

Prints, on SQLite (and PostgreSQL when PEER_CIRCLES_BENCH_POSTGRES_URL is set):
- scanned messages per second (ordinary chat from many members; crisis language in about 1 in 200),
- command latency p50/p99 while messages flow at full speed (many members running commands concurrently),
- crisis message to delivered moderator alert, p50/p99 (the deliverer running as it does in the bot).

Targets (issue 8, one process): 2,000 scanned messages per second with p99 command latency under 50 ms.
Run: python -m bench.bench_engine [MESSAGES]
PEER_CIRCLES_BENCH_POSTGRES_URL must name a database of its own: the benchmark empties its public schema.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from bot.catalogue import build_catalogue
from bot.clock import SystemClock
from bot.communities import CommunitySpec, console_ref, sync_communities
from bot.config import SafetySettings, default_settings
from bot.delivery.deliverer import Deliverer
from bot.delivery.outbox import Delivery
from bot.engine import Engine
from bot.i18n import catalogue
from bot.model import IncomingMessage, Platform, Role, RoomRef, UserRef
from bot.safety.detector import Detector
from bot.safety.escalation import Safety
from bot.storage import Database, upgrade

COMMUNITY = console_ref("bench")
ROOM = RoomRef(Platform.CONSOLE, "#general")
CHAT = [
    "see you all at the circle tonight",
    "thanks for listening yesterday, it helped",
    "how was everyone's week?",
    "ana kwayes el hamdulillah",
    "شكرًا لكم على الجلسة الحلوة",
    "this homework is killing me lol",
    "does anyone have tips for sleeping better?",
    "I finally called my sister, it went well",
]
CRISIS = "honestly I want to kill myself"


def pct(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


class Recorder:
    """A sender that records when each alert arrived (a platform with no network cost)."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}

    async def send(self, delivery: Delivery) -> None:
        self.arrived.setdefault(delivery.text.split("\n", 1)[0], time.perf_counter())


async def run(url: str | None, count: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        database = Database(url or f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}")
        if url:
            async with database.engine.begin() as connection:
                await connection.execute(text("DROP SCHEMA public CASCADE"))
                await connection.execute(text("CREATE SCHEMA public"))
        await upgrade(database)
        clock = SystemClock()
        await sync_communities(
            database, [CommunitySpec("bench", COMMUNITY, "Bench", "en", "UTC", "GB", moderator_room="#mods")], clock
        )
        settings = SafetySettings()
        deliverer = Deliverer(database, clock)
        recorder = Recorder()
        deliverer.register(Platform.CONSOLE, recorder)
        engine = Engine(
            database=database,
            catalogue=build_catalogue(),
            messages=catalogue(),
            clock=clock,
            safety=Safety(Detector.build(settings), settings, default_settings().resources, catalogue()),
            on_outbox=deliverer.wake,
        )
        # Generous limits: the benchmark measures the engine, not the per-person flood protection.
        engine.limiter.burst = 1e9
        await engine.handle_text(
            COMMUNITY,
            UserRef(Platform.CONSOLE, "mod"),
            'circle create "Evening circle" capacity=500',
            platform_role=Role.MODERATOR,
        )
        rng = random.Random(7)
        stop = asyncio.Event()
        delivering = asyncio.create_task(deliverer.run(stop, poll=0.05))

        # 1. Messages at full speed, from 1,000 members; about 1 in 200 is crisis language.
        sent_crisis: dict[str, float] = {}
        started = time.perf_counter()
        for number in range(count):
            crisis = number % 200 == 0
            # Each crisis message from its own person, so each opens its own alert (one person's flood merges).
            author = UserRef(Platform.CONSOLE, f"crisis{number}" if crisis else f"m{number % 1000}")
            body = CRISIS if crisis else rng.choice(CHAT)
            await engine.handle_message(
                IncomingMessage(COMMUNITY, author, body, f"e{number}", room=ROOM, author_display=author.native_id)
            )
            if body == CRISIS:
                sent_crisis[author.native_id] = time.perf_counter()
            await asyncio.sleep(0)  # each platform event is its own step of the event loop
        elapsed = time.perf_counter() - started
        rate = count / elapsed

        # 2. Crisis to alert: wait (bounded) for the deliverer to deliver every alert, then compare times.
        for _ in range(600):  # at most 30 s: the deliverer is running; this only waits for it to finish
            if len(recorder.arrived) >= len(sent_crisis):
                break
            await asyncio.sleep(0.05)
        # 3. Command latency with messages flowing: 50 members run commands while a feeder keeps scanning.
        latencies: list[float] = []

        async def member(index: int) -> None:
            user = UserRef(Platform.CONSOLE, f"c{index}")
            for step in range(20):
                # People pause between commands: 50 members at about two commands a second in all, each.
                await asyncio.sleep(rng.uniform(0.2, 0.8))
                line = (
                    "circle list",
                    "circle info Evening circle",
                    "circle join Evening circle",
                    "circle leave Evening circle",
                    "help",
                )[step % 5]
                began = time.perf_counter()
                await engine.handle_text(COMMUNITY, user, line, room=ROOM)
                latencies.append((time.perf_counter() - began) * 1e3)

        async def feeder(rate_per_second: float) -> int:
            """Messages at a steady rate, each dispatched as a platform event would be (yielding in between)."""
            number = 0
            began = time.perf_counter()
            while not done.is_set():
                author = UserRef(Platform.CONSOLE, f"f{number % 500}")
                await engine.handle_message(
                    IncomingMessage(COMMUNITY, author, rng.choice(CHAT), f"f{number}", room=ROOM)
                )
                number += 1
                ahead = number / rate_per_second - (time.perf_counter() - began)
                await asyncio.sleep(max(0.0, ahead))
            return number

        done = asyncio.Event()
        feed_started = time.perf_counter()
        feeding = asyncio.create_task(feeder(2_000))
        await asyncio.gather(*(member(index) for index in range(50)))
        done.set()
        fed = await feeding
        fed_rate = fed / (time.perf_counter() - feed_started)

        stop.set()
        await delivering
        alert_ms = []
        for author, sent in sent_crisis.items():
            arrived = next((t for first_line, t in recorder.arrived.items() if f": {author} in" in first_line), None)
            if arrived is not None:
                alert_ms.append((arrived - sent) * 1e3)
        await database.close()
    print(f"\n{'PostgreSQL' if url else 'SQLite'}")
    print(
        f"  scanned messages: {rate:,.0f} per second ({count:,} messages, {len(sent_crisis)} with crisis language)"
        f"   target >= 2,000"
    )
    print(
        f"  command latency while {fed_rate:,.0f} messages/s are scanned: p50 {statistics.median(latencies):.1f} ms, "
        f"p99 {pct(latencies, 0.99):.1f} ms ({len(latencies):,} commands from 50 members)   target p99 < 50 ms"
    )
    if alert_ms:
        print(
            f"  crisis message to delivered alert: p50 {statistics.median(alert_ms):.0f} ms, "
            f"p99 {pct(alert_ms, 0.99):.0f} ms ({len(alert_ms)} of {len(sent_crisis)} alerts)"
        )


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    asyncio.run(run(None, count))
    url = os.environ.get("PEER_CIRCLES_BENCH_POSTGRES_URL")
    if url:
        asyncio.run(run(url, count))


if __name__ == "__main__":
    main()
