"""SQLite settings the code relies on: WAL, enforced foreign keys, a data directory made on demand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError

from bot.clock import ManualClock
from bot.storage import Database, upgrade
from bot.storage.migrate import head_revision
from bot.storage.models import Membership, MembershipStatus


async def pragma(database: Database, name: str) -> object:
    async with database.engine.connect() as connection:
        return (await connection.execute(text(f"PRAGMA {name}"))).scalar_one()


@pytest.fixture
async def sqlite_file(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    try:
        yield database
    finally:
        await database.close()


async def test_journal_mode_is_wal(sqlite_file: Database) -> None:
    assert await pragma(sqlite_file, "journal_mode") == "wal"


async def test_foreign_keys_are_enforced_on_every_new_connection(sqlite_file: Database) -> None:
    assert await pragma(sqlite_file, "foreign_keys") == 1
    await sqlite_file.engine.dispose()  # the next connection is a new one: the pragmas must be set again
    assert await pragma(sqlite_file, "foreign_keys") == 1
    assert await pragma(sqlite_file, "journal_mode") == "wal"


async def test_a_dangling_foreign_key_is_refused(sqlite_file: Database, clock: ManualClock) -> None:
    """Not only is the pragma on: a row pointing at nothing really fails."""
    await upgrade(sqlite_file)
    statement = insert(Membership).values(
        circle_id=404, member_id=404, status=MembershipStatus.ACTIVE, queued_at=clock.now()
    )
    with pytest.raises(IntegrityError, match="FOREIGN KEY"):
        async with sqlite_file.transaction() as session:
            await session.execute(statement)


async def test_a_missing_data_directory_is_created(tmp_path: Path) -> None:
    folder = tmp_path / "not" / "yet" / "here"
    database = Database(f"sqlite+aiosqlite:///{folder / 'peer-circles.db'}")
    try:
        assert folder.is_dir()
        before, after = await upgrade(database)
        assert before is None
        assert after is not None
        assert (folder / "peer-circles.db").is_file()
    finally:
        await database.close()


async def test_an_in_memory_database_opens_and_migrates() -> None:
    database = Database("sqlite+aiosqlite://")
    try:
        before, after = await upgrade(database)
        assert (before, after) == (None, head_revision())
        assert await pragma(database, "foreign_keys") == 1
    finally:
        await database.close()
