"""Alembic migrations, run from code: ``peer-circles db upgrade`` and on every ``run`` start."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from bot.storage.db import Database

__all__ = ["alembic_config", "current_revision", "head_revision", "upgrade"]


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


async def upgrade(database: Database, revision: str = "head") -> tuple[str | None, str | None]:
    """Apply pending migrations; returns the revision before and after."""
    before = await current_revision(database)

    def run(connection: Connection) -> None:
        config = alembic_config(database.url)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with database.engine.begin() as connection:
        await connection.run_sync(run)
    return before, await current_revision(database)
