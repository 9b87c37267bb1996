"""Read-only look-ups for autocomplete: circle names from the database, timezone names from the system."""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

from sqlalchemy import select

from bot.circles.service import visible_circles
from bot.members import find_member
from bot.model import CommunityRef, UserRef
from bot.storage import Database
from bot.storage.models import Community

__all__ = ["AUTOCOMPLETE_LIMIT", "circle_names", "timezone_names"]

AUTOCOMPLETE_LIMIT = 25
"""Discord shows at most 25 suggestions."""


def _matching(names: list[str], typed: str) -> list[str]:
    wanted = typed.strip().casefold()
    starts = [name for name in names if name.casefold().startswith(wanted)]
    contains = [name for name in names if wanted in name.casefold() and name not in starts]
    return (starts + contains)[:AUTOCOMPLETE_LIMIT]


async def circle_names(
    database: Database, community: CommunityRef, user: UserRef, typed: str, *, privileged: bool
) -> list[str]:
    """Names of circles ``user`` may see in ``community`` that match what they typed so far."""
    async with database.transaction() as session:
        row = await session.scalar(
            select(Community).where(
                Community.platform == community.platform.value, Community.native_id == community.native_id
            )
        )
        if row is None:
            return []
        member = await find_member(session, user)
        circles = await visible_circles(session, row.id, member.id if member else -1, privileged=privileged)
        names = [circle.name for circle in circles]
    return _matching(names, typed)


@cache
def _zones() -> list[str]:
    return sorted(available_timezones())


def timezone_names(typed: str) -> list[str]:
    """IANA timezone names matching what was typed (``berl`` -> ``Europe/Berlin``)."""
    return _matching(_zones(), typed)
