"""Fixtures for the storage tests: a brand-new, unmigrated database per backend."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.storage import Database
from tests.conftest import POSTGRES_ENV, _admin, postgres_url


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A database with no tables: its own SQLite file, or its own PostgreSQL database dropped afterwards.

    Tests that migrate up and down use this, so the shared session database keeps its schema.
    """
    if request.param == "sqlite":
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")
        try:
            yield database
        finally:
            await database.close()
        return
    server = postgres_url()
    if server is None:
        pytest.skip(f"{POSTGRES_ENV} is not set, so the PostgreSQL storage tests do not run")
    name = f"peer_circles_fresh_{uuid.uuid4().hex[:12]}"
    await _admin(server, f'CREATE DATABASE "{name}"')
    database = Database(make_url(server).set(database=name).render_as_string(hide_password=False))
    try:
        yield database
    finally:
        await database.close()
        await _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
