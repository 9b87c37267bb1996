"""What the schema itself guarantees, on both backends: uniqueness, cascades and SET NULL."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from bot.circles.names import name_key
from bot.clock import ManualClock
from bot.storage import Database
from bot.storage.models import AuditEntry, Circle, Community, Member, Membership, MembershipStatus
from tests.storage.factories import add_circle, add_community, add_member, add_membership


async def count(database: Database, model: type[Community | Member | Circle | Membership | AuditEntry]) -> int:
    async with database.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_member_is_unique_per_platform_and_native_id(database: Database, clock: ManualClock) -> None:
    async with database.transaction() as session:
        await add_member(session, clock, "1234", platform="discord")

    with pytest.raises(IntegrityError):
        async with database.transaction() as session:
            await add_member(session, clock, "1234", platform="discord")

    assert await count(database, Member) == 1


async def test_the_same_native_id_on_two_platforms_is_two_members(database: Database, clock: ManualClock) -> None:
    async with database.transaction() as session:
        discord = await add_member(session, clock, "1234", platform="discord")
        matrix = await add_member(session, clock, "1234", platform="matrix")

    assert discord.id != matrix.id
    assert await count(database, Member) == 2


async def test_a_community_is_unique_per_platform_and_native_id(database: Database, clock: ManualClock) -> None:
    async with database.transaction() as session:
        session.add(Community(platform="discord", native_id="42", slug="one", name="One", created_at=clock.now()))

    with pytest.raises(IntegrityError):
        async with database.transaction() as session:
            session.add(Community(platform="discord", native_id="42", slug="two", name="Two", created_at=clock.now()))


@pytest.mark.parametrize("second", ["Evening Circle", "  evening   circle ", "ＥＶＥＮＩＮＧ circle"])
async def test_circle_names_are_unique_per_community_by_folded_name(
    database: Database, clock: ManualClock, second: str
) -> None:
    async with database.transaction() as session:
        home = await add_community(session, clock, "home")
        await add_circle(session, clock, home, "Evening circle")

    assert name_key(second) == name_key("Evening circle")
    with pytest.raises(IntegrityError):
        async with database.transaction() as session:
            await add_circle(session, clock, home, second)

    assert await count(database, Circle) == 1


async def test_two_communities_may_each_have_a_circle_of_the_same_name(database: Database, clock: ManualClock) -> None:
    async with database.transaction() as session:
        home = await add_community(session, clock, "home")
        away = await add_community(session, clock, "away")
        await add_circle(session, clock, home, "Evening circle")
        await add_circle(session, clock, away, "Evening circle")

    assert await count(database, Circle) == 2


async def test_a_member_has_at_most_one_membership_per_circle(database: Database, clock: ManualClock) -> None:
    async with database.transaction() as session:
        home = await add_community(session, clock)
        circle = await add_circle(session, clock, home, "Evening circle")
        other = await add_circle(session, clock, home, "Morning circle")
        member = await add_member(session, clock, "ana")
        await add_membership(session, circle, member, queued_at=clock.now())
        await add_membership(session, other, member, queued_at=clock.now())  # another circle is fine

    with pytest.raises(IntegrityError):
        async with database.transaction() as session:
            await add_membership(session, circle, member, queued_at=clock.now(), status=MembershipStatus.WAITLISTED)

    assert await count(database, Membership) == 2


async def test_deleting_a_member_removes_their_memberships_and_keeps_what_they_made(
    database: Database, clock: ManualClock
) -> None:
    async with database.transaction() as session:
        home = await add_community(session, clock)
        leaver = await add_member(session, clock, "leaver")
        stayer = await add_member(session, clock, "stayer")
        circle = await add_circle(session, clock, home, "Evening circle", created_by=leaver)
        await add_membership(session, circle, leaver, queued_at=clock.now())
        await add_membership(session, circle, stayer, queued_at=clock.now())
        session.add(
            AuditEntry(community_id=home.id, actor_id=leaver.id, action="circle.create", created_at=clock.now())
        )
        leaver_id, stayer_id, circle_id = leaver.id, stayer.id, circle.id

    async with database.transaction() as session:
        await session.execute(delete(Member).where(Member.id == leaver_id))

    async with database.transaction() as session:
        members = (await session.scalars(select(Membership.member_id))).all()
        kept = await session.get(Circle, circle_id)
        audit = (await session.scalars(select(AuditEntry))).all()

    assert members == [stayer_id]
    assert kept is not None
    assert kept.created_by is None
    assert [(entry.action, entry.actor_id) for entry in audit] == [("circle.create", None)]


async def test_deleting_a_community_removes_its_circles_memberships_and_audit(
    database: Database, clock: ManualClock
) -> None:
    async with database.transaction() as session:
        home = await add_community(session, clock, "home")
        away = await add_community(session, clock, "away")
        member = await add_member(session, clock, "ana")
        for community in (home, away):
            circle = await add_circle(session, clock, community, "Evening circle")
            await add_membership(session, circle, member, queued_at=clock.now())
            session.add(AuditEntry(community_id=community.id, action="circle.create", created_at=clock.now()))
        home_id, away_id = home.id, away.id

    async with database.transaction() as session:
        await session.execute(delete(Community).where(Community.id == home_id))

    async with database.transaction() as session:
        circles = (await session.scalars(select(Circle.community_id))).all()
        memberships = (await session.scalars(select(Membership.circle_id))).all()
        audit = (await session.scalars(select(AuditEntry.community_id))).all()
        remaining_circle = await session.scalar(select(Circle.id))

    assert circles == [away_id]
    assert memberships == [remaining_circle]
    assert audit == [away_id]
    assert await count(database, Member) == 1  # people outlive the community


async def test_an_orm_delete_of_a_community_leaves_circle_removal_to_the_database(
    database: Database, clock: ManualClock
) -> None:
    """``passive_deletes`` on Community.circles: deleting the object must not try to null ``community_id``."""
    async with database.transaction() as session:
        home = await add_community(session, clock)
        await add_circle(session, clock, home, "Evening circle")
        home_id = home.id

    async with database.transaction() as session:
        community = await session.get(Community, home_id)
        assert community is not None
        await session.delete(community)

    assert await count(database, Circle) == 0
    assert await count(database, Community) == 0
