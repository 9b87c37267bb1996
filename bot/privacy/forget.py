"""``me forget``: the pending confirmations, and deleting one member everywhere according to the registry."""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.privacy.registry import POLICIES
from bot.storage.models import Circle, CircleStatus, Member, Membership, MembershipStatus

__all__ = ["CONFIRM_WITHIN", "ForgetResult", "PendingForgets", "forget_member", "pending_for"]

CONFIRM_WITHIN = timedelta(minutes=10)
"""How long a ``me forget`` request waits for ``me forget confirm``."""


class PendingForgets:
    """Requests to be forgotten awaiting confirmation, in memory, keyed by platform and member id, timed by the
    injected clock. A restart forgets them, which is the safe direction: the person simply asks again."""

    def __init__(self, within: timedelta = CONFIRM_WITHIN) -> None:
        self.within = within
        self._asked: dict[tuple[str, str], datetime] = {}

    def ask(self, platform: str, native_id: str, now: datetime) -> None:
        """Record a request (a repeated request restarts the wait)."""
        self._drop_expired(now)
        self._asked[(platform, native_id)] = now

    def take(self, platform: str, native_id: str, now: datetime) -> str:
        """``"confirmed"`` (and the request is used up), ``"expired"`` or ``"none"``."""
        asked = self._asked.pop((platform, native_id), None)
        self._drop_expired(now)
        if asked is None:
            return "none"
        return "confirmed" if now - asked <= self.within else "expired"

    def _drop_expired(self, now: datetime) -> None:
        # Kept a little past expiry so a late confirmation is told it expired rather than that nothing was asked.
        stale = [key for key, at in self._asked.items() if now - at > 2 * self.within]
        for key in stale:
            del self._asked[key]


_PENDING: weakref.WeakKeyDictionary[object, PendingForgets] = weakref.WeakKeyDictionary()


def pending_for(owner: object) -> PendingForgets:
    """The pending requests of one database engine (so two bots or two tests never share them)."""
    found = _PENDING.get(owner)
    if found is None:
        found = _PENDING[owner] = PendingForgets()
    return found


@dataclass(frozen=True, slots=True)
class ForgetResult:
    """What forgetting did: rows touched per table, and the active circles where the member gave up a seat."""

    counts: dict[str, int]
    freed_seats: list[Circle]

    @property
    def total(self) -> int:
        """Rows deleted or anonymised in all."""
        return sum(self.counts.values())


async def forget_member(session: AsyncSession, member: Member) -> ForgetResult:
    """Delete or anonymise everything about ``member`` in every table, in the caller's transaction; the member row
    goes last. Returns the active circles whose seat they held, so the caller can promote from the waitlist."""
    seats = await session.execute(
        select(Circle)
        .join(Membership, Membership.circle_id == Circle.id)
        .where(
            Membership.member_id == member.id,
            Membership.status == MembershipStatus.ACTIVE,
            Circle.status == CircleStatus.ACTIVE,
        )
        .order_by(Circle.id)
        .with_for_update(of=Circle)
    )
    freed = list(seats.scalars())
    counts: dict[str, int] = {}
    for policy in POLICIES:
        if policy.forget is not None:
            counts[policy.table] = await policy.forget(session, member)
    await session.flush()
    return ForgetResult(counts, freed)
