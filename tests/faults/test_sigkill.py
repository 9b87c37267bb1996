"""Kill the bot (SIGKILL) between detecting a crisis and delivering the alert; the restarted bot delivers it once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.storage import Database
from bot.storage.models import OutboxItem, OutboxStatus

ROOT = Path(__file__).resolve().parents[2]


def _start(url: str, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.faults.crash_bot", url, mode],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def _wait_for(process: subprocess.Popen[str], prefix: str, limit: int = 50) -> list[str]:
    """Read the child's lines until one starts with ``prefix`` (bounded: a wrong output fails, never hangs)."""
    assert process.stdout is not None
    seen = []
    for _ in range(limit):
        line = process.stdout.readline().strip()
        if not line and process.poll() is not None:
            break
        seen.append(line)
        if line.startswith(prefix):
            return seen
    raise AssertionError(f"never saw {prefix!r}: {seen}; stderr: {process.stderr.read() if process.stderr else ''}")


def _recover(url: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-m", "tests.faults.crash_bot", url, "recover"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return [line.split(" ", 1)[1] for line in result.stdout.splitlines() if line.startswith("DELIVERED")]


@pytest.mark.parametrize("mode", ["detect", "hang"])
async def test_a_killed_bot_delivers_every_alert_exactly_once_after_restart(database: Database, mode: str) -> None:
    url = database.url
    process = _start(url, mode)
    try:
        _wait_for(process, "SENDING" if mode == "hang" else "DETECTED")
        process.send_signal(signal.SIGKILL)  # no cleanup, no flush: the harshest stop there is
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    delivered = _recover(url)
    alerts = [key for key in delivered if key.startswith("alert:")]
    assert alerts == ["alert:1:new"]
    assert [key for key in delivered if key.startswith("reply:")] == ["reply:console:event-1"]
    # A second restart owes nothing: nothing is sent twice.
    assert _recover(url) == []
    async with database.transaction() as session:
        items = list((await session.execute(select(OutboxItem))).scalars())
    assert {item.status for item in items} == {OutboxStatus.DELIVERED}
