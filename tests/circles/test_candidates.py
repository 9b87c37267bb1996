"""The rotation's candidates, read from the database: trained volunteers who hold a seat in the circle. Someone who
left it, waits for a seat, or deleted their data is not among them, however fair it would be to choose them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.circles.facilitation import candidates, choose_for
from bot.clock import ManualClock
from bot.privacy.forget import forget_member
from bot.storage import Database
from bot.storage.models import Member, MembershipStatus
from bot.storage.schedule_models import Facilitator
from tests.storage.factories import add_circle, add_community, add_member, add_membership

NOW = datetime(2026, 3, 16, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


async def test_only_seated_members_are_candidates(database: Database, clock: ManualClock) -> None:
    async with database.transaction() as session:
        community = await add_community(session, clock)
        circle = await add_circle(session, clock, community, "Evening circle")
        # Created first, so the fairness order (fewest led, least recently, then id) would pick them first.
        left, waiting, forgotten, seated = [
            await add_member(session, clock, name) for name in ("left", "waiting", "forgotten", "seated")
        ]
        await add_membership(session, circle, waiting, queued_at=NOW, status=MembershipStatus.WAITLISTED)
        await add_membership(session, circle, forgotten, queued_at=NOW)
        await add_membership(session, circle, seated, queued_at=NOW)
        # ``left`` had a seat once: their facilitator standing stays for coming back, their seat does not.
        for member in (left, waiting, forgotten, seated):
            session.add(
                Facilitator(circle_id=circle.id, member_id=member.id, trained=True, volunteering=True, updated_at=NOW)
            )
        await session.flush()
        gone = await session.get(Member, forgotten.id)
        assert gone is not None
        await forget_member(session, gone)
    async with database.transaction() as session:
        found = await candidates(session, circle.id, NOW)
        assert [candidate.member_id for candidate in found] == [seated.id]
        choice = await choose_for(session, circle.id, NOW + timedelta(days=1), NOW, None)
        assert (choice.primary, choice.backup) == (seated.id, None)
        assert set(choice.skipped) == set()
