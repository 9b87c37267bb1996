"""UTCDateTime: any aware time is stored as its instant and read back in UTC; naive times are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError

from bot.clock import ManualClock
from bot.storage import Database
from bot.storage.models import Base, Member, UTCDateTime

INSTANT = datetime(2026, 3, 29, 0, 30, 15, 123456, tzinfo=UTC)  # the night Europe moves its clocks
ZONES = [
    UTC,
    ZoneInfo("Europe/London"),
    ZoneInfo("America/Los_Angeles"),
    ZoneInfo("Asia/Kathmandu"),  # +05:45
    ZoneInfo("Pacific/Kiritimati"),  # +14: another calendar day
    timezone(timedelta(hours=-3, minutes=-30)),
]


async def stored_created_at(database: Database, native_id: str) -> datetime:
    async with database.transaction() as session:  # a new session: values come from the database, not memory
        value = await session.scalar(select(Member.created_at).where(Member.native_id == native_id))
    assert value is not None
    return value


@pytest.mark.parametrize("zone", ZONES, ids=str)
async def test_aware_datetimes_come_back_as_the_same_instant_in_utc(database: Database, zone: timezone) -> None:
    written = INSTANT.astimezone(zone)
    async with database.transaction() as session:
        session.add(Member(platform="console", native_id="someone", created_at=written))

    read = await stored_created_at(database, "someone")

    assert read == INSTANT
    assert read.tzinfo is not None
    assert read.utcoffset() == timedelta(0)
    assert (read.hour, read.minute, read.microsecond) == (0, 30, 123456)


async def test_comparisons_in_sql_use_the_instant_not_the_wall_clock(database: Database) -> None:
    """10:00 in Tokyo is earlier than 09:00 in London: filtering and ordering in SQL must agree."""
    tokyo = datetime(2026, 6, 1, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # 01:00 UTC
    london = datetime(2026, 6, 1, 9, 0, tzinfo=ZoneInfo("Europe/London"))  # 08:00 UTC
    async with database.transaction() as session:
        session.add_all(
            [
                Member(platform="console", native_id="late", created_at=london),
                Member(platform="console", native_id="early", created_at=tokyo),
            ]
        )
    noon_in_new_york = datetime(2026, 5, 31, 23, 0, tzinfo=ZoneInfo("America/New_York"))  # 03:00 UTC, 1 June
    async with database.transaction() as session:
        ordered = (await session.scalars(select(Member.native_id).order_by(Member.created_at))).all()
        before = (await session.scalars(select(Member.native_id).where(Member.created_at < noon_in_new_york))).all()

    assert ordered == ["early", "late"]
    assert before == ["early"]


async def test_a_naive_datetime_is_refused(database: Database, clock: ManualClock) -> None:
    naive = clock.now().replace(tzinfo=None)
    with pytest.raises(StatementError, match="naive datetime"):
        async with database.transaction() as session:
            session.add(Member(platform="console", native_id="naive", created_at=naive))

    async with database.transaction() as session:
        assert await session.scalar(select(Member.id)) is None


async def test_a_naive_datetime_is_refused_in_a_query_too(database: Database, clock: ManualClock) -> None:
    naive = clock.now().replace(tzinfo=None)
    with pytest.raises(StatementError, match="naive datetime"):
        async with database.transaction() as session:
            await session.execute(select(Member).where(Member.created_at < naive))


def test_every_datetime_column_is_utc_aware() -> None:
    """A column declared with a plain DateTime would let naive times in (and lose the zone on SQLite)."""
    plain = [
        f"{table.name}.{column.name}"
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if column.type.python_type is datetime and not isinstance(column.type, UTCDateTime)
    ]
    assert plain == []
