"""Migrations: from nothing to head, idempotent, reversible, and in step with the models."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select
from sqlalchemy.engine import Connection

from bot.clock import ManualClock
from bot.storage import Database
from bot.storage.migrate import alembic_config, current_revision, head_revision, upgrade
from bot.storage.models import Base, Member

TABLES = {table.name for table in Base.metadata.sorted_tables}


async def downgrade(database: Database, revision: str = "base") -> None:
    """Run Alembic's downgrade on the database's own engine, the way ``upgrade`` runs."""

    def run(connection: Connection) -> None:
        config = alembic_config(database.url)
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    async with database.engine.begin() as connection:
        await connection.run_sync(run)


async def table_names(database: Database) -> set[str]:
    async with database.engine.connect() as connection:
        return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))


async def schema_differences(database: Database) -> list[Any]:
    def compare(connection: Connection) -> list[Any]:
        return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))

    async with database.engine.connect() as connection:
        return await connection.run_sync(compare)


def test_there_is_a_head_revision() -> None:
    assert head_revision() is not None


async def test_an_empty_database_has_no_revision(empty_database: Database) -> None:
    assert await current_revision(empty_database) is None
    assert await table_names(empty_database) == set()


async def test_upgrade_from_empty_reaches_head(empty_database: Database) -> None:
    before, after = await upgrade(empty_database)

    assert before is None
    assert after == head_revision()
    assert await current_revision(empty_database) == head_revision()
    assert await table_names(empty_database) == TABLES | {"alembic_version"}


async def test_a_second_upgrade_changes_nothing(empty_database: Database) -> None:
    await upgrade(empty_database)
    tables = await table_names(empty_database)

    before, after = await upgrade(empty_database)

    assert before == after == head_revision()
    assert await table_names(empty_database) == tables


async def test_models_match_migrations(database: Database) -> None:
    """A model changed without a migration shows up here, on both backends."""
    assert await schema_differences(database) == []


async def test_downgrade_to_base_then_upgrade_again(empty_database: Database, clock: ManualClock) -> None:
    await upgrade(empty_database)

    await downgrade(empty_database, "base")

    assert await current_revision(empty_database) is None
    assert await table_names(empty_database) <= {"alembic_version"}

    before, after = await upgrade(empty_database)

    assert (before, after) == (None, head_revision())
    assert await schema_differences(empty_database) == []
    async with empty_database.transaction() as session:
        session.add(Member(platform="console", native_id="after-rebuild", created_at=clock.now()))
    async with empty_database.transaction() as session:
        assert await session.scalar(select(Member.native_id)) == "after-rebuild"
