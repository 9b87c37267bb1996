"""Two bot processes on one PostgreSQL database: each timer fires once and each delivery goes out once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bot.clock import SystemClock
from bot.model import IncomingMessage, Platform, UserRef
from bot.storage import Database
from bot.storage.schedule_models import Timer, TimerStatus
from tests.harness import Console

ROOT = Path(__file__).resolve().parents[2]
RUN_SECONDS = 6.0


def _run_twins(url: str) -> list[tuple[str, str]]:
    """Run two bot processes side by side to the end; their outputs."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    twins = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.faults.twin_bot", url, str(RUN_SECONDS)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    outputs = [twin.communicate(timeout=RUN_SECONDS + 60) for twin in twins]
    for twin, (_, err) in zip(twins, outputs, strict=True):
        assert twin.returncode == 0, err[-2000:]
    return outputs


async def test_two_processes_share_the_work_without_doubling_it(database: Database) -> None:
    if database.dialect != "postgresql":
        pytest.skip("two processes on one database is the PostgreSQL deployment; SQLite serves one process")
    console = Console(database, SystemClock())  # type: ignore[arg-type]
    await console.prepare()
    await console.as_("mod", "moderator")
    for number in range(20):
        await console.say(f'!circle create "Circle {number}"')
        await console.say(f'!circle schedule-set "Circle {number}" weekly mon,tue,wed,thu,fri,sat,sun 12:00 60m')
    for name in ("amal", "ben", "chen"):
        await console.as_(name)
        for number in range(20):
            await console.say(f"!circle join Circle {number}")
    # Make every planned timer fall due within the next two seconds, and add crisis alerts to the outbox.
    soon = datetime.now(UTC) + timedelta(seconds=2)
    async with database.transaction() as session:
        await session.execute(update(Timer).where(Timer.status == TimerStatus.PENDING).values(due_at=soon))
        due = len(list((await session.execute(select(Timer.id))).scalars()))
    engine_console = Console(database, SystemClock())  # type: ignore[arg-type]
    engine_console.deliverer.senders.clear()  # this test process only writes; the two bot processes deliver
    for number in range(10):
        await engine_console.engine.handle_message(
            IncomingMessage(
                engine_console.adapter.community,
                UserRef(Platform.CONSOLE, f"person{number}"),
                "honestly I want to kill myself",
                f"event-{number}",
            )
        )
    outputs = await asyncio.to_thread(_run_twins, database.url)
    delivered = [
        line.split(" ", 1)[1] for out, _ in outputs for line in out.splitlines() if line.startswith("DELIVERED")
    ]
    fired = sum(int(line.split()[1]) for out, _ in outputs for line in out.splitlines() if line.startswith("FIRED"))
    assert len(delivered) == len(set(delivered)), "an outbox item was delivered twice"
    assert sum(key.startswith("alert:") for key in delivered) == 10
    assert sum(key.startswith("reminder:") for key in delivered) > 0
    # Between them every due timer fired (each once: a timer is taken under a row lock and marked in the same
    # transaction). Which process takes which item depends on timing, so no split between them is asserted.
    assert fired >= due
    async with database.transaction() as session:
        statuses = set((await session.execute(select(Timer.status).where(Timer.due_at <= soon))).scalars())
    assert statuses <= {TimerStatus.DONE, TimerStatus.SKIPPED}
