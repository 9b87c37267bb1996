"""Wiring: settings -> storage (migrated) -> engine -> adapters, run until a signal or the console's input ends."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import signal
import sys
from collections.abc import AsyncIterator
from typing import TextIO

from sqlalchemy import text

from bot.adapters.base import Adapter
from bot.adapters.console import CONSOLE_MODERATORS, ConsoleAdapter, stdin_lines
from bot.admin.status import adapter_line, scheduler_line
from bot.catalogue import build_catalogue
from bot.circles.planning import SchedulingPolicy
from bot.circles.session_flow import SessionFlow
from bot.circles.timers import SessionScheduler, run_scheduler
from bot.clock import Clock, SystemClock
from bot.communities import CommunitySpec, console_ref, sync_communities
from bot.config import Settings
from bot.delivery.deliverer import Deliverer
from bot.engine import CircleLimits, Engine, Scheduling
from bot.errors import PeerCirclesError, PlatformCredentialsError, PlatformError
from bot.i18n import Catalogue, catalogue
from bot.model import CommunityRef, Platform
from bot.observability.http import ObservabilityServer
from bot.observability.metrics import Metrics
from bot.privacy.retention import RetentionJob
from bot.safety.detector import Detector
from bot.safety.escalation import Safety
from bot.storage import Database, upgrade
from bot.storage.db import redact_url
from bot.tasks import BackgroundTasks

__all__ = ["EXIT_CONFIG", "EXIT_CREDENTIALS", "Application", "StartupError"]

log = logging.getLogger(__name__)

EXIT_CONFIG = 2
EXIT_CREDENTIALS = 3


class StartupError(PeerCirclesError):
    """The bot cannot start as configured; the message says what to change."""


def community_specs(settings: Settings) -> list[CommunitySpec]:
    """Every community to serve: the configured ones, plus a console community when the console runs."""
    specs = [
        CommunitySpec(
            slug=community.id,
            ref=CommunityRef(Platform(community.platform), community.native_id),
            name=community.name,
            locale=community.locale,
            timezone=community.timezone,
            country=community.country,
            moderator_room=community.moderators.destination,
            fallback_room=community.moderators.fallback,
            on_call_role=community.moderators.on_call_role,
        )
        for community in settings.communities
    ]
    console = settings.platforms.console
    if settings.console_enabled() and not any(spec.ref == console_ref(console.community) for spec in specs):
        specs.append(
            CommunitySpec(
                slug=console.community,
                ref=console_ref(console.community),
                name=catalogue().t(console.locale, "console.community_name"),
                locale=console.locale,
                timezone="UTC",
                country=None,
                moderator_room=CONSOLE_MODERATORS,
            )
        )
    return specs


class Application:
    """The running bot: one database, one engine, every configured adapter."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        console_lines: AsyncIterator[str] | None = None,
        console_output: TextIO | None = None,
        console_echo: bool | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.messages: Catalogue = catalogue()
        self.database = Database(settings.database_url(), echo=settings.database.echo)
        self.metrics = Metrics()
        self.deliverer = Deliverer(self.database, self.clock, metrics=self.metrics)
        self.safety = Safety(Detector.build(settings.safety), settings.safety, settings.resources, self.messages)
        self.background = BackgroundTasks()
        prefixes = {Platform.MATRIX: settings.platforms.matrix.command_prefix}
        scheduling = settings.scheduling
        self.policy = SchedulingPolicy(
            reminder_offsets=tuple(scheduling.reminder_offsets),
            facilitator_notice=scheduling.facilitator_notice,
            misfire_grace=scheduling.misfire_grace,
            session_grace=scheduling.session_grace,
            monthly_cap=scheduling.facilitator_monthly_cap,
            checkin_prompts=scheduling.checkin_prompts,
            quiet_after=scheduling.quiet_after,
        )
        flow = SessionFlow(self.messages, prefixes, self.policy)
        self.scheduler = SessionScheduler(
            self.database, self.clock, flow, self.policy, self.deliverer.wake, metrics=self.metrics
        )
        self.engine = Engine(
            database=self.database,
            catalogue=build_catalogue(),
            messages=self.messages,
            clock=self.clock,
            limits=CircleLimits(settings.circles.default_capacity, settings.circles.max_capacity),
            prefixes=prefixes,
            safety=self.safety,
            scheduling=Scheduling(self.policy, flow),
            on_outbox=self.deliverer.wake,
            metrics=self.metrics,
            retention=RetentionJob(settings.privacy),
            status=self.status_lines,
        )
        self.stop_event = asyncio.Event()
        self._console_lines = console_lines
        self._console_output = console_output
        self._console_echo = console_echo
        self.adapters: list[Adapter] = []
        self._prepared = False
        self._scheduler_task: asyncio.Task[None] | None = None
        self.run_scheduler_loop = True
        """Tests that move a manual clock fire timers themselves and turn the loop off."""
        self.observability_port: int | None = None

    async def prepare(self) -> None:
        """Apply pending migrations and record the configured communities (once per application)."""
        if self._prepared:
            return
        self._prepared = True
        before, after = await upgrade(self.database)
        if before != after:
            log.info("database migrated from %s to %s", before or "empty", after)
        await sync_communities(self.database, community_specs(self.settings), self.clock)
        log.info("storage ready at %s", redact_url(self.database.url))

    def build_adapters(self) -> list[Adapter]:
        """The adapters this configuration asks for."""
        platforms = self.settings.platforms
        adapters: list[Adapter] = []
        for name, enabled in (("discord", platforms.discord.enabled), ("matrix", platforms.matrix.enabled)):
            if not enabled:
                continue
            try:
                module = importlib.import_module(f"bot.adapters.{name}")
            except ModuleNotFoundError as error:
                if error.name not in (f"bot.adapters.{name}",):
                    raise StartupError(f"the {name} adapter needs {error.name}, which is not installed") from error
                raise StartupError(
                    f"the {name} adapter is not part of this version of Peer Circles yet; "
                    f"set platforms.{name}.enabled to false, or use the console adapter"
                ) from error
            adapters.append(module.create_adapter(self))
        if self.settings.console_enabled():
            console = platforms.console
            spec = next(s for s in community_specs(self.settings) if s.ref == console_ref(console.community))
            interactive = sys.stdin.isatty() if self._console_lines is None else False
            adapters.append(
                ConsoleAdapter(
                    self.engine,
                    self.messages,
                    community=spec.ref,
                    community_name=spec.name,
                    user=console.user,
                    locale=spec.locale,
                    lines=self._console_lines if self._console_lines is not None else stdin_lines(),
                    output=self._console_output or sys.stdout,
                    echo=(not interactive) if self._console_echo is None else self._console_echo,
                    deliverer=self.deliverer,
                )
            )
        if not adapters:
            raise StartupError("no platform is enabled: enable discord, matrix or the console in platforms")
        return adapters

    def request_stop(self) -> None:
        """Ask every adapter to finish the event in hand and return."""
        self.stop_event.set()

    def _install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            # Not available off Unix or outside the main thread; there the default handlers stay.
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, self.request_stop)

    async def run(self) -> int:
        """Start everything, serve until stopped, close the database. Returns the process exit status."""
        try:
            self.adapters = self.build_adapters()
            await self.prepare()
            self._install_signal_handlers()
            return await self._serve()
        finally:
            await self.database.close()

    async def _tick(self, every: float = 30.0) -> None:
        while not self.stop_event.is_set():
            try:
                await self.engine.tick()
            except Exception:
                log.exception("periodic duties failed; will try again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop_event.wait(), timeout=every)

    async def health(self) -> dict[str, bool]:
        """Each part's readiness, for /healthz: storage answers, the scheduler runs, every adapter is connected."""
        parts: dict[str, bool] = {}
        try:
            async with self.database.transaction() as session:
                await session.execute(text("SELECT 1"))
            parts["storage"] = True
        except Exception:
            parts["storage"] = False
        scheduler = self._scheduler_task
        parts["scheduler"] = scheduler is not None and not scheduler.done()
        for adapter in self.adapters:
            parts[f"adapter:{adapter.platform.value}"] = adapter.ready
        return parts

    async def status_lines(self) -> list[str]:
        """The live parts' state for ``admin status``: each adapter (ready or its last error, Discord's message
        content intent, Matrix encryption) and the scheduler task. Never a token or message text."""
        platforms = self.settings.platforms
        lines: list[str] = []
        for adapter in self.adapters:
            platform = adapter.platform
            error = getattr(adapter, "last_error", None)
            lines.append(
                adapter_line(
                    platform.value,
                    adapter.ready,
                    error=error if isinstance(error, str) else None,
                    intent=platforms.discord.message_content_intent if platform is Platform.DISCORD else None,
                    encryption=platforms.matrix.encryption if platform is Platform.MATRIX else None,
                    notes=getattr(adapter, "status_notes", ()),
                )
            )
        scheduler = self._scheduler_task
        lines.append(scheduler_line(scheduler is not None and not scheduler.done()))
        return lines

    async def _serve(self) -> int:
        self.background.start(self.deliverer.run(self.stop_event), "outbox")
        self.background.start(self._tick(), "periodic")
        if self.run_scheduler_loop:
            self._scheduler_task = self.background.start(run_scheduler(self.scheduler, self.stop_event), "scheduler")
        observability = self.settings.observability
        server = (
            ObservabilityServer(self.metrics, self.health, observability.host, observability.port)
            if observability.enabled
            else None
        )
        try:
            if server is not None:
                self.observability_port = await server.start()
            return await self._run_adapters()
        finally:
            self.request_stop()
            if server is not None:
                await server.stop()
            await self.background.wait(grace=10)

    async def _run_adapters(self) -> int:
        tasks = {
            asyncio.create_task(adapter.run(self.stop_event), name=adapter.platform.value): adapter
            for adapter in self.adapters
        }
        status = 0
        pending = set(tasks)
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            # When one adapter ends (the console's input ran out, or a platform failed), the whole bot stops.
            self.request_stop()
            for task in done:
                error = task.exception()
                if isinstance(error, PlatformCredentialsError):
                    log.error("%s refused the bot's credentials: %s", tasks[task].platform.value, error)
                    status = EXIT_CREDENTIALS
                elif isinstance(error, PlatformError):
                    # The platform's own words are enough: a traceback would bury them for an operator.
                    log.error("%s could not be reached, so the bot stopped: %s", tasks[task].platform.value, error)
                    status = status or 1
                elif error is not None:
                    log.error("%s adapter stopped", tasks[task].platform.value, exc_info=error)
                    status = status or 1
        return status
