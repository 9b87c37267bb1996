"""``admin status``: the state of the running bot for one community, from the database and the application.

The application describes its live parts (adapters, the scheduler task) through a status callable that returns
lines built with :func:`adapter_line` and :func:`scheduler_line`; :func:`render_line` translates them. Everything
else is read from the database here. Nothing shown holds message text or a secret.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Catalogue
from bot.safety.escalation import Safety
from bot.safety.resources import pick
from bot.storage.models import Circle, CircleStatus, Community, OutboxItem, OutboxStatus
from bot.storage.schedule_models import CircleSchedule, CircleSession, Facilitator, Timer, TimerStatus

__all__ = [
    "DeliveryState",
    "Problem",
    "SchedulerState",
    "adapter_line",
    "delivery_state",
    "problems",
    "render_line",
    "scheduler_line",
    "scheduler_state",
]

ERROR_LIMIT: Final = 120
NOTES: Final = frozenset({"events=forbidden"})
"""Notes an adapter may add to its line, each shown as ``admin.status.{name}_{value}``: ``events=forbidden``, the
Discord server refuses the bot the Manage Events permission its scheduled events need."""
_SECRETS: Final = re.compile(r"(?i)(access_token|token|authorization|password|secret)([=: ]+)\S+")


def _scrub(error: str) -> str:
    """An adapter's last error, safe to show: secrets blanked, one line, clipped."""
    text = _SECRETS.sub(r"\1\2…", " ".join(error.split()))
    return text if len(text) <= ERROR_LIMIT else text[: ERROR_LIMIT - 1] + "…"


def adapter_line(
    platform: str,
    ready: bool,
    *,
    error: str | None = None,
    intent: bool | None = None,
    encryption: bool | None = None,
    notes: Sequence[str] = (),
) -> str:
    """One adapter's state as a status line: ``adapter discord ready intent=on``. ``notes`` are further
    ``name=value`` words an adapter reports (see :data:`NOTES`)."""
    parts = ["adapter", platform, "ready" if ready else "down"]
    if intent is not None:
        parts.append(f"intent={'on' if intent else 'off'}")
    if encryption is not None:
        parts.append(f"encryption={'on' if encryption else 'off'}")
    parts.extend(note for note in notes if note in NOTES)
    if error:
        parts.append(f"error={_scrub(error)}")
    return " ".join(parts)


def scheduler_line(running: bool) -> str:
    """The scheduler task's state as a status line."""
    return f"scheduler {'running' if running else 'stopped'}"


def render_line(messages: Catalogue, locale: str, line: str) -> str:
    """A status line in the reader's language; a line of another shape is shown as it is."""
    words = line.split(" ")
    if words[:1] == ["scheduler"] and len(words) == 2 and words[1] in ("running", "stopped"):
        return messages.t(locale, f"admin.status.scheduler_{words[1]}")
    if words[:1] != ["adapter"] or len(words) < 3 or words[2] not in ("ready", "down"):
        return line
    platform, state = words[1], words[2]
    notes: list[str] = []
    rest = " ".join(words[3:])
    error = None
    if "error=" in rest:
        rest, _, error = rest.partition("error=")
    for word in rest.split():
        name, _, value = word.partition("=")
        if (name in ("intent", "encryption") and value in ("on", "off")) or word in NOTES:
            notes.append(messages.t(locale, f"admin.status.{name}_{value}"))
    if error:
        notes.append(messages.t(locale, "admin.status.last_error", error=_scrub(error.strip())))
    return messages.t(
        locale,
        f"admin.status.adapter_{state}",
        platform=platform,
        notes=(" · " + " · ".join(notes)) if notes else "",
    )


@dataclass(frozen=True, slots=True)
class SchedulerState:
    """The community's pending timers and the earliest one."""

    pending: int
    next_due: datetime | None


@dataclass(frozen=True, slots=True)
class DeliveryState:
    """The community's outbox: what waits, for how long, and what failed in the last day."""

    pending: int
    alerts_pending: int
    oldest_age: timedelta | None
    failed_day: int


async def scheduler_state(session: AsyncSession, community_id: int) -> SchedulerState:
    """Pending timers for the community's circles and sessions."""
    circles = select(Circle.id).where(Circle.community_id == community_id)
    sessions = select(CircleSession.id).where(CircleSession.circle_id.in_(circles))
    where = (
        Timer.status == TimerStatus.PENDING,
        or_(Timer.circle_id.in_(circles), Timer.session_id.in_(sessions)),
    )
    row = (await session.execute(select(func.count(Timer.id), func.min(Timer.due_at)).where(*where))).one()
    return SchedulerState(int(row[0]), row[1])


async def delivery_state(session: AsyncSession, community_id: int, now: datetime) -> DeliveryState:
    """The community's outbox as counts and ages (never the text)."""
    pending_where = (OutboxItem.community_id == community_id, OutboxItem.status == OutboxStatus.PENDING)
    pending, oldest = (
        await session.execute(select(func.count(OutboxItem.id), func.min(OutboxItem.created_at)).where(*pending_where))
    ).one()
    alerts = await session.scalar(
        select(func.count(OutboxItem.id)).where(*pending_where, OutboxItem.escalation_id.is_not(None))
    )
    failed = await session.scalar(
        select(func.count(OutboxItem.id)).where(
            OutboxItem.community_id == community_id,
            OutboxItem.status == OutboxStatus.FAILED,
            OutboxItem.created_at >= now - timedelta(days=1),
        )
    )
    oldest_at: datetime | None = oldest
    if oldest_at is not None and oldest_at.tzinfo is None:  # an aggregate skips the column type on SQLite
        oldest_at = oldest_at.replace(tzinfo=now.tzinfo)
    return DeliveryState(
        int(pending),
        int(alerts or 0),
        None if oldest_at is None else max(now - oldest_at, timedelta(0)),
        int(failed or 0),
    )


@dataclass(frozen=True, slots=True)
class Problem:
    """Something misconfigured: a catalogue key and its parameters."""

    key: str
    params: dict[str, object]


async def problems(session: AsyncSession, community: Community, safety: Safety | None, prefix: str) -> list[Problem]:
    """What is misconfigured for the community, most serious first."""
    found: list[Problem] = []
    if not community.moderator_room:
        found.append(Problem("admin.problem.no_moderators", {"command": f"{prefix}admin set moderators"}))
    if safety is not None and not pick(
        safety.resources, country=community.country, language=community.locale, topic="crisis"
    ):
        found.append(
            Problem(
                "admin.problem.no_resources",
                {"country": community.country or "-", "language": community.locale},
            )
        )
    trained = select(Facilitator.circle_id).where(Facilitator.trained.is_(True))
    unstaffed = await session.scalars(
        select(Circle.name)
        .join(CircleSchedule, CircleSchedule.circle_id == Circle.id)
        .where(
            Circle.community_id == community.id,
            Circle.status == CircleStatus.ACTIVE,
            Circle.id.not_in(trained),
        )
        .order_by(Circle.name)
    )
    found.extend(Problem("admin.problem.no_facilitator", {"circle": name}) for name in unstaffed)
    return found
