"""What Discord's scheduled events should show, and the steps that bring a published event there.

The database is the truth: each public circle's next session (planned or open) is the one occurrence it publishes.
Which Discord event stands for which occurrence is remembered in ``platform_state`` under
``discord:event:{guild}:{circle}``, as JSON holding the event id, the occurrence key (``session:{circle}:{original
start}``) and what was last sent. Comparing the two gives the steps; :func:`steps` is a pure function.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.matrix_models import PlatformState
from bot.storage.models import Circle, CircleStatus, Visibility
from bot.storage.models import Community as CommunityRow
from bot.storage.schedule_models import CircleSession, SessionStatus
from bot.storage.state_store import put_state

__all__ = [
    "Occurrence",
    "Published",
    "Step",
    "forget",
    "load_published",
    "old_status",
    "remember",
    "steps",
    "wanted",
]

STATE_PREFIX = "discord:event:"

Step = Literal["create", "edit", "start", "complete", "cancel", "forget"]
"""``create`` an event for the wanted occurrence; ``edit`` its name or times; ``start`` (active) or ``complete`` it;
``cancel`` it; ``forget`` the published event (it is over)."""


def _utc(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes; every time here is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Occurrence:
    """A circle's next session as the database has it."""

    circle_id: int
    key: str
    circle: str
    start: datetime
    end: datetime
    open: bool


@dataclass(frozen=True, slots=True)
class Published:
    """The Discord event published for a circle, as last sent."""

    event_id: int
    key: str
    circle: str
    start: datetime
    end: datetime
    active: bool

    def to_json(self) -> str:
        return json.dumps(
            {
                "event": str(self.event_id),
                "key": self.key,
                "circle": self.circle,
                "start": self.start.isoformat(),
                "end": self.end.isoformat(),
                "active": self.active,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Published:
        data = json.loads(text)
        return cls(
            event_id=int(data["event"]),
            key=str(data["key"]),
            circle=str(data["circle"]),
            start=_utc(datetime.fromisoformat(data["start"])),
            end=_utc(datetime.fromisoformat(data["end"])),
            active=bool(data["active"]),
        )

    @classmethod
    def of(cls, event_id: int, occurrence: Occurrence, *, active: bool = False) -> Published:
        return cls(event_id, occurrence.key, occurrence.circle, occurrence.start, occurrence.end, active)


def _over(published: Published, status: str | None) -> list[Step]:
    """Steps for a published occurrence that is no longer the circle's next: completed when it was held (closed, or
    already shown as happening), otherwise cancelled (cancelled, postponed, missed, or dropped by a new schedule)."""
    if published.active:
        return ["complete", "forget"]
    if status == SessionStatus.CLOSED:
        return ["start", "complete", "forget"]
    return ["cancel", "forget"]


def steps(wanted: Occurrence | None, published: Published | None, status: str | None, now: datetime) -> list[Step]:
    """The steps from ``published`` to ``wanted``; ``status`` is that of the published occurrence's session now
    (``None`` when its row is gone)."""
    result: list[Step] = []
    if published is not None and (wanted is None or wanted.key != published.key):
        result.extend(_over(published, status))
        published = None
    if wanted is None:
        return result
    if published is None:
        # Discord refuses an event that starts in the past; one that is already open is simply not published.
        if not wanted.open and wanted.start > now:
            result.append("create")
        return result
    if not published.active and (wanted.start, wanted.end, wanted.circle) != (
        published.start,
        published.end,
        published.circle,
    ):
        result.append("edit")
    if wanted.open and not published.active:
        result.append("start")
    return result


# -- the database ------------------------------------------------------------------------------------------------


def _prefix(guild_id: str) -> str:
    return f"{STATE_PREFIX}{guild_id}:"


async def wanted(session: AsyncSession, community_native_id: str, now: datetime) -> dict[int, Occurrence]:
    """Each active public circle's next session (planned or open, not yet ended) in the Discord community."""
    community_id = await session.scalar(
        select(CommunityRow.id).where(CommunityRow.platform == "discord", CommunityRow.native_id == community_native_id)
    )
    if community_id is None:
        return {}
    rows = await session.execute(
        select(CircleSession, Circle.name)
        .join(Circle, Circle.id == CircleSession.circle_id)
        .where(
            Circle.community_id == community_id,
            Circle.status == CircleStatus.ACTIVE,
            Circle.visibility == Visibility.PUBLIC,
            CircleSession.status.in_((SessionStatus.SCHEDULED, SessionStatus.OPEN)),
            CircleSession.end_at > now,
        )
        .order_by(CircleSession.start_at, CircleSession.id)
    )
    found: dict[int, Occurrence] = {}
    for row, name in rows.all():
        if row.circle_id in found:
            continue
        found[row.circle_id] = Occurrence(
            circle_id=row.circle_id,
            key=row.key,
            circle=name,
            start=_utc(row.start_at),
            end=_utc(row.end_at),
            open=row.status == SessionStatus.OPEN,
        )
    return found


async def load_published(session: AsyncSession, guild_id: str) -> dict[int, Published]:
    """The events remembered for the guild, by circle id; an unreadable entry is dropped."""
    prefix = _prefix(guild_id)
    rows = await session.execute(
        select(PlatformState.key, PlatformState.value).where(PlatformState.key.startswith(prefix, autoescape=True))
    )
    found: dict[int, Published] = {}
    for key, value in rows.all():
        try:
            found[int(key.removeprefix(prefix))] = Published.from_json(value)
        except (ValueError, KeyError, TypeError):
            continue
    return found


async def old_status(session: AsyncSession, key: str) -> str | None:
    """The status of the session with occurrence ``key`` (``None`` when it is gone)."""
    return await session.scalar(select(CircleSession.status).where(CircleSession.key == key))


async def remember(session: AsyncSession, guild_id: str, circle_id: int, published: Published, now: datetime) -> None:
    """Record the event now standing for the circle's occurrence."""
    key = f"{_prefix(guild_id)}{circle_id}"
    value = published.to_json()
    await put_state(session, key, value, now)


async def forget(session: AsyncSession, guild_id: str, circle_id: int) -> None:
    """Drop the record of the circle's event."""
    await session.execute(delete(PlatformState).where(PlatformState.key == f"{_prefix(guild_id)}{circle_id}"))
