"""Members: found or created on first contact, holding only their own preferences."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.model import UserRef
from bot.storage.models import Member
from bot.storage.upsert import insert_ignore

__all__ = ["ensure_member", "find_member"]


async def find_member(session: AsyncSession, user: UserRef) -> Member | None:
    """The stored member for ``user``, if they have used the bot before."""
    result = await session.execute(
        select(Member).where(Member.platform == user.platform.value, Member.native_id == user.native_id)
    )
    return result.scalar_one_or_none()


async def ensure_member(session: AsyncSession, user: UserRef, clock: Clock) -> Member:
    """The stored member for ``user``, created if new."""
    member = await find_member(session, user)
    if member is None:
        await insert_ignore(
            session,
            Member,
            {"platform": user.platform.value, "native_id": user.native_id, "created_at": clock.now()},
        )
        member = await find_member(session, user)
        assert member is not None  # just inserted, or inserted by a concurrent unit of work
    return member
