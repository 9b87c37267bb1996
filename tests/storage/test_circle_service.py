"""Circle queries on both backends: who sees what, finding by name, waitlist order, counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.circles import service
from bot.clock import ManualClock
from bot.errors import UserError
from bot.storage import Database
from bot.storage.models import Circle, CircleStatus, Community, Member, MembershipStatus, Visibility
from tests.storage.factories import add_circle, add_community, add_member, add_membership

ACTIVE_PUBLIC = ["art club", "Book club", "Evening circle"]  # listed in folded order, not byte order


@dataclass
class World:
    """One community with public, unlisted and archived circles, a second community, and three people."""

    home: Community
    away: Community
    circles: dict[str, Circle]
    outsider: Member
    insider: Member
    """Belongs to the unlisted "Secret garden" (on its waitlist) and facilitates "Evening circle"."""
    moderator: Member


@pytest.fixture
async def world(database: Database, clock: ManualClock) -> World:
    async with database.transaction() as session:
        home = await add_community(session, clock, "home")
        away = await add_community(session, clock, "away")
        circles = {name: await add_circle(session, clock, home, name) for name in ACTIVE_PUBLIC}
        circles["Secret garden"] = await add_circle(
            session, clock, home, "Secret garden", visibility=Visibility.UNLISTED
        )
        circles["Old circle"] = await add_circle(session, clock, home, "Old circle", status=CircleStatus.ARCHIVED)
        circles["Old secret"] = await add_circle(
            session, clock, home, "Old secret", visibility=Visibility.UNLISTED, status=CircleStatus.ARCHIVED
        )
        circles["away:Evening circle"] = await add_circle(session, clock, away, "Evening circle")
        outsider = await add_member(session, clock, "outsider")
        insider = await add_member(session, clock, "insider")
        moderator = await add_member(session, clock, "moderator")
        await add_membership(
            session,
            circles["Secret garden"],
            insider,
            queued_at=clock.now(),
            status=MembershipStatus.WAITLISTED,
        )
        facilitating = await add_membership(session, circles["Evening circle"], insider, queued_at=clock.now())
        facilitating.role = "facilitator"
    return World(home, away, circles, outsider, insider, moderator)


async def names_visible(session: AsyncSession, world: World, member: Member, **options: bool) -> list[str]:
    privileged = options.pop("privileged", False)
    found = await service.visible_circles(session, world.home.id, member.id, privileged=privileged, **options)
    return [circle.name for circle in found]


async def test_unlisted_circles_are_listed_only_for_their_members_and_moderators(
    database: Database, world: World
) -> None:
    async with database.transaction() as session:
        assert await names_visible(session, world, world.outsider) == ACTIVE_PUBLIC
        assert await names_visible(session, world, world.insider) == [*ACTIVE_PUBLIC, "Secret garden"]
        assert await names_visible(session, world, world.moderator, privileged=True) == [
            *ACTIVE_PUBLIC,
            "Secret garden",
        ]


async def test_archived_circles_are_listed_only_on_request(database: Database, world: World) -> None:
    async with database.transaction() as session:
        outsider = await names_visible(session, world, world.outsider, archived=True)
        moderator = await names_visible(session, world, world.moderator, privileged=True, archived=True)

    assert outsider == [*ACTIVE_PUBLIC, "Old circle"]
    assert moderator == [*ACTIVE_PUBLIC, "Old circle", "Old secret", "Secret garden"]


@pytest.mark.parametrize("typed", ["Evening circle", "  EVENING   circle ", "ｅｖｅｎｉｎｇ Circle"])
async def test_find_circle_ignores_case_spacing_and_width(database: Database, world: World, typed: str) -> None:
    async with database.transaction() as session:
        found = await service.find_circle(session, world.home.id, typed, world.outsider.id, privileged=False)

    assert found.id == world.circles["Evening circle"].id  # and not the namesake in the other community


async def test_find_circle_finds_an_unlisted_circle_by_its_exact_name(database: Database, world: World) -> None:
    async with database.transaction() as session:
        found = await service.find_circle(session, world.home.id, "secret garden", world.outsider.id, privileged=False)

    assert found.id == world.circles["Secret garden"].id


async def test_find_circle_suggests_close_names(database: Database, world: World) -> None:
    async with database.transaction() as session:
        with pytest.raises(UserError) as raised:
            await service.find_circle(session, world.home.id, "Evening circel", world.outsider.id, privileged=False)

    assert raised.value.key == "circle.error.unknown_suggest"
    assert raised.value.params["circle"] == "Evening circel"
    assert "Evening circle" in str(raised.value.params["suggestions"]).split(", ")


@pytest.mark.parametrize(("who", "privileged"), [("insider", False), ("moderator", True)])
async def test_an_unlisted_circle_is_suggested_to_those_who_may_see_it(
    database: Database, world: World, who: str, privileged: bool
) -> None:
    member: Member = getattr(world, who)
    async with database.transaction() as session:
        with pytest.raises(UserError) as raised:
            await service.find_circle(session, world.home.id, "Secret gardn", member.id, privileged=privileged)

    assert raised.value.key == "circle.error.unknown_suggest"
    assert "Secret garden" in str(raised.value.params["suggestions"])


@pytest.mark.parametrize("typed", ["Secret gardn", "secret", "Old secre", "Old circel"])
async def test_hidden_circles_are_never_suggested_to_an_outsider(database: Database, world: World, typed: str) -> None:
    async with database.transaction() as session:
        with pytest.raises(UserError) as raised:
            await service.find_circle(session, world.home.id, typed, world.outsider.id, privileged=False)

    suggested = str(raised.value.params.get("suggestions", ""))
    assert "Secret garden" not in suggested
    assert "Old secret" not in suggested
    assert "Old circle" not in suggested  # archived circles are not offered to anyone


async def test_waitlist_position_orders_by_queued_at_then_id(
    database: Database, world: World, clock: ManualClock
) -> None:
    start = clock.now()
    later, earlier = start + timedelta(minutes=5), start + timedelta(minutes=1)
    async with database.transaction() as session:
        circle, other = world.circles["Book club"], world.circles["art club"]
        people = [await add_member(session, clock, name) for name in ("seated", "last", "first", "second", "elsewhere")]
        seated, last, first, second, elsewhere = people
        await add_membership(session, circle, seated, queued_at=start)
        waiting = {
            # inserted first, so it has the lowest id, but it asked last
            "last": await add_membership(session, circle, last, queued_at=later, status=MembershipStatus.WAITLISTED),
            "first": await add_membership(
                session, circle, first, queued_at=earlier, status=MembershipStatus.WAITLISTED
            ),
            # the same instant written in another zone: a tie, broken by id
            "second": await add_membership(
                session,
                circle,
                second,
                queued_at=earlier.astimezone(ZoneInfo("Asia/Tokyo")),
                status=MembershipStatus.WAITLISTED,
            ),
        }
        await add_membership(session, other, elsewhere, queued_at=start, status=MembershipStatus.WAITLISTED)

    async with database.transaction() as session:
        positions = {name: await service.waitlist_position(session, row) for name, row in waiting.items()}
        head = await service.first_waitlisted(session, circle.id)

    assert positions == {"first": 1, "second": 2, "last": 3}
    assert head is not None
    assert (head[0].id, head[1].native_id) == (waiting["first"].id, "first")

    async with database.transaction() as session:
        membership = await session.merge(waiting["first"])
        service.seat(membership, clock.now())
    async with database.transaction() as session:
        head = await service.first_waitlisted(session, circle.id)
        assert head is not None
        assert head[1].native_id == "second"
        assert await service.waitlist_position(session, waiting["last"]) == 2


async def test_first_waitlisted_is_none_when_nobody_waits(database: Database, world: World) -> None:
    async with database.transaction() as session:
        assert await service.first_waitlisted(session, world.circles["Evening circle"].id) is None
        assert await service.first_waitlisted(session, world.circles["Secret garden"].id) is not None


async def test_counts_for_agrees_with_counts(database: Database, world: World, clock: ManualClock) -> None:
    async with database.transaction() as session:
        book = world.circles["Book club"]
        for index in range(5):
            member = await add_member(session, clock, f"reader-{index}")
            status = MembershipStatus.ACTIVE if index < 2 else MembershipStatus.WAITLISTED
            await add_membership(session, book, member, queued_at=clock.now(), status=status)
    ids = [circle.id for circle in world.circles.values()]

    async with database.transaction() as session:
        many = await service.counts_for(session, ids)
        one_by_one = {circle_id: await service.counts(session, circle_id) for circle_id in ids}
        nothing = await service.counts_for(session, [])

    assert many == one_by_one
    assert many[book.id] == service.CircleCounts(active=2, waiting=3)
    assert many[world.circles["Evening circle"].id] == service.CircleCounts(active=1, waiting=0)
    assert many[world.circles["Secret garden"].id] == service.CircleCounts(active=0, waiting=1)
    assert many[world.circles["art club"].id] == service.CircleCounts(active=0, waiting=0)
    assert nothing == {}


async def test_my_statuses_reports_role_or_waitlist(database: Database, world: World) -> None:
    ids = [circle.id for circle in world.circles.values()]
    async with database.transaction() as session:
        mine = await service.my_statuses(session, world.insider.id, ids)

    assert mine == {
        world.circles["Evening circle"].id: "facilitator",
        world.circles["Secret garden"].id: "waitlisted",
    }
