"""The engine: turns a command invocation into actions, checking roles, in one unit of work per command.

The engine never imports a platform library. Adapters hand it :class:`~bot.model.CommandInvocation` objects (or
command text to parse) and carry out the actions it returns.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.circles.planning import SchedulingPolicy
from bot.circles.session_flow import SessionFlow
from bot.clock import Clock
from bot.commands import Command, CommandCatalogue, check_args, parse_command_text
from bot.errors import UserError
from bot.i18n import Catalogue
from bot.members import ensure_member, find_member
from bot.model import (
    Action,
    CommandInvocation,
    CommunityRef,
    DirectMessage,
    IncomingMessage,
    Platform,
    Reply,
    Role,
    RoomRef,
    UserRef,
)
from bot.observability.metrics import Metrics
from bot.privacy.retention import RetentionJob
from bot.ratelimit import RateLimiter
from bot.safety.detector import Detection, Tier
from bot.safety.escalation import Report, Safety
from bot.storage import Database
from bot.storage.models import AuditEntry, Community, Member

__all__ = ["CircleLimits", "CommandContext", "Engine", "Scheduling"]

log = logging.getLogger(__name__)

# A crisis detection waits up to about a minute for storage to come back (0.5 + 1 + 2 + 4 + 8 + 16 + 16 + 16 s).
STORAGE_ATTEMPTS = 9
STORAGE_RETRY_FIRST = 0.5
STORAGE_RETRY_MAX = 16.0


@dataclass(frozen=True, slots=True)
class CircleLimits:
    """Community-wide defaults for new circles."""

    default_capacity: int = 12
    max_capacity: int = 50


@dataclass(frozen=True, slots=True)
class Scheduling:
    """The scheduling policy and the session flow, for commands that plan or run sessions."""

    policy: SchedulingPolicy
    flow: SessionFlow


@dataclass(slots=True)
class CommandContext:
    """Everything a handler needs: the invocation, the unit of work, the caller and how to speak to them."""

    invocation: CommandInvocation
    command: Command
    args: Mapping[str, object]
    session: AsyncSession
    community: Community
    member: Member
    role: Role
    locale: str
    messages: Catalogue
    catalogue: CommandCatalogue
    clock: Clock
    limits: CircleLimits
    prefix: str
    safety: Safety | None = None
    scheduling: Scheduling | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    status: Callable[[], Awaitable[list[str]]] | None = None
    """The running application's own state (adapters, scheduler) as lines, for ``admin status``."""

    def report(self) -> Report:
        """The caller as the safety service sees them, for escalations raised by a command."""
        invocation = self.invocation
        return Report(
            community=self.community,
            member=self.member,
            platform=invocation.community.platform,
            author=_author_label(invocation.author_display, invocation.author.native_id),
            event_key=f"command:{invocation.author}:{self.clock.now().isoformat()}",
            room=invocation.room.native_id if invocation.room else None,
        )

    def t(self, key: str, /, **params: object) -> str:
        """``key`` in the caller's language."""
        return self.messages.t(self.locale, key, **params)

    def reply(self, key: str, /, *, private: bool | None = None, **params: object) -> Reply:
        """A reply to the caller; private unless the command says otherwise."""
        return Reply(self.t(key, **params), private=self.command.private if private is None else private)

    def text(self, name: str) -> str:
        """A required text argument."""
        return str(self.args[name])

    def optional_text(self, name: str) -> str | None:
        """An optional text argument."""
        value = self.args.get(name)
        return None if value is None else str(value)

    def optional_int(self, name: str) -> int | None:
        """An optional whole-number argument."""
        value = self.args.get(name)
        return value if isinstance(value, int) else None

    def direct(self, member: Member, key: str, /, **params: object) -> DirectMessage:
        """A private message to ``member`` in their own language."""
        locale = self.messages.resolve_locale(member.locale, self.community.locale)
        user = UserRef(Platform(member.platform), member.native_id)
        return DirectMessage(user, self.messages.t(locale, key, **params))

    def audit(self, action: str, target: str = "", **details: object) -> None:
        """Record who did what in the audit log, in the same unit of work. Never pass message text here."""
        self.session.add(
            AuditEntry(
                community_id=self.community.id,
                actor_id=self.member.id,
                action=action,
                target=target,
                details=dict(details),
                created_at=self.clock.now(),
            )
        )


class Engine:
    """Dispatches commands: parse, check the role, run the handler in a transaction, return its actions."""

    def __init__(
        self,
        *,
        database: Database,
        catalogue: CommandCatalogue,
        messages: Catalogue,
        clock: Clock,
        limits: CircleLimits | None = None,
        prefixes: Mapping[Platform, str] | None = None,
        safety: Safety | None = None,
        scheduling: Scheduling | None = None,
        on_outbox: Callable[[], None] | None = None,
        metrics: Metrics | None = None,
        retention: RetentionJob | None = None,
        status: Callable[[], Awaitable[list[str]]] | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.database = database
        self.catalogue = catalogue
        self.messages = messages
        self.clock = clock
        self.limits = limits or CircleLimits()
        self.prefixes = dict(prefixes or {})
        self.safety = safety
        self.scheduling = scheduling or Scheduling(SchedulingPolicy(), SessionFlow(messages, self.prefixes))
        self.on_outbox = on_outbox or (lambda: None)
        self.metrics = metrics or Metrics()
        self.retention = retention or RetentionJob()
        self.status = status
        self.limiter = limiter or RateLimiter()

    async def _scan_arguments(self, ctx: CommandContext) -> bool:
        """Scan what the person wrote in their own words inside a command, as if it were a message."""
        if self.safety is None or not self.safety.settings.enabled:
            return False
        written = [
            str(ctx.args[option.name]) for option in ctx.command.options if option.free_text and option.name in ctx.args
        ]
        if not written:
            return False
        text = "\n".join(written)
        detection = self.safety.detector.scan(text)
        if detection.tier is Tier.NONE:
            return False
        await self.safety.on_detection(ctx.session, ctx.report(), detection, text, self.clock.now(), ctx.prefix)
        return True

    async def tick(self) -> int:
        """Periodic duties that do not wait for a person: re-send alerts nobody claimed. Returns how many."""
        await self.retention.run_if_due(self.database, self.clock.now())  # at most hourly; never raises
        if self.safety is None or not self.safety.settings.enabled:
            return 0
        async with self.database.transaction() as session:
            resent = await self.safety.resend_unclaimed(
                session, self.clock.now(), {platform: self.prefix(platform) for platform in Platform}
            )
        if resent:
            self.on_outbox()
        return resent

    async def handle_message(self, message: IncomingMessage) -> None:
        """Scan what a person wrote; on distress or crisis, write the replies and alerts to the outbox.

        Nothing is stored for an ordinary message. Delivery happens from the outbox, so this returns no actions.
        """
        safety = self.safety
        if safety is None or not safety.settings.enabled:
            return
        detection = safety.detector.scan(message.text)
        self.metrics.messages_scanned.inc()
        if detection.tier is Tier.NONE:
            return
        self.metrics.detections.labels(detection.tier.label).inc()
        # Storage may be briefly away (a restart, a failover): a crisis is worth waiting for, so the write is retried
        # with backoff before giving up; each attempt is one whole transaction, so a retry never doubles anything.
        delay = STORAGE_RETRY_FIRST
        for attempt in range(1, STORAGE_ATTEMPTS + 1):
            try:
                await self._record_detection(message, detection, safety)
            except DBAPIError as error:
                if attempt == STORAGE_ATTEMPTS:
                    # Never silent: the log names the event and tier (never the text); the platform may replay it.
                    log.error(
                        "could not record a %s detection for event %s after %d attempts: storage unavailable (%s)",
                        detection.tier.label,
                        message.event_id,
                        attempt,
                        type(error.orig).__name__,
                    )
                    raise
                log.warning("storage unavailable recording event %s (attempt %d); retrying", message.event_id, attempt)
                await asyncio.sleep(delay)
                delay = min(delay * 2, STORAGE_RETRY_MAX)
            except Exception:
                log.exception("could not record a %s detection for event %s", detection.tier.label, message.event_id)
                raise
            else:
                break
        self.on_outbox()

    async def _record_detection(self, message: IncomingMessage, detection: Detection, safety: Safety) -> None:
        async with self.database.transaction() as session:
            community = await _find_community(session, message.community)
            if community is None:
                log.warning("detection in unconfigured community %s; no one to alert", message.community)
                return
            member = await ensure_member(session, message.author, self.clock)
            report = Report(
                community=community,
                member=member,
                platform=message.community.platform,
                author=_author_label(message.author_display, message.author.native_id),
                event_key=f"{message.author.platform.value}:{message.event_id}",
                room=message.room.native_id if message.room else None,
                link=message.link,
            )
            await safety.on_detection(
                session, report, detection, message.text, self.clock.now(), self.prefix(message.community.platform)
            )

    def prefix(self, platform: Platform) -> str:
        """How commands are written on ``platform`` (``!`` or ``/``)."""
        return self.prefixes.get(platform, "/" if platform is Platform.DISCORD else "!")

    async def locale_for(self, community: CommunityRef, user: UserRef) -> str:
        """The language to answer ``user`` in: their own choice, else the community's, else English."""
        async with self.database.transaction() as session:
            member = await find_member(session, user)
            row = await _find_community(session, community)
        return self.messages.resolve_locale(member.locale if member else None, row.locale if row else None)

    async def handle_text(
        self,
        community: CommunityRef,
        author: UserRef,
        text: str,
        *,
        platform_role: Role = Role.MEMBER,
        room: RoomRef | None = None,
        author_display: str = "",
    ) -> list[Action]:
        """Parse command text (after the prefix) and run it. Parse errors become a private, translated reply."""
        try:
            parsed = parse_command_text(self.catalogue, text)
        except UserError as error:
            # A mistyped command is still the person's words: a crisis must never hide behind a typo.
            await self.handle_message(
                IncomingMessage(
                    community=community,
                    author=author,
                    text=text,
                    event_id=f"unparsed:{self.clock.now().isoformat()}",
                    room=room,
                    author_display=author_display,
                )
            )
            return [await self._error_reply(community, author, error)]
        invocation = CommandInvocation(
            community=community,
            author=author,
            command=parsed.command.name,
            args=parsed.args,
            room=room,
            platform_role=platform_role,
            author_display=author_display,
        )
        return await self._run(parsed.command, invocation, parsed.args)

    async def handle_command(self, invocation: CommandInvocation) -> list[Action]:
        """Run an invocation whose arguments an adapter typed (Discord options); they are checked again here."""
        command = self.catalogue.get(invocation.command)
        if command is None:
            error = UserError("error.unknown_command", command=invocation.command, hint="help")
            return [await self._error_reply(invocation.community, invocation.author, error)]
        try:
            args = check_args(command, invocation.args)
        except UserError as error:
            return [await self._error_reply(invocation.community, invocation.author, error)]
        return await self._run(command, invocation, args)

    async def _error_reply(self, community: CommunityRef, author: UserRef, error: UserError) -> Reply:
        locale = await self.locale_for(community, author)
        return Reply(self._render_error(locale, error, self.prefix(community.platform)), private=True)

    def _render_error(self, locale: str, error: UserError, prefix: str) -> str:
        params = dict(error.params)
        if "hint" in params:
            params["hint"] = f"{prefix}{params['hint']}"
        if "usage" in params:
            params["usage"] = f"{prefix}{params['usage']}"
        return self.messages.t(locale, error.key, **params)

    async def _run(self, command: Command, invocation: CommandInvocation, args: Mapping[str, object]) -> list[Action]:
        prefix = self.prefix(invocation.community.platform)
        # Asking for a human is never refused; everything else is bounded per person.
        if command.name != "support" and not self.limiter.allow(invocation.author, self.clock.now()):
            self.metrics.command_errors.labels(command.name, "rate_limited").inc()
            error = UserError("error.rate_limited", seconds=self.limiter.retry_in(invocation.author), hint="support")
            return [await self._error_reply(invocation.community, invocation.author, error)]
        locale = "en"
        try:
            async with self.database.transaction() as session:
                community = await _find_community(session, invocation.community)
                member = await ensure_member(session, invocation.author, self.clock)
                locale = self.messages.resolve_locale(member.locale, community.locale if community else None)
                if community is None:
                    raise UserError("error.community_not_configured")
                if invocation.platform_role < command.min_role:
                    raise UserError(
                        "error.not_allowed", role=self.messages.t(locale, f"role_phrase.{command.min_role.label}")
                    )
                context = CommandContext(
                    invocation=invocation,
                    command=command,
                    args=args,
                    session=session,
                    community=community,
                    member=member,
                    role=invocation.platform_role,
                    locale=locale,
                    messages=self.messages,
                    catalogue=self.catalogue,
                    clock=self.clock,
                    limits=self.limits,
                    prefix=prefix,
                    safety=self.safety,
                    scheduling=self.scheduling,
                    status=self.status,
                )
                actions = list(await command.handler(context))
                scanned = await self._scan_arguments(context)
                enqueued = scanned or bool(context.extra.get("outbox"))
        except UserError as error:
            self.metrics.command_errors.labels(command.name, "user").inc()
            return [Reply(self._render_error(locale, error, prefix), private=True)]
        except Exception:
            # One bad command must never stop dispatch; the log names the command, never its arguments.
            log.exception("command %r failed", command.name)
            self.metrics.command_errors.labels(command.name, "internal").inc()
            return [Reply(self.messages.t(locale, "error.internal"), private=True)]
        self.metrics.commands.labels(command.name).inc()
        if enqueued:
            self.on_outbox()
        return actions


def _author_label(display: str, native_id: str) -> str:
    return f"{display} ({native_id})" if display and display != native_id else native_id


async def _find_community(session: AsyncSession, ref: CommunityRef) -> Community | None:
    result = await session.execute(
        select(Community).where(Community.platform == ref.platform.value, Community.native_id == ref.native_id)
    )
    return result.scalar_one_or_none()
