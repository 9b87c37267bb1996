"""config.example.yaml: loadable, refused only for its placeholders, and clean once they are replaced."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import EXAMPLE_PLACEHOLDERS, ConfigError, Resource, is_placeholder, load_config, summarize
from bot.model import Platform

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.yaml"
ENV = {"DISCORD_TOKEN": "discord-token-for-tests", "MATRIX_ACCESS_TOKEN": "matrix-token-for-tests"}
PLACEHOLDER_MESSAGE = re.compile(
    r"still has the example value '(.+)' from config\.example\.yaml; replace it with your own"
)


def real_values(text: str) -> str:
    """The example as an owner fills it in: each placeholder replaced by a plausible value of its kind."""
    for index, value in enumerate(sorted(EXAMPLE_PLACEHOLDERS)):
        if value.isdigit():
            text = text.replace(f'"{value}"', f'"{1100000000000000000 + index}"')
    return text.replace("example.org", "circles.my-community.net")


def test_every_placeholder_appears_in_the_example() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    missing = sorted(value for value in EXAMPLE_PLACEHOLDERS if value not in text)
    assert missing == []


def test_example_loads_except_for_its_placeholders() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(EXAMPLE, env=ENV)
    reported = set()
    for problem in caught.value.problems:
        match = PLACEHOLDER_MESSAGE.fullmatch(problem.message)
        assert match is not None, f"not a placeholder problem: {problem}"
        assert problem.line is not None
        reported.add(match.group(1))
    assert reported == set(EXAMPLE_PLACEHOLDERS)


def test_example_without_the_tokens_of_its_disabled_platforms_still_only_has_placeholders() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(EXAMPLE, env={})
    assert all(PLACEHOLDER_MESSAGE.fullmatch(problem.message) for problem in caught.value.problems)


def test_example_with_real_values_loads_cleanly(tmp_path: Path) -> None:
    copy = tmp_path / "config.yaml"
    copy.write_text(real_values(EXAMPLE.read_text(encoding="utf-8")), encoding="utf-8")
    settings = load_config(copy, env=ENV)

    assert [c.platform for c in settings.communities] == [Platform.DISCORD, Platform.MATRIX, Platform.CONSOLE]
    assert settings.console_enabled()
    assert settings.data_dir == tmp_path / "data"
    assert {r.name for r in settings.resources} == {
        "988 Suicide & Crisis Lifeline",
        "Samaritans",
        "Find A Helpline",
    }
    samaritans = next(r for r in settings.resources if r.name == "Samaritans")
    assert (samaritans.phone, samaritans.countries) == ("116 123", ["GB", "IE"])
    assert any(r.countries == ["*"] for r in settings.resources)
    assert settings.communities[1].locale == "ar"
    text = "\n".join(summarize(settings))
    assert "token-for-tests" not in text
    # Only the console community, which has no moderators' room, lacks a destination for alerts.
    assert [c.id for c in settings.communities if c.moderators.destination is None] == ["console"]
    assert text.count("MISSING: alerts cannot reach moderators") == 1


def test_placeholder_check_catches_example_domains_beyond_the_list() -> None:
    assert is_placeholder("@someone-else:example.org")
    assert is_placeholder("https://matrix.example.com/")
    assert is_placeholder("123456789012345678")
    assert not is_placeholder("@circles:matrix.org")
    assert not is_placeholder("https://example.organic.net")


def test_the_default_resources_are_the_examples() -> None:
    """With no resources key the bot offers exactly the lines the example documents."""
    import yaml

    from bot.config import default_settings

    text = (Path(__file__).resolve().parents[2] / "config.example.yaml").read_text("utf-8")
    block = text[text.index("\nresources:\n") + 1 : text.index("\nscheduling:")]
    example = [
        Resource.model_validate({**e, "last_verified": str(e["last_verified"])})
        for e in yaml.safe_load(block)["resources"]
    ]
    assert default_settings().resources == example
    assert default_settings().resources  # never empty by default
