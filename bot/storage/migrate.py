"""Alembic migrations, run from code: ``peer-circles db upgrade`` and on every ``run`` start."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from bot.storage.db import Database

__all__ = ["alembic_config", "current_revision", "downgrade", "head_revision", "upgrade"]


def alembic_config(url: str) -> Config:
    """An Alembic configuration pointing at the migrations shipped in the package."""
    config = Config()
    config.set_main_option("script_location", str(Path(str(resources.files("bot.storage"))) / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision(url: str = "sqlite://") -> str | None:
    """The newest migration shipped."""
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(database: Database) -> str | None:
    """The revision the database is at, or ``None`` when it has no tables yet."""
    async with database.engine.connect() as connection:
        return await connection.run_sync(_current)


def _sqlite_foreign_keys(connection: Connection, on: bool) -> None:
    """Switch SQLite's foreign-key enforcement on the connection's own DBAPI connection, before any transaction
    (inside one SQLite ignores the pragma, and the engine's first statement would begin one)."""
    dbapi = connection.connection.dbapi_connection
    assert dbapi is not None
    cursor = dbapi.cursor()
    try:
        cursor.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    finally:
        cursor.close()


def _check_foreign_keys(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        tables = sorted({str(row[0]) for row in broken})
        raise RuntimeError(f"the migration left rows whose foreign keys point nowhere, in: {', '.join(tables)}")


async def _migrate(database: Database, step: Callable[[Config], None]) -> None:
    """Run one Alembic command on the database's own engine, in one transaction.

    On SQLite, foreign keys are off while it runs, as Alembic advises for batch mode: a batch copies a table and
    drops the old one, and with foreign keys on, dropping a table deletes every row that cascades from it (dropping
    ``sessions`` would take all attendance, swaps and timers with it). They are checked before the commit instead.
    """
    sqlite = database.dialect == "sqlite"

    def run(connection: Connection) -> None:
        config = alembic_config(database.url)
        config.attributes["connection"] = connection
        step(config)
        if sqlite:
            _check_foreign_keys(connection)

    async with database.engine.connect() as connection:
        if sqlite:
            await connection.run_sync(_sqlite_foreign_keys, False)
        try:
            async with connection.begin():
                await connection.run_sync(run)
        finally:
            if sqlite:
                await connection.run_sync(_sqlite_foreign_keys, True)


async def upgrade(database: Database, revision: str = "head") -> tuple[str | None, str | None]:
    """Apply pending migrations; returns the revision before and after."""
    before = await current_revision(database)
    await _migrate(database, lambda config: command.upgrade(config, revision))
    return before, await current_revision(database)


async def downgrade(database: Database, revision: str) -> None:
    """Undo migrations down to ``revision`` (``base``: all of them), for tests and for going back by hand."""
    await _migrate(database, lambda config: command.downgrade(config, revision))
