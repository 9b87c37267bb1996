"""Property-based tests: no input crashes the parser, the config loader, the normaliser or the engine."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.catalogue import build_catalogue
from bot.commands import parse_command_text
from bot.config import ConfigError, load_config
from bot.errors import UserError
from bot.i18n import catalogue
from bot.safety.detector import Detector

CATALOGUE = build_catalogue()
MESSAGES = catalogue()
DETECTOR = Detector.build()

# Text that looks like what people (and attackers) type: any Unicode, controls, bidi marks, mentions, markup.
HOSTILE_TOKENS = [
    "@everyone",
    "@here",
    "@room",
    "<@123456789012345678>",
    "<@&123>",
    "<b>x</b>",
    "**x**",
    "\u202e",
    "\u200b",
    "\x00",
    "\n",
    '"',
    "“",
    "=",
    "circle",
    "join",
    "create",
    "'",
    "\\",
    "${X}",
    "{0}",
    "{circle}",
]
HOSTILE = st.sampled_from(HOSTILE_TOKENS)
TEXT = st.lists(st.one_of(st.text(max_size=40), HOSTILE), max_size=12).map(" ".join)


@given(TEXT)
@settings(max_examples=400, deadline=None)
def test_the_parser_answers_every_text_with_a_command_or_a_clear_error(text: str) -> None:
    assert _outcome(text) in CATALOGUE.commands or MESSAGES.has(_outcome(text))


def _outcome(text: str) -> str:
    """The command matched, or the message key of the error shown to the person."""
    try:
        return parse_command_text(CATALOGUE, text).command.name
    except UserError as error:
        return error.key


@given(st.sampled_from(sorted(CATALOGUE.commands)), TEXT)
@settings(max_examples=400, deadline=None)
def test_every_command_survives_any_arguments(name: str, rest: str) -> None:
    outcome = _outcome(f"{name} {rest}")
    assert outcome == name or MESSAGES.has(outcome)


@given(st.text(max_size=3000))
@settings(max_examples=300, deadline=None)
def test_the_detector_never_raises(text: str) -> None:
    DETECTOR.scan(text)


YAML_BITS = st.sampled_from(
    [
        "platforms:",
        "  discord:",
        "    enabled: true",
        "communities:",
        "  - id: x",
        "    platform: matrix",
        "    timezone: Mars/Base",
        "data_dir: [",
        "safety: {",
        "resources: 3",
        "- - -",
        "\t",
        ": :",
        "&a *a",
        "!!python/object:os.system",
        "${UNSET_VARIABLE_FOR_TEST}",
        "circles:\n  default_capacity: ten",
    ]
)


@given(st.lists(st.one_of(YAML_BITS, st.text(max_size=30)), max_size=10))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_config_loader_loads_or_explains_any_file(tmp_path: Path, lines: list[str]) -> None:
    config = tmp_path / "config.yaml"
    try:
        config.write_text("\n".join(lines), encoding="utf-8")
    except UnicodeEncodeError:
        return  # lone surrogates cannot be written to a file, so no owner can give them to the loader
    problems = _problems(config)
    assert problems is None or (problems and all(str(problem) for problem in problems))


def _problems(config: Path) -> list[object] | None:
    """None when the file loads; else the problems, which must each be explained in words."""
    try:
        load_config(config, env={})
    except ConfigError as error:
        explained = str(error)
        problems: list[object] = list(error.problems)
    else:
        return None
    assert explained.startswith("the configuration in")
    return problems


def test_python_tags_in_yaml_are_refused_not_run(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("data_dir: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError, match=r"config\.yaml:1"):
        load_config(config, env={})


def _hostile_lines(rng: random.Random, count: int) -> list[str]:
    """Seeded hostile lines: commands with mangled arguments, mentions, markup, controls and random code points."""
    tokens = [*HOSTILE_TOKENS, *sorted(CATALOGUE.commands), "Evening circle", "urgent", "5", "-1", "99999999999"]

    def word() -> str:
        if rng.random() < 0.3:
            return "".join(chr(rng.randrange(32, 0x2FFF)) for _ in range(rng.randrange(1, 6)))
        return rng.choice(tokens)

    return [
        ("!" if rng.random() < 0.7 else "") + " ".join(word() for _ in range(rng.randrange(0, 8))) for _ in range(count)
    ]


async def test_hostile_lines_through_the_console_never_reach_the_internal_error_path(tmp_path: Path) -> None:
    """Random and hostile input, typed as commands and messages by members and moderators: every line is either
    answered with a clear message or treated as chat; none crashes the engine or hits the 'went wrong' path."""
    from bot.clock import ManualClock
    from bot.storage import Database, upgrade
    from tests.harness import Console

    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'fuzz.db'}")
    await upgrade(database)
    console = Console(database, ManualClock())
    await console.prepare()
    await console.as_("mod", "moderator")
    await console.say('!circle create "Evening circle" capacity=2')
    lines = _hostile_lines(random.Random(20261123), 300)
    try:
        for index, line in enumerate(lines):
            await console.as_(f"user{index % 5}", "moderator" if index % 3 == 0 else "member")
            out = await console.say(line.replace("\n", " "))
            assert "Something went wrong on our side" not in out, line
    finally:
        await database.close()
