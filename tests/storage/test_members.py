"""insert_ignore and ensure_member: get-or-create that survives being raced."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bot.clock import ManualClock
from bot.members import ensure_member, find_member
from bot.model import Platform, UserRef
from bot.storage import Database
from bot.storage.models import Member, Membership, MembershipStatus
from bot.storage.upsert import insert_ignore

ANA = UserRef(Platform.DISCORD, "111111111111111111")
CONTENDERS = 6  # below the PostgreSQL pool size, so every contender holds its own connection at once


async def member_rows(database: Database) -> list[tuple[str, str]]:
    async with database.transaction() as session:
        return [(row.platform, row.native_id) for row in await session.scalars(select(Member).order_by(Member.id))]


async def test_find_member_is_none_before_first_contact(database: Database) -> None:
    async with database.transaction() as session:
        assert await find_member(session, ANA) is None


async def test_ensure_member_twice_gives_the_same_row(database: Database, clock: ManualClock) -> None:
    async with database.transaction() as session:
        first = await ensure_member(session, ANA, clock)
        again = await ensure_member(session, ANA, clock)
    first_seen = clock.now()
    clock.advance(timedelta(days=3))
    async with database.transaction() as session:
        later = await ensure_member(session, ANA, clock)

    assert first.id == again.id == later.id
    assert later.created_at == first_seen  # a later visit does not rewrite when they were first seen
    assert await member_rows(database) == [("discord", ANA.native_id)]


async def test_ensure_member_keeps_platforms_apart(database: Database, clock: ManualClock) -> None:
    same_number_on_matrix = UserRef(Platform.MATRIX, ANA.native_id)
    async with database.transaction() as session:
        discord = await ensure_member(session, ANA, clock)
        matrix = await ensure_member(session, same_number_on_matrix, clock)
        assert await find_member(session, same_number_on_matrix) is matrix

    assert discord.id != matrix.id
    assert await member_rows(database) == [("discord", ANA.native_id), ("matrix", ANA.native_id)]


async def test_insert_ignore_keeps_the_existing_row_untouched(database: Database, clock: ManualClock) -> None:
    values = {"platform": "console", "native_id": "ana", "created_at": clock.now()}
    async with database.transaction() as session:
        await insert_ignore(session, Member, {**values, "locale": "ar"})
    async with database.transaction() as session:
        await insert_ignore(session, Member, {**values, "locale": "en", "created_at": clock.advance(timedelta(1))})
    async with database.transaction() as session:
        rows = (await session.scalars(select(Member))).all()

    assert [(row.native_id, row.locale) for row in rows] == [("ana", "ar")]


async def test_insert_ignore_ignores_only_uniqueness(database: Database, clock: ManualClock) -> None:
    """A foreign key pointing at nothing is still an error: only "it already exists" is swallowed."""
    with pytest.raises(IntegrityError):
        async with database.transaction() as session:
            await insert_ignore(
                session,
                Membership,
                {
                    "circle_id": 404,
                    "member_id": 404,
                    "status": MembershipStatus.ACTIVE,
                    "queued_at": clock.now(),
                },
            )


async def test_concurrent_first_contact_creates_one_member(database: Database, clock: ManualClock) -> None:
    """Several units of work meet the same new person at once; each gets the one row.

    On PostgreSQL a barrier makes every transaction look (and find nothing) before any inserts, so the
    inserts truly race. SQLite's single pooled connection runs them one after another (a barrier would wait
    forever there), which is the guarantee that backend gives.
    """
    barrier = asyncio.Barrier(CONTENDERS) if database.dialect == "postgresql" else None

    async def contender() -> int:
        async with database.transaction() as session:
            if barrier is not None:
                assert await find_member(session, ANA) is None
                await barrier.wait()
            member = await ensure_member(session, ANA, clock)
            return member.id

    async with asyncio.timeout(30):
        ids = await asyncio.gather(*(contender() for _ in range(CONTENDERS)))

    assert len(set(ids)) == 1
    assert await member_rows(database) == [("discord", ANA.native_id)]
    async with database.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Member)) == 1
