"""A console transcript harness: type a line as a person, read back what the console shows."""

from __future__ import annotations

import io
from datetime import date

from bot.adapters.console import CONSOLE_MODERATORS, ConsoleAdapter, lines_from
from bot.catalogue import build_catalogue
from bot.circles.planning import SchedulingPolicy
from bot.circles.session_flow import SessionFlow
from bot.circles.timers import SessionScheduler
from bot.clock import ManualClock
from bot.communities import CommunitySpec, console_ref, sync_communities
from bot.config import Resource, SafetySettings
from bot.delivery.deliverer import Deliverer
from bot.engine import Engine, Scheduling
from bot.i18n import catalogue
from bot.model import Role
from bot.safety.detector import Detector
from bot.safety.escalation import Safety
from bot.storage import Database

OTHER = console_ref("elsewhere")

RESOURCES = (
    Resource(
        name="Samaritans",
        topics=["crisis", "mental-health"],
        countries=["GB", "IE"],
        languages=["en"],
        phone="116 123",
        url="https://www.samaritans.org",
        last_verified=date(2026, 11, 1),
    ),
    Resource(
        name="Find A Helpline",
        topics=["crisis"],
        countries=["*"],
        languages=["en", "ar"],
        url="https://findahelpline.com",
        last_verified=date(2026, 11, 1),
    ),
    Resource(
        name="Citizens Advice",
        topics=["legal"],
        countries=["GB"],
        languages=["en"],
        url="https://www.citizensadvice.org.uk",
        last_verified=date(2026, 10, 1),
    ),
)


class Console:
    """One console community (``console``) plus a second one (``elsewhere``) for isolation tests."""

    def __init__(
        self,
        database: Database,
        clock: ManualClock,
        *,
        user: str = "you",
        locale: str = "en",
        safety: SafetySettings | None = None,
        moderator_room: str | None = CONSOLE_MODERATORS,
        policy: SchedulingPolicy | None = None,
        timezone: str = "UTC",
    ) -> None:
        self.database = database
        self.clock = clock
        self.locale = locale
        self.moderator_room = moderator_room
        self.timezone = timezone
        self.output = io.StringIO()
        settings = safety or SafetySettings()
        self.deliverer = Deliverer(database, clock)
        self.safety = Safety(Detector.build(settings), settings, RESOURCES, catalogue())
        self.policy = policy or SchedulingPolicy()
        flow = SessionFlow(catalogue(), {}, self.policy)
        self.scheduler = SessionScheduler(database, clock, flow, self.policy, self.deliverer.wake)
        self.engine = Engine(
            database=database,
            catalogue=build_catalogue(),
            messages=catalogue(),
            clock=clock,
            safety=self.safety,
            scheduling=Scheduling(self.policy, flow),
            on_outbox=self.deliverer.wake,
        )
        self.adapter = ConsoleAdapter(
            self.engine,
            catalogue(),
            community=console_ref("console"),
            community_name="Test community",
            user=user,
            locale=locale,
            lines=lines_from([]),
            output=self.output,
            role=Role.MEMBER,
            deliverer=self.deliverer,
        )

    async def prepare(self) -> None:
        """Record both communities."""
        await sync_communities(
            self.database,
            [
                CommunitySpec(
                    "console",
                    console_ref("console"),
                    "Test community",
                    self.locale,
                    self.timezone,
                    "GB",
                    moderator_room=self.moderator_room,
                    fallback_room="#moderators-backup",
                ),
                CommunitySpec("elsewhere", OTHER, "Other community", "en", "UTC", None),
            ],
            self.clock,
        )

    async def say(self, line: str) -> str:
        """Type ``line``; returns exactly what the console printed for it."""
        start = self.output.tell()
        await self.adapter.handle_line(line)
        self.output.seek(start)
        printed = self.output.read()
        return printed

    async def later(self, **delta: float) -> str:
        """Let time pass as a running bot would: every timer and delivery that falls due on the way happens at its
        own moment, in order. Returns what the console showed meanwhile."""
        from datetime import timedelta

        start = self.output.tell()
        target = self.clock.now() + timedelta(**delta)
        while True:
            due = await self.scheduler.next_due()
            if due is None or due > target:
                break
            if due > self.clock.now():
                self.clock.advance(due - self.clock.now())
            await self.scheduler.run_due()
            await self.deliverer.drain()
        self.clock.advance(target - self.clock.now())
        await self.engine.tick()
        await self.scheduler.run_due()
        await self.deliverer.drain()
        self.output.seek(start)
        return self.output.read()

    async def as_(self, user: str, role: str = "member") -> None:
        """Become ``user`` with ``role``."""
        await self.say(f"!user {user}")
        await self.say(f"!as {role}")
