"""Rules spanning several keys: platforms that need credentials, communities that need platform ids."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bot.config import ConfigError, ConfigProblem, Settings, load_config
from bot.model import Platform


def fails(tmp_path: Path, text: str) -> ConfigError:
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    return caught.value


def loads(tmp_path: Path, text: str) -> Settings:
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_config(path, env={})


def problems_at(error: ConfigError) -> dict[str, str]:
    return {problem.path: problem.message for problem in error.problems}


def only(error: ConfigError, path: str) -> ConfigProblem:
    found = [problem for problem in error.problems if problem.path == path]
    assert len(found) == 1, f"expected one problem at {path}, got: {error}"
    return found[0]


def test_duplicate_community_ids(tmp_path: Path) -> None:
    error = fails(
        tmp_path,
        """\
        communities:
          - id: evening
            platform: console
            name: One
          - id: evening
            platform: console
            name: Two
        """,
    )
    problem = only(error, "communities[1].id")
    assert problem.line == 5
    assert problem.message == "'evening' is already the id of communities[0]; each community needs its own id"


def test_duplicate_community_ids_are_reported_alongside_other_problems(tmp_path: Path) -> None:
    error = fails(
        tmp_path,
        """\
        communities:
          - id: evening
            platform: console
            name: One
          - id: evening
            platform: console
            name: Two
            timezone: Mars/Olympus
        """,
    )
    assert set(problems_at(error)) == {"communities[1].id", "communities[1].timezone"}


def test_the_same_discord_server_in_two_communities(tmp_path: Path) -> None:
    error = fails(
        tmp_path,
        """\
        communities:
          - {id: a, platform: discord, name: A, guild_id: "111111111111111111"}
          - {id: b, platform: discord, name: B, guild_id: "111111111111111111"}
        """,
    )
    assert "already belongs to communities[0]" in only(error, "communities[1].guild_id").message


def test_enabled_discord_needs_a_token(tmp_path: Path) -> None:
    error = fails(tmp_path, "platforms:\n  discord:\n    enabled: true\n")
    problem = only(error, "platforms.discord.token")
    assert problem.line == 2
    assert problem.message.startswith("is required when Discord is enabled")


def test_empty_token_is_refused(tmp_path: Path) -> None:
    error = fails(tmp_path, "platforms:\n  discord:\n    enabled: true\n    token: '  '\n")
    assert only(error, "platforms.discord.token").message.startswith("is empty")


def test_enabled_matrix_names_each_missing_setting(tmp_path: Path) -> None:
    error = fails(tmp_path, "platforms:\n  matrix:\n    enabled: true\n")
    assert set(problems_at(error)) == {
        "platforms.matrix.homeserver",
        "platforms.matrix.user_id",
        "platforms.matrix.access_token",
    }
    assert "or set password instead" in problems_at(error)["platforms.matrix.access_token"]


def test_matrix_with_a_password_instead_of_a_token(tmp_path: Path) -> None:
    settings = loads(
        tmp_path,
        """\
        platforms:
          matrix:
            enabled: true
            homeserver: https://matrix.org
            user_id: "@circles:matrix.org"
            password: correct horse
        """,
    )
    assert settings.platforms.matrix.password is not None
    assert not settings.console_enabled()


def test_shard_ids_must_exist(tmp_path: Path) -> None:
    error = fails(tmp_path, "platforms:\n  discord:\n    shard_ids: [0, 2]\n    shard_count: 2\n")
    assert "shard 2 does not exist" in only(error, "platforms.discord.shard_ids[1]").message
    error = fails(tmp_path, "platforms:\n  discord:\n    shard_ids: [0]\n")
    assert only(error, "platforms.discord.shard_count").message == "is required when shard_ids is set"


def test_matrix_community_needs_a_space_or_rooms(tmp_path: Path) -> None:
    error = fails(tmp_path, "communities:\n  - id: owls\n    platform: matrix\n    name: Owls\n")
    problem = only(error, "communities[0].space")
    assert problem.line == 2
    assert "unless rooms lists at least one room" in problem.message


def test_matrix_community_with_rooms_only(tmp_path: Path) -> None:
    settings = loads(
        tmp_path,
        "communities:\n  - id: owls\n    platform: matrix\n    name: Owls\n    rooms: ['#owls:matrix.org']\n",
    )
    assert settings.communities[0].native_id == "#owls:matrix.org"


def test_guild_id_on_a_matrix_community_is_refused(tmp_path: Path) -> None:
    error = fails(
        tmp_path,
        """\
        communities:
          - id: owls
            platform: matrix
            name: Owls
            space: "!space:matrix.org"
            guild_id: "111111111111111111"
        """,
    )
    problem = only(error, "communities[0].guild_id")
    assert problem.message == "is only for Discord communities; a matrix community must not have one"
    assert problem.line == 6


def test_discord_community_needs_a_guild_id_and_discord_shaped_ids(tmp_path: Path) -> None:
    error = fails(
        tmp_path,
        """\
        communities:
          - id: evening
            platform: discord
            name: Evening
            moderators:
              destination: "#moderators"
            roles:
              admin: ["@alice:matrix.org"]
        """,
    )
    assert set(problems_at(error)) == {
        "communities[0].guild_id",
        "communities[0].moderators.destination",
        "communities[0].roles.admin[0]",
    }


def test_unquoted_discord_ids_are_read_as_text(tmp_path: Path) -> None:
    settings = loads(
        tmp_path,
        "communities:\n  - id: e\n    platform: discord\n    name: E\n    guild_id: 111111111111111111\n"
        "    moderators: {destination: 222222222222222222}\n",
    )
    community = settings.communities[0]
    assert (community.guild_id, community.moderators.destination) == (
        "111111111111111111",
        "222222222222222222",
    )
    assert community.platform is Platform.DISCORD


def test_country_is_upper_cased_and_common_mistakes_are_explained(tmp_path: Path) -> None:
    settings = loads(tmp_path, "communities:\n  - {id: console, platform: console, name: C, country: eg}\n")
    assert settings.communities[0].country == "EG"
    error = fails(tmp_path, "communities:\n  - {id: c, platform: console, name: C, country: UK}\n")
    assert only(error, "communities[0].country").message == "'UK' is not an ISO 3166-1 country code; use 'GB'"


def test_console_community_must_name_a_console_community(tmp_path: Path) -> None:
    error = fails(
        tmp_path,
        "platforms:\n  console:\n    community: lobby\ncommunities:\n  - {id: c, platform: console, name: C}\n",
    )
    problem = only(error, "platforms.console.community")
    assert (problem.line, problem.message) == (
        3,
        "'lobby' is not the id of a console community; set it to one of: c",
    )
    error = fails(
        tmp_path,
        "communities:\n  - {id: c, platform: console, name: C}\n  - {id: d, platform: console, name: D}\n",
    )
    message = only(error, "platforms.console.community").message
    assert message == "'console' (the default) is not the id of a console community; set it to one of: c, d"


def test_the_only_console_community_is_the_console_one_unless_set(tmp_path: Path) -> None:
    settings = loads(tmp_path, "communities:\n  - {id: home, platform: Console, name: Home}\n")
    assert settings.platforms.console.community == "home"
    assert settings.communities[0].native_id == "home"


@pytest.mark.parametrize(
    ("url", "hint"),
    [
        ("postgresql://circles:hunter2@db/circles", "write 'postgresql+asyncpg://' instead"),
        ("postgres://circles:hunter2@db/circles", "write 'postgresql+asyncpg://' instead"),
        ("postgresql+psycopg2://circles:hunter2@db/circles", "write 'postgresql+asyncpg://' instead"),
        ("sqlite:///data/x.db", "write 'sqlite+aiosqlite://' instead"),
        ("mysql://circles:hunter2@db/circles", "supports SQLite (sqlite+aiosqlite://) and PostgreSQL"),
    ],
)
def test_database_url_driver_hint_without_the_password(tmp_path: Path, url: str, hint: str) -> None:
    error = fails(tmp_path, f"database:\n  url: {url}\n")
    assert hint in only(error, "database.url").message
    assert "hunter2" not in str(error)


def test_database_url_with_a_supported_driver(tmp_path: Path) -> None:
    settings = loads(tmp_path, "database:\n  url: postgresql+asyncpg://circles@localhost/circles\n")
    assert settings.database_url() == "postgresql+asyncpg://circles@localhost/circles"


def test_resource_needs_a_way_to_reach_it_and_valid_lists(tmp_path: Path) -> None:
    error = fails(
        tmp_path,
        """\
        resources:
          - name: Nowhere
            topics: []
            countries: [XYZ]
            languages: [fr]
            last_verified: 2025-02-30
        """,
    )
    assert problems_at(error) == {
        "resources[0].topics": "must list at least one entry",
        "resources[0].countries[0]": "'XYZ' is not a two-letter ISO 3166-1 country code (like US, GB, EG), "
        "or '*' for every country",
        "resources[0].languages[0]": "'fr' is not one of the choices 'en' or 'ar'",
        "resources[0].last_verified": "expected a date written like 2025-01-31, got '2025-02-30'",
    }


def test_resource_nobody_can_reach_is_refused(tmp_path: Path) -> None:
    error = fails(
        tmp_path,
        "resources:\n  - {name: X, topics: [crisis], countries: ['*'], languages: [ar], last_verified: 2025-01-31}\n",
    )
    problem = only(error, "resources[0]")
    assert (problem.line, problem.message) == (
        2,
        "needs at least one of phone, url or text, or nobody can reach it",
    )


def test_short_single_word_phrase_is_refused(tmp_path: Path) -> None:
    error = fails(tmp_path, "safety:\n  extra_phrases:\n    - {phrase: sad, tier: urgent, language: en}\n")
    assert "too short to match safely" in only(error, "safety.extra_phrases[0].phrase").message


def test_capacity_order(tmp_path: Path) -> None:
    error = fails(tmp_path, "circles:\n  default_capacity: 20\n  max_capacity: 10\n")
    assert only(error, "circles.max_capacity").message.startswith("10 is below default_capacity (20)")
