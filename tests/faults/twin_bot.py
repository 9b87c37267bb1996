"""One of two bot processes sharing a PostgreSQL database: fires due timers and drains the outbox for a while.

    python -m tests.faults.twin_bot URL SECONDS [BATCH]

Prints ``DELIVERED <key>`` for every outbox item it delivers and ``FIRED <n>`` with how many timers it fired. The
platform is a stand-in that prints (a platform's REST API is reachable from any process, as Discord's is when shards
are split between processes). BATCH (default 8) is how many due timers one transaction claims: small, so the two
processes' batches interleave over the burst instead of one process claiming all of it at once.
"""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import replace

from bot.circles.planning import SchedulingPolicy
from bot.circles.session_flow import SessionFlow
from bot.circles.timer_batch import limits_for
from bot.circles.timers import SessionScheduler
from bot.clock import SystemClock
from bot.delivery.deliverer import Deliverer
from bot.delivery.outbox import Delivery
from bot.i18n import catalogue
from bot.model import Platform
from bot.storage import Database


class Printing:
    async def send(self, delivery: Delivery) -> None:
        print(f"DELIVERED {delivery.key}", flush=True)


async def main(url: str, seconds: float, batch: int) -> None:
    clock = SystemClock()
    database = Database(url)
    deliverer = Deliverer(database, clock)
    deliverer.register(Platform.CONSOLE, Printing())
    scheduler = SessionScheduler(
        database,
        clock,
        SessionFlow(catalogue(), {}),
        SchedulingPolicy(),
        deliverer.wake,
        batch=replace(limits_for(database.dialect), size=batch),
    )
    fired = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        fired += await scheduler.run_due()
        await deliverer.drain()
        await asyncio.sleep(0.02)  # both processes poll at the same pace, to collide as often as possible
    print(f"FIRED {fired}", flush=True)
    await database.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 8))
