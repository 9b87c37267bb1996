"""The peer-circles command as an operator uses it: real processes, real files, real signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO

import pytest

TIMEOUT = 60


def cli(cwd: Path, *args: str, stdin: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, "PEER_CIRCLES_CONFIG": "", **(env or {})},
        check=False,
    )


def test_run_without_config_serves_the_console_on_sqlite_and_keeps_data(tmp_path: Path) -> None:
    script = "!as moderator\n!circle create Evening circle capacity=3\n!circle list\n"
    first = cli(tmp_path, "run", stdin=script)
    assert first.returncode == 0, first.stderr
    assert "> !circle list" in first.stdout
    assert "• Evening circle — - (0/3 seats)" in first.stdout
    assert (tmp_path / "data" / "peer-circles.db").exists()
    # A restart keeps what was created.
    second = cli(tmp_path, "run", stdin="!circle join Evening circle\n")
    assert second.returncode == 0, second.stderr
    assert 'Welcome to "Evening circle"' in second.stdout


def test_demo_seeds_sample_circles_once(tmp_path: Path) -> None:
    for _ in range(2):
        result = cli(tmp_path, "demo", stdin="!circle list\n")
        assert result.returncode == 0, result.stderr
    listing = result.stdout.split("> !circle list", 1)[1]
    assert listing.count("• ") == 3
    assert "Evening circle" in listing
    assert "New parents" in listing


def test_bad_config_exits_2_naming_the_key_and_line(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "data_dir: data\ncommunities:\n  - id: home\n    platform: console\n    name: Home\n    tiemzone: UTC\n"
    )
    result = cli(tmp_path, "run", "--config", str(config))
    assert result.returncode == 2
    assert "Peer Circles cannot start" in result.stderr
    assert "tiemzone" in result.stderr
    assert ":6:" in result.stderr
    assert "Traceback" not in result.stderr


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("data_dir: data\nplatforms:\n  console: {enabled: true\n")
    result = cli(tmp_path, "check-config", str(config))
    assert result.returncode == 2
    assert "config.yaml:" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_config_summarises_a_good_file(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("data_dir: data\nplatforms:\n  console:\n    user: tester\n")
    result = cli(tmp_path, "check-config", str(config))
    assert result.returncode == 0, result.stderr
    assert "is valid" in result.stdout
    assert "sqlite" in result.stdout.lower()


def test_an_unreachable_platform_stops_the_bot_with_a_clear_line_and_no_secret(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    # Port 9 on loopback is closed: the real discord.py client cannot reach it.
    config.write_text(
        "platforms:\n  discord:\n    enabled: true\n    token: ${TEST_DISCORD_TOKEN}\n"
        "    api_base_url: http://127.0.0.1:9/api/v10\n    gateway_url: ws://127.0.0.1:9/\n"
    )
    result = cli(tmp_path, "run", "--config", str(config), env={"TEST_DISCORD_TOKEN": "abc.def.ghi"})
    assert result.returncode == 1
    assert "discord could not be reached, so the bot stopped: Discord unreachable" in result.stderr
    assert "Traceback" not in result.stderr
    assert "voice will NOT be supported" not in result.stderr
    assert "abc.def.ghi" not in result.stderr + result.stdout


def test_db_upgrade_and_current(tmp_path: Path) -> None:
    upgraded = cli(tmp_path, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert "empty ->" in upgraded.stdout
    current = cli(tmp_path, "db", "current")
    assert "up to date" in current.stdout


def test_json_logs_are_one_object_per_line(tmp_path: Path) -> None:
    result = cli(tmp_path, "run", "--log-format", "json", "--log-level", "INFO", stdin="!circle list\n")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    assert any(record["message"].startswith("storage ready") for record in records)
    assert all({"time", "level", "logger", "message"} <= record.keys() for record in records)


def read_until(stream: IO[str], wanted: str, limit: int = 20) -> bool:
    """Read lines until one contains ``wanted`` (a bounded number, so a wrong output fails, never hangs)."""
    return any(wanted in stream.readline() for _ in range(limit))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_the_bot_cleanly(tmp_path: Path, signum: signal.Signals) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PEER_CIRCLES_CONFIG": ""},
    )
    try:
        assert process.stdin is not None
        assert process.stdout is not None
        assert "Peer Circles console" in process.stdout.readline()
        process.stdin.write("!as moderator\n!circle create Evening circle\n")
        process.stdin.flush()
        assert read_until(process.stdout, "Created the public circle")
        process.send_signal(signum)
        assert process.wait(timeout=TIMEOUT) == 0
        assert "Traceback" not in (process.stderr.read() if process.stderr else "")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    # The work done before the signal is durable.
    after = cli(tmp_path, "run", stdin="!circle list\n")
    assert "Evening circle" in after.stdout


def test_safety_scan_reads_lines_and_writes_json_verdicts(tmp_path: Path) -> None:
    lines = "see you tonight\nhonestly I want to kill myself\nthis homework is killing me\n"
    result = cli(tmp_path, "safety", "scan", stdin=lines)
    assert result.returncode == 0, result.stderr
    verdicts = [json.loads(line) for line in result.stdout.splitlines()]
    assert [v["tier"] for v in verdicts] == ["none", "concern", "none"]
    assert verdicts[1]["matches"][0]["lexicon"] == "en"
    one = cli(tmp_path, "safety", "scan", "--text", "I feel so alone lately")
    assert json.loads(one.stdout)["tier"] == "distress"


def test_safety_scan_uses_the_owners_phrases(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "safety:\n  extra_phrases:\n    - phrase: walking into the sea\n      tier: urgent\n      language: en\n"
        "  exceptions:\n    - phrase: dying to see\n      language: en\n"
    )
    result = cli(tmp_path, "safety", "scan", "--config", str(config), stdin="thinking of walking into the sea\n")
    assert json.loads(result.stdout)["tier"] == "urgent"
