"""Rows for storage tests, written straight through the ORM with the injected clock's time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.circles.names import name_key
from bot.clock import Clock
from bot.storage.models import (
    Circle,
    CircleStatus,
    Community,
    Member,
    Membership,
    MembershipStatus,
    Visibility,
)


async def add_community(
    session: AsyncSession, clock: Clock, slug: str = "home", platform: str = "console"
) -> Community:
    """A community whose native id is its slug."""
    community = Community(platform=platform, native_id=slug, slug=slug, name=slug.title(), created_at=clock.now())
    session.add(community)
    await session.flush()
    return community


async def add_member(session: AsyncSession, clock: Clock, native_id: str, platform: str = "console") -> Member:
    """A member on ``platform``."""
    member = Member(platform=platform, native_id=native_id, created_at=clock.now())
    session.add(member)
    await session.flush()
    return member


async def add_circle(
    session: AsyncSession,
    clock: Clock,
    community: Community,
    name: str,
    *,
    capacity: int = 8,
    visibility: str = Visibility.PUBLIC,
    status: str = CircleStatus.ACTIVE,
    created_by: Member | None = None,
) -> Circle:
    """A circle whose ``name_key`` is folded the way the engine folds it."""
    circle = Circle(
        community_id=community.id,
        name=name,
        name_key=name_key(name),
        capacity=capacity,
        visibility=visibility,
        status=status,
        created_by=None if created_by is None else created_by.id,
        created_at=clock.now(),
    )
    session.add(circle)
    await session.flush()
    return circle


async def add_membership(
    session: AsyncSession,
    circle: Circle,
    member: Member,
    *,
    queued_at: datetime,
    status: str = MembershipStatus.ACTIVE,
) -> Membership:
    """A seat (joined when queued) or a waitlist place."""
    membership = Membership(
        circle_id=circle.id,
        member_id=member.id,
        status=status,
        queued_at=queued_at,
        joined_at=queued_at if status == MembershipStatus.ACTIVE else None,
    )
    session.add(membership)
    await session.flush()
    return membership
