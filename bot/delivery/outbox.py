"""Writing to the outbox, inside the unit of work that decided to send."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.model import Platform
from bot.storage.models import Community, OutboxItem, OutboxStatus

__all__ = ["Delivery", "enqueue", "enqueue_to_moderators"]

Kind = Literal["dm", "room", "close"]
"""``dm``: a direct message to a person; ``room``: a post in a room; ``close``: a last post in a session's space,
which is then closed (archived and locked on Discord, read-only on Matrix), for a session closed by the schedule."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One outbox item as an adapter's sender sees it."""

    key: str
    """Idempotency key: the same key is never shown twice by a platform that supports it."""
    platform: Platform
    kind: Kind
    target: str
    text: str
    ping: str | None = None
    escalation_id: int | None = None


async def enqueue(
    session: AsyncSession,
    *,
    key: str,
    community_id: int,
    platform: Platform,
    kind: Kind,
    target: str,
    text: str,
    now: datetime,
    due_at: datetime | None = None,
    escalation_id: int | None = None,
    member_id: int | None = None,
    fallback: str | None = None,
    ping: str | None = None,
) -> bool:
    """Add an item unless one with the same key exists (a retried decision must not send twice).

    Returns whether the item was added.
    """
    existing = await session.scalar(select(OutboxItem.id).where(OutboxItem.key == key))
    if existing is not None:
        return False
    session.add(
        OutboxItem(
            key=key,
            community_id=community_id,
            platform=platform.value,
            kind=kind,
            target=target,
            text=text,
            escalation_id=escalation_id,
            member_id=member_id,
            fallback=fallback,
            ping=ping,
            status=OutboxStatus.PENDING,
            attempts=0,
            due_at=due_at or now,
            created_at=now,
        )
    )
    return True


async def enqueue_to_moderators(
    session: AsyncSession,
    community: Community,
    *,
    key: str,
    text: str,
    now: datetime,
    escalation_id: int | None = None,
    ping: str | None = None,
    use_fallback: bool = True,
) -> bool:
    """Queue ``text`` for the community's moderators' room (and its fallback when that keeps failing).

    Returns ``False`` when the community has no moderators' room, so the caller can say so.
    """
    if not community.moderator_room:
        return False
    await enqueue(
        session,
        key=key,
        community_id=community.id,
        platform=Platform(community.platform),
        kind="room",
        target=community.moderator_room,
        text=text,
        now=now,
        escalation_id=escalation_id,
        fallback=community.fallback_room if use_fallback else None,
        ping=ping,
    )
    return True
