"""The last seat: the row lock from ``find_circle(for_update=True)`` must stop two joins both seating."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.circles import service
from bot.clock import ManualClock
from bot.storage import Database
from bot.storage.models import Member, Membership, MembershipStatus
from tests.storage.factories import add_circle, add_community, add_member, add_membership

CAPACITY = 2
JOINERS = 6  # each holds a PostgreSQL connection while it waits for the lock; the pool has ten


async def setup_circle(database: Database, clock: ManualClock, joiners: int) -> tuple[int, list[int]]:
    """ "Evening circle" with one seat left, an empty "Other" circle, and ``joiners`` people who want in."""
    async with database.transaction() as session:
        community = await add_community(session, clock)
        circle = await add_circle(session, clock, community, "Evening circle", capacity=CAPACITY)
        await add_circle(session, clock, community, "Other", capacity=CAPACITY)
        seated = await add_member(session, clock, "already-seated")
        await add_membership(session, circle, seated, queued_at=clock.now())
        people = [await add_member(session, clock, f"joiner-{index}") for index in range(joiners)]
        return community.id, [person.id for person in people]


async def join_steps(session: AsyncSession, community_id: int, member_id: int, clock: ManualClock) -> str:
    """The join logic in miniature: lock the circle, count the seats, take one if free, else wait."""
    circle = await service.find_circle(
        session, community_id, "evening circle", member_id, privileged=False, for_update=True
    )
    counted = await service.counts(session, circle.id)
    status = MembershipStatus.ACTIVE if counted.active < circle.capacity else MembershipStatus.WAITLISTED
    await add_membership(
        session, circle, await session.get_one(Member, member_id), queued_at=clock.now(), status=status
    )
    return status


async def join(database: Database, community_id: int, member_id: int, clock: ManualClock) -> str:
    async with database.transaction() as session:
        return await join_steps(session, community_id, member_id, clock)


async def tally(database: Database) -> dict[str, int]:
    async with database.transaction() as session:
        rows = await session.execute(select(Membership.status, func.count()).group_by(Membership.status))
        return dict(rows.all())


async def test_concurrent_joins_never_overfill(database: Database, clock: ManualClock) -> None:
    """On PostgreSQL the joins run at once and the lock orders them; SQLite's one connection takes turns."""
    community_id, people = await setup_circle(database, clock, JOINERS)

    async with asyncio.timeout(30):
        outcomes = await asyncio.gather(*(join(database, community_id, person, clock) for person in people))

    assert outcomes.count(MembershipStatus.ACTIVE) == CAPACITY - 1
    assert await tally(database) == {
        MembershipStatus.ACTIVE: CAPACITY,
        MembershipStatus.WAITLISTED: JOINERS - 1,
    }


async def backends_waiting_on_locks(database: Database) -> int:
    async with database.engine.connect() as connection:
        waiting = await connection.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    return int(waiting or 0)


async def test_a_second_join_waits_for_the_first_to_commit(database: Database, clock: ManualClock) -> None:
    """Forced interleaving: the second join must block on the lock until the first has taken the seat."""
    if database.dialect != "postgresql":
        pytest.skip("SQLite ignores FOR UPDATE; its single pooled connection already runs units of work in turn")
    community_id, (first, second) = await setup_circle(database, clock, 2)

    async with asyncio.timeout(30):
        async with database.transaction() as session:
            circle = await service.find_circle(
                session, community_id, "Evening circle", first, privileged=False, for_update=True
            )
            rival = asyncio.create_task(join(database, community_id, second, clock))
            while await backends_waiting_on_locks(database) == 0:
                assert not rival.done(), f"the second join did not wait for the lock: {rival.result()!r}"
            counted = await service.counts(session, circle.id)
            assert counted.active < circle.capacity
            await add_membership(session, circle, await session.get_one(Member, first), queued_at=clock.now())
        assert await rival == MembershipStatus.WAITLISTED

    assert await tally(database) == {MembershipStatus.ACTIVE: CAPACITY, MembershipStatus.WAITLISTED: 1}


async def test_the_lock_is_on_the_found_circle_only(database: Database, clock: ManualClock) -> None:
    """Locking one circle does not hold up a join elsewhere (no table lock)."""
    if database.dialect != "postgresql":
        pytest.skip("SQLite has one pooled connection: a second unit of work always waits for the first")
    community_id, (first, second) = await setup_circle(database, clock, 2)

    async with asyncio.timeout(30), database.transaction() as session:
        await service.find_circle(session, community_id, "Evening circle", first, privileged=False, for_update=True)
        async with database.transaction() as elsewhere:
            found = await service.find_circle(
                elsewhere, community_id, "Other", second, privileged=False, for_update=True
            )
            assert found.name == "Other"
