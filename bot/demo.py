"""``peer-circles demo``: sample circles in the console community, so there is something to join."""

from __future__ import annotations

from sqlalchemy import select

from bot.circles.names import name_key
from bot.circles.service import find_circle_by_key
from bot.clock import Clock
from bot.i18n import Catalogue
from bot.model import CommunityRef
from bot.storage import Database
from bot.storage.models import Circle, CircleStatus, Community, Visibility

__all__ = ["seed_demo"]

# (catalogue key, capacity): one small circle so the waitlist can be tried with a few console users.
DEMO_CIRCLES = (("evening", 12), ("parents", 2), ("grief", 8))


async def seed_demo(database: Database, community: CommunityRef, messages: Catalogue, clock: Clock) -> int:
    """Create the sample circles that are missing; returns how many the community now has from the demo."""
    async with database.transaction() as session:
        result = await session.execute(
            select(Community.id, Community.locale).where(
                Community.platform == community.platform.value, Community.native_id == community.native_id
            )
        )
        found = result.first()
        if found is None:
            raise ValueError(f"community {community} is not in the database; prepare the application first")
        community_id, locale = found
        for key, capacity in DEMO_CIRCLES:
            name = messages.t(locale, f"demo.circles.{key}.name")
            if await find_circle_by_key(session, community_id, name_key(name)) is not None:
                continue
            session.add(
                Circle(
                    community_id=community_id,
                    name=name,
                    name_key=name_key(name),
                    topic=messages.t(locale, f"demo.circles.{key}.topic"),
                    description=messages.t(locale, f"demo.circles.{key}.description"),
                    capacity=capacity,
                    visibility=Visibility.PUBLIC,
                    status=CircleStatus.ACTIVE,
                    created_at=clock.now(),
                )
            )
    return len(DEMO_CIRCLES)
