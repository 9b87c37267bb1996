"""SQLite settings the code relies on: WAL, enforced foreign keys, a data directory made on demand."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

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


async def test_a_released_savepoint_is_undone_with_its_transaction(sqlite_file: Database) -> None:
    """The sqlite3 driver left to itself starts no transaction before a SAVEPOINT, so releasing the savepoint
    committed it on its own; the scheduler's batches depend on savepoints nesting in the enclosing transaction."""
    async with sqlite_file.engine.begin() as connection:
        await connection.execute(text("CREATE TABLE notes (body TEXT)"))

    async def dies_before_the_commit() -> None:
        async with sqlite_file.transaction() as session:
            await session.execute(text("SELECT count(*) FROM notes"))  # a read first, as a batch's claim is
            async with session.begin_nested():
                await session.execute(text("INSERT INTO notes VALUES ('released')"))
            raise RuntimeError("the process dies before the commit")

    async def fails(session: AsyncSession) -> None:
        async with session.begin_nested():
            await session.execute(text("INSERT INTO notes VALUES ('undone')"))
            raise RuntimeError("one failing unit")

    with pytest.raises(RuntimeError, match="dies"):
        await dies_before_the_commit()
    async with sqlite_file.transaction() as session:
        async with session.begin_nested():
            await session.execute(text("INSERT INTO notes VALUES ('kept')"))
        with pytest.raises(RuntimeError, match="failing"):
            await fails(session)
    async with sqlite_file.transaction() as session:
        assert list((await session.execute(text("SELECT body FROM notes"))).scalars()) == ["kept"]


async def test_units_of_work_on_an_in_memory_database_take_turns() -> None:
    database = Database("sqlite+aiosqlite://")
    try:
        async with database.engine.begin() as connection:
            await connection.execute(text("CREATE TABLE notes (body TEXT)"))

        async def unit(name: str) -> None:
            async with database.transaction() as session:
                await session.execute(text(f"INSERT INTO notes VALUES ('{name} 1')"))
                await asyncio.sleep(0)  # the other unit runs meanwhile, but waits for the connection
                await session.execute(text(f"INSERT INTO notes VALUES ('{name} 2')"))

        await asyncio.gather(unit("a"), unit("b"))
        async with database.transaction() as session:
            bodies = list((await session.execute(text("SELECT body FROM notes"))).scalars())
        assert bodies in (["a 1", "a 2", "b 1", "b 2"], ["b 1", "b 2", "a 1", "a 2"])
    finally:
        await database.close()
