"""Loading a configuration file: every problem reported at once, with its line, in plain words."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bot.config import ConfigError, ConfigProblem, Settings, load_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def fails(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), env=env or {})
    return caught.value


def loads(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> Settings:
    return load_config(write(tmp_path, text), env=env or {})


def only(error: ConfigError, path: str) -> ConfigProblem:
    found = [problem for problem in error.problems if problem.path == path]
    assert len(found) == 1, f"expected one problem at {path}, got: {error}"
    return found[0]


def test_unknown_key_names_the_line_and_suggests_the_right_key(tmp_path: Path) -> None:
    error = fails(
        tmp_path,
        """\
        communities:
          - id: evening
            platform: console
            name: Evening
            tiemzone: Europe/Berlin
        """,
    )
    problem = only(error, "communities[0].tiemzone")
    assert problem.line == 5
    assert problem.message == "unknown key 'tiemzone' (did you mean 'timezone'?)"
    assert "config.yaml:5: communities[0].tiemzone: unknown key 'tiemzone' (did you mean 'timezone'?)" in str(error)


def test_unknown_key_without_a_close_match_lists_the_allowed_keys(tmp_path: Path) -> None:
    error = fails(tmp_path, "circles:\n  colour: blue\n")
    message = only(error, "circles.colour").message
    assert "unknown key 'colour'" in message
    assert "default_capacity, max_capacity" in message


def test_unknown_top_level_key(tmp_path: Path) -> None:
    error = fails(tmp_path, "comunities: []\n")
    assert only(error, "comunities").message == "unknown key 'comunities' (did you mean 'communities'?)"


def test_wrong_type_says_what_was_expected_and_what_was_found(tmp_path: Path) -> None:
    error = fails(tmp_path, "circles:\n  default_capacity: ten\nsafety:\n  enabled: maybe\n")
    capacity = only(error, "circles.default_capacity")
    assert (capacity.line, capacity.message) == (2, "expected a whole number, got 'ten'")
    assert only(error, "safety.enabled").message == "expected true or false, got 'maybe'"


def test_out_of_range_and_choices(tmp_path: Path) -> None:
    error = fails(tmp_path, "circles:\n  default_capacity: 1\nlogging:\n  format: jsn\n")
    assert only(error, "circles.default_capacity").message == "must be at least 2, got 1"
    assert (
        only(error, "logging.format").message
        == "'jsn' is not one of the choices 'plain' or 'json' (did you mean 'json'?)"
    )


def test_every_problem_is_reported_at_once_sorted_by_line(tmp_path: Path) -> None:
    error = fails(
        tmp_path,
        """\
        logging:
          level: LOUD
        circles:
          max_capacity: many
        privacy:
          audit_retention: forever
        """,
    )
    assert [problem.line for problem in error.problems] == [2, 4, 6]
    assert str(error).splitlines()[0] == f"the configuration in {tmp_path / 'config.yaml'} has 3 problems:"
    assert all(line.startswith("  ") for line in str(error).splitlines()[1:])


def test_missing_secret_environment_variable_is_named_at_its_key(tmp_path: Path) -> None:
    error = fails(
        tmp_path,
        """\
        platforms:
          discord:
            enabled: true
            token: ${DISCORD_TOKEN}
        """,
    )
    assert error.problems == [
        ConfigProblem(
            str(tmp_path / "config.yaml"),
            4,
            "platforms.discord.token",
            "environment variable DISCORD_TOKEN is not set",
        )
    ]


def test_an_unset_variable_is_one_problem_not_also_a_type_error(tmp_path: Path) -> None:
    error = fails(tmp_path, "circles:\n  max_capacity: ${CAPACITY}\n")
    assert [(p.path, p.message) for p in error.problems] == [
        ("circles.max_capacity", "environment variable CAPACITY is not set")
    ]


def test_secret_from_the_environment_is_used_and_not_shown(tmp_path: Path) -> None:
    settings = loads(
        tmp_path,
        "platforms:\n  discord:\n    enabled: true\n    token: ${DISCORD_TOKEN}\n",
        env={"DISCORD_TOKEN": "mfa.very-secret-token"},
    )
    token = settings.platforms.discord.token
    assert token is not None
    assert token.get_secret_value() == "mfa.very-secret-token"
    assert "very-secret" not in repr(settings)
    assert "very-secret" not in str(settings)


def test_a_disabled_platform_does_not_need_its_environment_variables(tmp_path: Path) -> None:
    settings = loads(
        tmp_path,
        "platforms:\n  discord:\n    enabled: false\n    token: ${DISCORD_TOKEN}\n"
        "  matrix:\n    access_token: ${MATRIX_ACCESS_TOKEN}\n",
    )
    assert settings.platforms.discord.token is None
    assert settings.platforms.matrix.access_token is None


def test_an_enabled_platform_does_need_them_even_if_enabled_comes_from_the_environment(
    tmp_path: Path,
) -> None:
    error = fails(
        tmp_path,
        "platforms:\n  discord:\n    enabled: ${DISCORD_ON}\n    token: ${DISCORD_TOKEN}\n",
        env={"DISCORD_ON": "true"},
    )
    assert only(error, "platforms.discord.token").message == "environment variable DISCORD_TOKEN is not set"


def test_an_unset_variable_for_enabled_is_never_forgiven(tmp_path: Path) -> None:
    error = fails(tmp_path, "platforms:\n  discord:\n    enabled: ${DISCORD_ON}\n    token: ${DISCORD_TOKEN}\n")
    assert [problem.message for problem in error.problems] == [
        "environment variable DISCORD_ON is not set",
        "environment variable DISCORD_TOKEN is not set",
    ]


def test_value_from_the_environment_with_the_wrong_type_is_not_echoed(tmp_path: Path) -> None:
    error = fails(tmp_path, "circles:\n  max_capacity: ${CAPACITY}\n", env={"CAPACITY": "s3cr3t-ish"})
    message = only(error, "circles.max_capacity").message
    assert message == "expected a whole number, got the value of environment variable CAPACITY"
    assert "s3cr3t" not in str(error)


def test_a_value_where_a_secret_may_be_is_never_repeated(tmp_path: Path) -> None:
    error = fails(tmp_path, "database:\n  url: true\n")
    message = only(error, "database.url").message
    assert message.startswith("expected text, got a value that is not shown because it may be secret")


def test_default_after_colon_dash_is_used_when_the_variable_is_unset_or_empty(tmp_path: Path) -> None:
    text = "logging:\n  level: ${LOG_LEVEL:-warning}\n"
    assert loads(tmp_path, text).logging.level == "WARNING"
    assert loads(tmp_path, text, env={"LOG_LEVEL": ""}).logging.level == "WARNING"
    assert loads(tmp_path, text, env={"LOG_LEVEL": "error"}).logging.level == "ERROR"


def test_double_dollar_keeps_a_literal_reference(tmp_path: Path) -> None:
    settings = loads(
        tmp_path,
        """\
        communities:
          - id: console
            platform: console
            name: "Costs $${PRICE} and ${WHO}"
        """,
        env={"PRICE": "must not be used", "WHO": "friends"},
    )
    assert settings.communities[0].name == "Costs ${PRICE} and friends"


def test_malformed_reference_is_a_problem(tmp_path: Path) -> None:
    error = fails(tmp_path, "communities:\n  - id: console\n    platform: console\n    name: ${not valid}\n")
    assert "is not a reference like ${NAME}" in only(error, "communities[0].name").message


def test_invalid_timezone_suggests_the_closest_name(tmp_path: Path) -> None:
    error = fails(tmp_path, "communities:\n  - id: c\n    platform: console\n    name: C\n    timezone: Europe/Berln\n")
    problem = only(error, "communities[0].timezone")
    assert problem.line == 5
    assert problem.message.startswith("'Europe/Berln' is not a known IANA timezone (did you mean 'Europe/Berlin'?")


def test_timezone_in_the_wrong_case_suggests_the_right_case(tmp_path: Path) -> None:
    error = fails(tmp_path, "communities:\n  - id: c\n    platform: console\n    name: C\n    timezone: utc\n")
    assert "did you mean 'UTC'?" in only(error, "communities[0].timezone").message


def test_yaml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    error = fails(tmp_path, "logging:\n  level: INFO\n  format: [plain\nsafety: {}\n")
    assert len(error.problems) == 1
    problem = error.problems[0]
    assert problem.line == 4
    assert "YAML syntax error at line 4, column" in problem.message
    assert f"{tmp_path / 'config.yaml'}:4: YAML syntax error" in str(error)


def test_unquoted_matrix_id_gets_a_quoting_hint(tmp_path: Path) -> None:
    error = fails(tmp_path, "platforms:\n  matrix:\n    user_id: @bot:matrix.org\n")
    assert error.problems[0].line == 3
    assert "must be in quotes" in error.problems[0].message


def test_unquoted_room_id_gets_a_quoting_hint(tmp_path: Path) -> None:
    error = fails(tmp_path, "communities:\n  - space: !abc:matrix.org\n")
    assert "Matrix room ids" in error.problems[0].message


def test_repeated_key_is_refused(tmp_path: Path) -> None:
    error = fails(tmp_path, "logging:\n  level: INFO\n  level: DEBUG\n")
    problem = only(error, "logging.level")
    assert problem.line == 3
    assert "appears twice in this section (first on line 2)" in problem.message


def test_key_that_yaml_reads_as_true_is_refused(tmp_path: Path) -> None:
    error = fails(tmp_path, "safety:\n  on: true\n")
    assert error.problems[0].line == 2
    assert "the key 'on' is read by YAML as true or false" in error.problems[0].message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "nope.yaml")
    assert caught.value.problems[0].message.startswith("the file does not exist")
    assert str(caught.value).startswith(f"the configuration in {tmp_path / 'nope.yaml'} has 1 problem:")


def test_empty_file_gives_the_defaults(tmp_path: Path) -> None:
    settings = loads(tmp_path, "# nothing yet\n")
    assert settings.communities == []
    assert settings.console_enabled()
    assert settings.data_dir == tmp_path / "data"


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    error = fails(tmp_path, "- one\n- two\n")
    assert "must be a set of keys and values" in error.problems[0].message


def test_relative_data_dir_is_relative_to_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir("/")
    settings = loads(tmp_path, "data_dir: state/bot\n")
    assert settings.data_dir == tmp_path / "state" / "bot"
    assert settings.database_url() == f"sqlite+aiosqlite:///{tmp_path}/state/bot/peer-circles.db"
