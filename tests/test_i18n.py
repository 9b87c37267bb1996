"""The message catalogues: complete in both languages, and covering every command's help."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from bot.catalogue import build_catalogue
from bot.i18n import LOCALES, Catalogue, MissingTranslation, catalogue, placeholders


def test_every_locale_has_every_key_with_the_same_placeholders() -> None:
    messages = catalogue()
    english = messages.keys("en")
    for locale in LOCALES:
        assert messages.keys(locale) == english, locale
        for key in english:
            assert placeholders(messages.template(locale, key)) == placeholders(messages.template("en", key)), (
                locale,
                key,
            )


def _literal(template: str) -> str:
    return "".join(text for text, _, _, _ in string.Formatter().parse(template))


def test_arabic_entries_are_translated_not_copied() -> None:
    messages = catalogue()
    same = [
        key
        for key in messages.keys("en")
        if messages.template("ar", key) == messages.template("en", key)
        and any(ch.isalpha() for ch in _literal(messages.template("en", key)))
    ]
    assert same == []


def test_every_command_and_option_has_help_in_every_language() -> None:
    messages = catalogue()
    for command in build_catalogue().commands.values():
        for locale in LOCALES:
            assert command.help_key in messages.keys(locale), (locale, command.name)
            for option in command.options:
                assert option.description_key in messages.keys(locale), (locale, option.name)


def test_member_values_with_braces_are_not_interpreted() -> None:
    messages = catalogue()
    text = messages.t("en", "circle.leave.done", circle="{0.__class__} {circle}")
    assert "{0.__class__} {circle}" in text


def test_bidi_overrides_in_values_cannot_reorder_the_bots_line() -> None:
    # A display name holding RIGHT-TO-LEFT OVERRIDE would show "in #general" reversed, and an isolate could hide the
    # rest of the line; the marks that cannot reorder anything (and Arabic text itself) are kept.
    messages = catalogue()
    text = messages.t(
        "en",
        "safety.alert.new",
        tier="Urgent",
        id=1,
        author="amal\u202elareneg\u2066",
        where="#general",
        link="",
        about="",
        excerpt="\u2067I want to die\u2069 \u200fأريد\u200f",
        matched="want to die",
        claim="!alert claim 1",
    )
    assert not any(0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069 for c in text)
    assert "amallareneg in #general" in text
    assert "I want to die \u200fأريد\u200f" in text


def test_locale_resolution_prefers_the_member_then_the_community() -> None:
    messages = catalogue()
    assert messages.resolve_locale("ar", "en") == "ar"
    assert messages.resolve_locale(None, "ar") == "ar"
    assert messages.resolve_locale("xx", None) == "en"


def test_a_missing_key_is_an_error_and_unknown_locales_fall_back_to_english() -> None:
    messages = Catalogue({"en": {"a": "A {x}"}, "ar": {}})
    assert messages.t("ar", "a", x=1) == "A 1"
    assert messages.t("fr", "a", x=1) == "A 1"
    with pytest.raises(MissingTranslation):
        messages.t("en", "b")


KEY_FUNCTIONS = {"UserError", "ScheduleError", "reply", "t", "_t", "direct", "_moderators", "_error"}


def _keys_used_in_code() -> set[tuple[str, str]]:
    root = Path(__file__).resolve().parent.parent / "bot"
    used: set[tuple[str, str]] = set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name not in KEY_FUNCTIONS:
                continue
            for arg in node.args[:2]:
                if (
                    isinstance(arg, ast.Constant)
                    and isinstance(arg.value, str)
                    and "." in arg.value
                    and all(part.replace("_", "").replace("-", "").isalnum() for part in arg.value.split("."))
                ):
                    used.add((f"{path.relative_to(root)}:{node.lineno}", arg.value))
    return used


def test_every_message_key_used_in_code_exists() -> None:
    messages = catalogue()
    used = _keys_used_in_code()
    assert len(used) > 50  # the scan itself works
    missing = sorted((where, key) for where, key in used if key not in messages.keys("en"))
    assert missing == []
