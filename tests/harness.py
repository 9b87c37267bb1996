"""A console transcript harness: type a line as a person, read back what the console shows."""

from __future__ import annotations

import io

from bot.adapters.console import ConsoleAdapter, lines_from
from bot.catalogue import build_catalogue
from bot.clock import ManualClock
from bot.communities import CommunitySpec, console_ref, sync_communities
from bot.engine import Engine
from bot.i18n import catalogue
from bot.model import Role
from bot.storage import Database

OTHER = console_ref("elsewhere")


class Console:
    """One console community (``console``) plus a second one (``elsewhere``) for isolation tests."""

    def __init__(self, database: Database, clock: ManualClock, *, user: str = "you", locale: str = "en") -> None:
        self.database = database
        self.clock = clock
        self.locale = locale
        self.output = io.StringIO()
        self.engine = Engine(database=database, catalogue=build_catalogue(), messages=catalogue(), clock=clock)
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
        )

    async def prepare(self) -> None:
        """Record both communities."""
        await sync_communities(
            self.database,
            [
                CommunitySpec("console", console_ref("console"), "Test community", self.locale, "UTC", None),
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

    async def as_(self, user: str, role: str = "member") -> None:
        """Become ``user`` with ``role``."""
        await self.say(f"!user {user}")
        await self.say(f"!as {role}")
