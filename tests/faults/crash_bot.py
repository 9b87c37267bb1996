"""A bot process for the SIGKILL tests: the real engine, outbox and deliverer, with a stand-in platform.

    python -m tests.faults.crash_bot URL detect   # detect a crisis, write the alert, then wait to be killed
    python -m tests.faults.crash_bot URL hang     # ... and hang inside the platform call until killed
    python -m tests.faults.crash_bot URL recover  # restart: deliver what is owed, print each delivery, exit

The platform is a stand-in (it prints instead of calling Discord or Matrix) because the point is what the bot's own
storage and delivery do when the process dies; the adapters' idempotent sends are tested in their own suites.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta

from bot.catalogue import build_catalogue
from bot.clock import SystemClock
from bot.communities import CommunitySpec, console_ref, sync_communities
from bot.config import SafetySettings, default_settings
from bot.delivery.deliverer import Deliverer
from bot.delivery.outbox import Delivery
from bot.engine import Engine
from bot.i18n import catalogue
from bot.model import IncomingMessage, Platform, RoomRef, UserRef
from bot.safety.detector import Detector
from bot.safety.escalation import Safety
from bot.storage import Database

COMMUNITY = console_ref("faults")
LEASE = timedelta(seconds=2)


def say(line: str) -> None:
    print(line, flush=True)


class Hanging:
    """A platform call that never returns (a network stall), reported as it starts."""

    async def send(self, delivery: Delivery) -> None:
        say(f"SENDING {delivery.key}")
        await asyncio.Event().wait()


class Recording:
    async def send(self, delivery: Delivery) -> None:
        say(f"DELIVERED {delivery.key}")


async def main(url: str, mode: str) -> None:
    clock = SystemClock()
    database = Database(url)
    await sync_communities(
        database, [CommunitySpec("faults", COMMUNITY, "Faults", "en", "UTC", "GB", moderator_room="#mods")], clock
    )
    deliverer = Deliverer(database, clock, lease=LEASE)
    settings = SafetySettings()
    engine = Engine(
        database=database,
        catalogue=build_catalogue(),
        messages=catalogue(),
        clock=clock,
        safety=Safety(Detector.build(settings), settings, default_settings().resources, catalogue()),
        on_outbox=deliverer.wake,
    )
    if mode == "recover":
        deliverer.register(Platform.CONSOLE, Recording())
        for _ in range(100):  # bounded: the dead process's lease runs out within a few seconds
            await deliverer.drain()
            if await deliverer.pending_alerts() == 0:
                break
            await asyncio.sleep(0.1)
        say("DONE")
        await database.close()
        return
    author = UserRef(Platform.CONSOLE, "amal")
    message = IncomingMessage(
        COMMUNITY, author, "honestly I want to kill myself", "event-1", RoomRef(Platform.CONSOLE, "#general")
    )
    await engine.handle_message(message)
    say("DETECTED")
    if mode == "hang":
        deliverer.register(Platform.CONSOLE, Hanging())
        await deliverer.drain()
    await asyncio.Event().wait()  # wait to be killed


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
