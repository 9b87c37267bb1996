"""Circle data operations inside one unit of work. Handlers call these; these never speak to people."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from bot.circles.names import name_key, suggest
from bot.errors import UserError
from bot.storage.models import Circle, CircleStatus, Member, Membership, MembershipStatus, Visibility

__all__ = [
    "CircleCounts",
    "counts",
    "counts_for",
    "find_circle",
    "find_circle_by_key",
    "first_waitlisted",
    "members_of",
    "membership_of",
    "my_statuses",
    "seat",
    "visible_circles",
    "waitlist_position",
]


@dataclass(frozen=True, slots=True)
class CircleCounts:
    """Seats taken and people waiting."""

    active: int
    waiting: int


def _visible_to(member_id: int, privileged: bool) -> ColumnElement[bool]:
    if privileged:
        return true()
    mine = select(Membership.circle_id).where(Membership.member_id == member_id)
    return or_(Circle.visibility == Visibility.PUBLIC, Circle.id.in_(mine))


async def visible_circles(
    session: AsyncSession, community_id: int, member_id: int, *, privileged: bool, archived: bool = False
) -> list[Circle]:
    """Circles the member may see listed: public ones and unlisted ones they belong to (all, for moderators)."""
    statement = select(Circle).where(Circle.community_id == community_id, _visible_to(member_id, privileged))
    if not archived:
        statement = statement.where(Circle.status == CircleStatus.ACTIVE)
    result = await session.execute(statement.order_by(Circle.name_key))
    return list(result.scalars())


async def find_circle(
    session: AsyncSession,
    community_id: int,
    name: str,
    member_id: int,
    *,
    privileged: bool,
    for_update: bool = False,
) -> Circle:
    """The circle called ``name`` in the community, or a :class:`UserError` with close names to try.

    Unlisted circles are found by their exact name, but never suggested to people outside them.
    ``for_update`` locks the row (PostgreSQL) so concurrent joins cannot overfill it.
    """
    statement = select(Circle).where(Circle.community_id == community_id, Circle.name_key == name_key(name))
    if for_update:
        statement = statement.with_for_update()
    circle = (await session.execute(statement)).scalar_one_or_none()
    if circle is not None:
        return circle
    candidates = await visible_circles(session, community_id, member_id, privileged=privileged)
    close = suggest(name, [candidate.name for candidate in candidates])
    if close:
        raise UserError("circle.error.unknown_suggest", circle=name, suggestions=", ".join(close))
    raise UserError("circle.error.unknown", circle=name, hint="circle list")


async def membership_of(session: AsyncSession, circle_id: int, member_id: int) -> Membership | None:
    """The member's seat or waitlist place in the circle."""
    result = await session.execute(
        select(Membership).where(Membership.circle_id == circle_id, Membership.member_id == member_id)
    )
    return result.scalar_one_or_none()


async def counts(session: AsyncSession, circle_id: int) -> CircleCounts:
    """How many hold a seat and how many wait."""
    return (await counts_for(session, [circle_id]))[circle_id]


async def counts_for(session: AsyncSession, circle_ids: list[int]) -> dict[int, CircleCounts]:
    """Counts for many circles in one query (for listings)."""
    if not circle_ids:
        return {}
    result = await session.execute(
        select(Membership.circle_id, Membership.status, func.count())
        .where(Membership.circle_id.in_(circle_ids))
        .group_by(Membership.circle_id, Membership.status)
    )
    raw: dict[int, dict[str, int]] = {}
    for circle_id, status, number in result:
        raw.setdefault(circle_id, {})[status] = number
    return {
        circle_id: CircleCounts(
            raw.get(circle_id, {}).get(MembershipStatus.ACTIVE, 0),
            raw.get(circle_id, {}).get(MembershipStatus.WAITLISTED, 0),
        )
        for circle_id in circle_ids
    }


async def waitlist_position(session: AsyncSession, membership: Membership) -> int:
    """1 for the first in line."""
    ahead = await session.scalar(
        select(func.count()).where(
            Membership.circle_id == membership.circle_id,
            Membership.status == MembershipStatus.WAITLISTED,
            or_(
                Membership.queued_at < membership.queued_at,
                and_(Membership.queued_at == membership.queued_at, Membership.id < membership.id),
            ),
        )
    )
    return int(ahead or 0) + 1


async def first_waitlisted(session: AsyncSession, circle_id: int) -> tuple[Membership, Member] | None:
    """The person first in line, with their member record."""
    result = await session.execute(
        select(Membership, Member)
        .join(Member, Member.id == Membership.member_id)
        .where(Membership.circle_id == circle_id, Membership.status == MembershipStatus.WAITLISTED)
        .order_by(Membership.queued_at, Membership.id)
        .limit(1)
    )
    row = result.first()
    return None if row is None else (row[0], row[1])


async def members_of(session: AsyncSession, circle_id: int) -> list[tuple[Membership, Member]]:
    """Everyone seated or waiting, for notices such as an archive."""
    result = await session.execute(
        select(Membership, Member)
        .join(Member, Member.id == Membership.member_id)
        .where(Membership.circle_id == circle_id)
        .order_by(Membership.queued_at, Membership.id)
    )
    return [(membership, member) for membership, member in result]


def seat(membership: Membership, now: datetime) -> None:
    """Move a waitlisted member into a seat."""
    membership.status = MembershipStatus.ACTIVE
    membership.joined_at = now


async def find_circle_by_key(session: AsyncSession, community_id: int, key: str) -> Circle | None:
    """The circle whose folded name is ``key``, archived ones included."""
    result = await session.execute(select(Circle).where(Circle.community_id == community_id, Circle.name_key == key))
    return result.scalar_one_or_none()


async def my_statuses(session: AsyncSession, member_id: int, circle_ids: list[int]) -> dict[int, str]:
    """The member's role (``member``/``facilitator``) or ``waitlisted`` for each of the circles."""
    if not circle_ids:
        return {}
    result = await session.execute(
        select(Membership.circle_id, Membership.status, Membership.role).where(
            Membership.member_id == member_id, Membership.circle_id.in_(circle_ids)
        )
    )
    return {
        circle_id: (MembershipStatus.WAITLISTED if status == MembershipStatus.WAITLISTED else role)
        for circle_id, status, role in result
    }
