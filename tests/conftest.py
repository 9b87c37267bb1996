"""Shared fixtures: a migrated database on SQLite and on PostgreSQL, a manual clock, a console transcript."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.clock import ManualClock
from bot.storage import Database, upgrade
from bot.storage.models import Base
from tests.harness import Console

POSTGRES_ENV = "PEER_CIRCLES_TEST_POSTGRES_URL"


def postgres_url() -> str | None:
    """The server URL CI sets; tests that need PostgreSQL skip (saying why) without it."""
    return os.environ.get(POSTGRES_ENV) or None


def _blocking(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run set-up work to completion on its own loop and thread (session fixtures may be first asked for
    from inside a test's running loop)."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coroutine).result()


async def _migrate(url: str) -> None:
    database = Database(url)
    try:
        await upgrade(database)
    finally:
        await database.close()


async def _admin(url: str, statement: str) -> None:
    database = Database(url)
    try:
        async with database.engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(statement))
    finally:
        await database.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    _blocking(_migrate(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test run, dropped at the end."""
    server = postgres_url()
    if server is None:
        pytest.skip(f"{POSTGRES_ENV} is not set, so the PostgreSQL storage tests do not run")
    name = f"peer_circles_test_{uuid.uuid4().hex[:12]}"
    _blocking(_admin(server, f'CREATE DATABASE "{name}"'))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    try:
        _blocking(_migrate(url))
        yield url
    finally:
        _blocking(_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _truncate(database: Database) -> None:
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    async with database.engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty database: every storage test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "peer-circles.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        db = Database(f"sqlite+aiosqlite:///{path}")
    else:
        db = Database(request.getfixturevalue("postgres_database"))
        await _truncate(db)
    try:
        yield db
    finally:
        await db.close()


@pytest.fixture
def clock() -> ManualClock:
    """A clock tests move by hand."""
    return ManualClock()


@pytest.fixture
async def console(database: Database, clock: ManualClock) -> Console:
    """A console community on a fresh database, driven line by line."""
    harness = Console(database, clock)
    await harness.prepare()
    return harness
