"""The database goes away during message flow: nothing is lost, nothing doubled, and the bot keeps running."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.engine import make_url

from bot.clock import ManualClock
from bot.storage import Database, upgrade
from tests.conftest import POSTGRES_ENV, _admin
from tests.harness import Console

CRISIS = "honestly I want to kill myself"


@pytest.fixture
async def outage_database() -> AsyncIterator[tuple[Database, str, str]]:
    """A PostgreSQL database of this test's own, whose connections the test can cut and refuse."""
    server = os.environ.get(POSTGRES_ENV)
    if not server:
        pytest.skip(f"{POSTGRES_ENV} is not set: the outage test needs a PostgreSQL server to take away")
    name = f"peer_circles_outage_{uuid.uuid4().hex[:10]}"
    await _admin(server, f'CREATE DATABASE "{name}"')
    database = Database(make_url(server).set(database=name).render_as_string(hide_password=False))
    try:
        await upgrade(database)
        yield database, server, name
    finally:
        await database.close()
        await _admin(server, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _cut(server: str, name: str) -> None:
    await _admin(server, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    await _admin(server, f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")


async def _restore(server: str, name: str) -> None:
    await _admin(server, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


async def test_a_crisis_during_a_database_outage_is_alerted_once_when_it_returns(
    outage_database: tuple[Database, str, str],
) -> None:
    database, server, name = outage_database
    console = Console(database, ManualClock())
    await console.prepare()
    await console.as_("amal")
    await console.say("hello")  # warm the pool
    await _cut(server, name)
    # A command during the outage gets a clear answer, and changes nothing.
    assert "nothing was changed" in await console.say("!circle list")
    # A crisis message during the outage waits for storage rather than being dropped.
    pending = asyncio.create_task(console.say(CRISIS))
    await asyncio.sleep(1.2)  # let the first attempts fail against the refused database (real backoff, not a schedule)
    assert not pending.done()
    await _restore(server, name)
    out = await asyncio.wait_for(pending, timeout=60)
    assert out.count("⚠ Concern alert #1") == 1
    assert out.count("[direct message to amal]") == 1
    # The bot carries on as normal.
    assert "There are no circles here yet" in await console.say("!circle list")
    assert "⚠" not in await console.later(minutes=5)
