"""sync_communities: configured communities are created, then updated in place, never duplicated."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.communities import CommunitySpec, sync_communities
from bot.model import CommunityRef, Platform
from bot.storage import Database
from bot.storage.models import Community

GUILD = CommunityRef(Platform.DISCORD, "900000000000000001")
SPACE = CommunityRef(Platform.MATRIX, "!space:example.org")
PEERS = CommunitySpec("peers", GUILD, "Peer support", "en", "Europe/London", "GB")
SALAM = CommunitySpec("salam", SPACE, "Salam circle", "ar", "Asia/Amman", None)
PEERS_SHAPE = ("discord", GUILD.native_id, "peers", "Peer support", "en", "Europe/London", "GB")


async def stored(database: Database) -> list[Community]:
    async with database.transaction() as session:
        return list(await session.scalars(select(Community).order_by(Community.id)))


def shape(community: Community) -> tuple[str, str, str, str, str, str, str | None]:
    return (
        community.platform,
        community.native_id,
        community.slug,
        community.name,
        community.locale,
        community.timezone,
        community.country,
    )


async def test_creates_each_configured_community(database: Database, clock: ManualClock) -> None:
    await sync_communities(database, [PEERS, SALAM], clock)

    rows = await stored(database)
    assert [shape(row) for row in rows] == [
        PEERS_SHAPE,
        ("matrix", SPACE.native_id, "salam", "Salam circle", "ar", "Asia/Amman", None),
    ]
    assert all(row.created_at == clock.now() for row in rows)


async def test_a_second_sync_updates_in_place(database: Database, clock: ManualClock) -> None:
    await sync_communities(database, [PEERS, SALAM], clock)
    first = {row.slug: row for row in await stored(database)}
    created = clock.now()
    clock.advance(timedelta(days=1))

    renamed = replace(PEERS, name="Peer support (renamed)", locale="ar", timezone="UTC", country=None)
    await sync_communities(database, [renamed, SALAM], clock)

    rows = {row.slug: row for row in await stored(database)}
    assert rows.keys() == {"peers", "salam"}
    assert rows["peers"].id == first["peers"].id
    assert shape(rows["peers"]) == (
        "discord",
        GUILD.native_id,
        "peers",
        "Peer support (renamed)",
        "ar",
        "UTC",
        None,
    )
    assert rows["peers"].created_at == created
    assert shape(rows["salam"]) == shape(first["salam"])


async def test_a_changed_slug_for_the_same_place_keeps_the_row(database: Database, clock: ManualClock) -> None:
    await sync_communities(database, [PEERS], clock)
    before = await stored(database)

    await sync_communities(database, [replace(PEERS, slug="peer-support")], clock)

    after = await stored(database)
    assert [(row.id, row.slug) for row in after] == [(before[0].id, "peer-support")]


async def test_communities_no_longer_configured_are_kept(database: Database, clock: ManualClock) -> None:
    await sync_communities(database, [PEERS, SALAM], clock)

    await sync_communities(database, [SALAM], clock)

    assert [row.slug for row in await stored(database)] == ["peers", "salam"]


async def test_a_slug_given_to_another_place_moves_and_the_old_community_keeps_its_data(
    database: Database, clock: ManualClock
) -> None:
    """The config is the truth for slugs: the old place keeps its row (and circles) under a temporary slug."""
    await sync_communities(database, [PEERS], clock)
    old_id = (await stored(database))[0].id

    await sync_communities(database, [replace(SALAM, slug="peers")], clock)

    rows = {row.native_id: row for row in await stored(database)}
    assert rows[PEERS.ref.native_id].id == old_id
    assert rows[PEERS.ref.native_id].slug == f"~moved-{old_id}"
    assert rows[SALAM.ref.native_id].slug == "peers"


async def test_one_slug_for_two_places_in_one_sync_writes_nothing(database: Database, clock: ManualClock) -> None:
    with pytest.raises(ValueError, match="already uses that id"):
        await sync_communities(database, [PEERS, replace(SALAM, slug="peers")], clock)

    assert await stored(database) == []


async def test_two_slugs_for_one_place_leave_one_community_named_by_the_last(
    database: Database, clock: ManualClock
) -> None:
    """Config validation rejects this; storage itself keeps a single row and the later spec wins."""
    await sync_communities(database, [PEERS, replace(PEERS, slug="peers-two", name="Second")], clock)

    rows = await stored(database)
    assert [(row.platform, row.native_id, row.slug, row.name) for row in rows] == [
        ("discord", GUILD.native_id, "peers-two", "Second")
    ]


async def test_two_communities_may_swap_slugs(database: Database, clock: ManualClock) -> None:
    await sync_communities(database, [PEERS, SALAM], clock)
    ids = {row.native_id: row.id for row in await stored(database)}

    await sync_communities(database, [replace(PEERS, slug="salam"), replace(SALAM, slug="peers")], clock)

    assert {row.native_id: (row.id, row.slug) for row in await stored(database)} == {
        GUILD.native_id: (ids[GUILD.native_id], "salam"),
        SPACE.native_id: (ids[SPACE.native_id], "peers"),
    }
