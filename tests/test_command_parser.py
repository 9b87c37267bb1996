"""The text command parser and the catalogue declarations (pure logic)."""

from __future__ import annotations

import pytest

from bot.catalogue import build_catalogue
from bot.commands import Command, CommandCatalogue, Option, OptionKind, check_args, parse_command_text
from bot.errors import UserError
from bot.model import Role

CATALOGUE = build_catalogue()


def parse(text: str) -> tuple[str, dict[str, object]]:
    parsed = parse_command_text(CATALOGUE, text)
    return parsed.command.name, dict(parsed.args)


def error_of(text: str) -> UserError:
    with pytest.raises(UserError) as caught:
        parse_command_text(CATALOGUE, text)
    return caught.value


def test_quoted_and_unquoted_names_give_the_same_argument() -> None:
    assert parse('circle join "Evening circle"') == ("circle join", {"circle": "Evening circle"})
    assert parse("circle join Evening circle") == ("circle join", {"circle": "Evening circle"})
    assert parse("CIRCLE Join evening") == ("circle join", {"circle": "evening"})


def test_named_options_and_rest_text_mix() -> None:
    name, args = parse('circle create New parents topic="Sleep and worry" capacity=6 visibility=UNLISTED')
    assert name == "circle create"
    assert args == {
        "name": "New parents",
        "topic": "Sleep and worry",
        "capacity": 6,
        "visibility": "unlisted",
    }


def test_an_equals_sign_in_a_name_is_kept_when_it_names_no_option() -> None:
    assert parse("circle join a=b circle") == ("circle join", {"circle": "a=b circle"})


def test_top_level_command_with_optional_rest() -> None:
    assert parse("help") == ("help", {})
    assert parse("help circle join") == ("help", {"topic": "circle join"})


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("", "error.unknown_command"),
        ("dance", "error.unknown_command"),
        ("circle dance", "error.unknown_subcommand"),
        ('circle join "Evening', "error.unbalanced_quotes"),
        ("circle join", "error.arg_missing_usage"),
        ("circle list extra words", "error.arg_surplus"),
        ("circle create X capacity=many", "error.arg_not_number"),
        ("circle create X capacity=0", "error.arg_out_of_range"),
        ("circle create X capacity=2 capacity=3", "error.arg_repeated"),
        ("circle create X visibility=hidden", "error.arg_bad_choice"),
        ("circle join " + "x" * 81, "error.arg_too_long"),
        ("circle join " + "x" * 5000, "error.too_long"),
    ],
)
def test_errors_name_what_is_wrong(text: str, key: str) -> None:
    assert error_of(text).key == key


def test_typed_arguments_from_an_adapter_are_checked_again() -> None:
    command = CATALOGUE.get("circle create")
    assert command is not None
    assert check_args(command, {"name": "Evening", "capacity": 5}) == {"name": "Evening", "capacity": 5}
    with pytest.raises(UserError) as caught:
        check_args(command, {"name": "Evening", "capacity": 1000})
    assert caught.value.key == "error.arg_out_of_range"
    with pytest.raises(UserError) as caught:
        check_args(command, {"name": "Evening", "colour": "red"})
    assert caught.value.key == "error.arg_surplus"
    with pytest.raises(UserError) as caught:
        check_args(command, {})
    assert caught.value.key == "error.arg_missing_usage"


def test_declaring_a_command_twice_is_refused() -> None:
    async def handler(_ctx: object) -> list[object]:
        return []

    command = Command("twice", handler)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="declared twice"):
        CommandCatalogue.of([command, command])


def test_usage_is_generated_from_the_options() -> None:
    command = CATALOGUE.get("circle create")
    assert command is not None
    assert command.usage() == "circle create <name> [topic=…] [description=…] [capacity=…] [public|unlisted]"


def test_roles_are_declared_on_every_command() -> None:
    moderator_only = {c.name for c in CATALOGUE.commands.values() if c.min_role >= Role.MODERATOR}
    assert moderator_only == {
        "circle create",
        "circle archive",
        "circle schedule-set",
        "circle schedule-clear",
        "facilitate train",
        "rotation set",
        "alert list",
        "alert claim",
        "alert resolve",
        "admin setup",
        "admin set",
        "admin show",
        "admin status",
    }
    assert {c.name for c in CATALOGUE.visible_to(Role.MEMBER)} == set(CATALOGUE.commands) - moderator_only


def test_words_after_a_multi_word_name_bind_from_the_end() -> None:
    assert parse("facilitate train Evening circle amal") == (
        "facilitate train",
        {"circle": "Evening circle", "member": "amal"},
    )
    assert parse("facilitate away New parents 2026-12-01 2026-12-07") == (
        "facilitate away",
        {"circle": "New parents", "from": "2026-12-01", "to": "2026-12-07"},
    )
    assert parse('facilitate train "Evening circle" amal')[1] == {"circle": "Evening circle", "member": "amal"}


def test_option_names_are_unique_and_one_takes_the_rest() -> None:
    for command in CATALOGUE.commands.values():
        names = [option.name for option in command.options]
        assert len(names) == len(set(names)), command.name
        rests = [index for index, option in enumerate(command.options) if option.rest]
        assert len(rests) <= 1, command.name
        positional = [o for o in command.options if o.required or o.rest]
        assert all(isinstance(o, Option) for o in positional)
        for option in command.options:
            if option.kind is OptionKind.CHOICE:
                assert option.choices, (command.name, option.name)


def test_apostrophes_are_letters_and_only_double_quotes_group() -> None:
    assert parse("support I can't sleep and it's late") == ("support", {"note": "I can't sleep and it's late"})
    assert parse("circle join “Evening circle”") == ("circle join", {"circle": "Evening circle"})
    assert parse('circle create Evening topic="loss and grief"')[1]["topic"] == "loss and grief"
    assert error_of('circle join "Evening').key == "error.unbalanced_quotes"


def test_people_named_in_commands_keep_their_platform_ids() -> None:
    from bot.circles.rotation_commands import native_user_id
    from bot.model import Platform

    assert native_user_id(Platform.MATRIX, "@bob:localhost") == "@bob:localhost"
    assert native_user_id(Platform.DISCORD, "<@123456789012345678>") == "123456789012345678"
    assert native_user_id(Platform.DISCORD, "<@!123456789012345678>") == "123456789012345678"
    assert native_user_id(Platform.DISCORD, "123456789012345678") == "123456789012345678"
    assert native_user_id(Platform.CONSOLE, "@amal") == "amal"
