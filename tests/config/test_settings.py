"""Defaults, the derived settings, problem formatting, and the check-config summary."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.config import (
    ConfigError,
    ConfigProblem,
    Settings,
    default_settings,
    load_config,
    mask_url,
    summarize,
)


def test_default_settings_run_the_console_on_sqlite_in_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = default_settings()
    assert settings.console_enabled()
    assert settings.platforms.console.enabled is None
    assert settings.data_dir == tmp_path / "data"
    assert settings.database_url() == f"sqlite+aiosqlite:///{tmp_path}/data/peer-circles.db"
    assert settings.communities == []
    assert settings.safety.enabled


def test_default_settings_with_a_relative_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert default_settings(Path("state")).data_dir == tmp_path / "state"
    assert default_settings(tmp_path / "abs").data_dir == tmp_path / "abs"


def test_console_is_automatic_only_while_it_is_not_set() -> None:
    discord_on = {"discord": {"enabled": True, "token": "t"}}
    assert not Settings.model_validate({"platforms": discord_on}).console_enabled()
    both = {**discord_on, "console": {"enabled": True}}
    assert Settings.model_validate({"platforms": both}).console_enabled()
    assert not Settings.model_validate({"platforms": {"console": {"enabled": False}}}).console_enabled()


def test_duplicate_ids_are_refused_when_settings_are_built_directly() -> None:
    community = {"id": "same", "platform": "console", "name": "C"}
    data = {"communities": [community, community], "platforms": {"console": {"community": "same"}}}
    with pytest.raises(ValidationError, match=r"'same' is already the id of communities\[0\]"):
        Settings.model_validate(data)


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(ValueError, match="frozen"):
        settings.circles.default_capacity = 3  # type: ignore[misc]


def test_problem_and_error_formatting() -> None:
    problem = ConfigProblem("config.yaml", 12, "communities[0].timezone", "'Europe/Berln' is not a known IANA timezone")
    assert str(problem) == "config.yaml:12: communities[0].timezone: 'Europe/Berln' is not a known IANA timezone"
    assert str(ConfigProblem("config.yaml", None, "", "the file does not exist")) == (
        "config.yaml: the file does not exist"
    )
    error = ConfigError([problem, ConfigProblem("config.yaml", 3, "logging.level", "bad")], "config.yaml")
    assert str(error).splitlines() == [
        "the configuration in config.yaml has 2 problems:",
        "  config.yaml:3: logging.level: bad",
        f"  {problem}",
    ]


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        (
            "postgresql+asyncpg://circles:hunter2@db:5432/circles",
            "postgresql+asyncpg://circles:***@db:5432/circles",
        ),
        ("postgresql+asyncpg://circles:p@ss@db/circles", "postgresql+asyncpg://circles:***@db/circles"),
        (
            "postgresql+asyncpg://db/circles?user=c&password=hunter2",
            "postgresql+asyncpg://db/circles?user=c&password=***",
        ),
        ("postgresql+asyncpg://circles@db/circles", "postgresql+asyncpg://circles@db/circles"),
        ("sqlite+aiosqlite:////srv/bot/peer-circles.db", "sqlite+aiosqlite:////srv/bot/peer-circles.db"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_summary_masks_the_database_password_and_never_prints_tokens(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        """\
database:
  url: postgresql+asyncpg://circles:${DB_PASSWORD}@db/circles
platforms:
  discord:
    enabled: true
    token: ${DISCORD_TOKEN}
  matrix:
    enabled: true
    homeserver: https://matrix.org
    user_id: "@circles:matrix.org"
    access_token: ${MATRIX_ACCESS_TOKEN}
    password: ${MATRIX_PASSWORD}
""",
        encoding="utf-8",
    )
    secrets = {
        "DB_PASSWORD": "db-pass-1234",
        "DISCORD_TOKEN": "discord-token-5678",
        "MATRIX_ACCESS_TOKEN": "matrix-token-9012",
        "MATRIX_PASSWORD": "matrix-pass-3456",
    }
    lines = summarize(load_config(path, env=secrets))
    text = "\n".join(lines)
    for secret in secrets.values():
        assert secret not in text
    assert "Database: postgresql+asyncpg://circles:***@db/circles" in lines
    assert "Console: disabled (automatic: another platform is enabled)" in text
    assert "Discord: enabled (token set" in text
    assert "Matrix: enabled (@circles:matrix.org on https://matrix.org, signs in with access token" in text


def test_summary_describes_each_community_and_flags_missing_moderators(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        """\
communities:
  - id: owls
    platform: matrix
    name: Night Owls
    space: "!space:matrix.org"
    locale: ar
    timezone: Africa/Cairo
    country: eg
  - id: console
    platform: console
    name: Console
    moderators: {destination: mods}
safety:
  dry_run: true
privacy:
  audit_retention: 2w
""",
        encoding="utf-8",
    )
    settings = load_config(path, env={})
    lines = summarize(settings)
    text = "\n".join(lines)
    assert f"Data directory: {tmp_path / 'data'}" in lines
    assert "Console: enabled (automatic: no other platform is enabled)" in text
    assert "  - owls (matrix): Night Owls [inactive: matrix is disabled]" in lines
    assert "      Matrix space !space:matrix.org; locale ar; timezone Africa/Cairo; country EG" in lines
    assert "      moderator alerts: MISSING: alerts cannot reach moderators" in lines
    assert "      moderator alerts: mods" in lines
    assert "Safety: DRY RUN" in text
    assert "audit log 2w" in text
    assert "Resources: 3 help line(s) (countries: *, GB, IE, US)" in lines
