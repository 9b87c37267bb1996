"""Logs never contain message text, check-in notes or secrets, even at DEBUG and in JSON."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import POSTGRES_ENV, _admin, _blocking

MARKER = "zebra-" + uuid.uuid4().hex[:8]
PASSWORD = "pw-" + uuid.uuid4().hex[:12]
TOKEN = "tok." + uuid.uuid4().hex


def _flow() -> str:
    return (
        "\n".join(
            [
                f"I feel so alone lately {MARKER}",
                f"honestly I want to kill myself {MARKER}",
                f"!checkin 1 my private note {MARKER}",
                f"!support please help {MARKER}",
                f"!resources suggest call {MARKER} line",
                "!as moderator",
                f'!circle create "Circle {MARKER}" topic="{MARKER}"',
                "!alert list",
                "!alert claim 1",
                "!me export",
            ]
        )
        + "\n"
    )


def _run(tmp_path: Path, config: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "run", "--config", str(config), "--log-level", "DEBUG", "--log-format", "json"],
        cwd=tmp_path,
        input=_flow(),
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
        check=False,
    )


def _config(tmp_path: Path, database_url: str | None) -> Path:
    config = tmp_path / "config.yaml"
    database = f"database:\n  url: {database_url}\n" if database_url else ""
    config.write_text(
        f"{database}platforms:\n  console:\n    enabled: true\n"
        "  matrix:\n    enabled: false\n    access_token: ${TEST_MATRIX_TOKEN}\n"
        "  discord:\n    enabled: false\n    token: ${TEST_DISCORD_TOKEN}\n"
    )
    return config


def _assert_clean(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stderr[-2000:]
    logs = result.stderr
    assert '"level": "INFO"' in logs  # the logs were captured at all
    assert "detection in community" in logs
    for secret in (MARKER, PASSWORD, TOKEN, "kill myself", "private note"):
        assert secret not in logs, secret
    # The person sees their own words where they belong: the console (standard output) is not a log.
    assert MARKER in result.stdout


def test_logs_of_a_whole_flow_on_sqlite_hold_no_text_and_no_token(tmp_path: Path) -> None:
    result = _run(tmp_path, _config(tmp_path, None), {"TEST_DISCORD_TOKEN": TOKEN, "TEST_MATRIX_TOKEN": TOKEN})
    _assert_clean(result)


def test_logs_of_a_whole_flow_on_postgresql_hold_no_password(tmp_path: Path) -> None:
    server = os.environ.get(POSTGRES_ENV)
    if not server:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    name = f"peer_circles_logs_{uuid.uuid4().hex[:10]}"
    _blocking(_admin(server, f'CREATE DATABASE "{name}"'))
    try:
        # The local server trusts loopback, so any password works: it is here to be kept out of the logs.
        url = make_url(server).set(database=name, password=PASSWORD).render_as_string(hide_password=False)
        result = _run(tmp_path, _config(tmp_path, url), {"TEST_DISCORD_TOKEN": TOKEN, "TEST_MATRIX_TOKEN": TOKEN})
        _assert_clean(result)
    finally:
        _blocking(_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
