"""The message catalogues: complete in both languages, and covering every command's help."""

from __future__ import annotations

import ast
import re
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


_MARKDOWN_ANYWHERE = re.compile(r"[\\*_~|`]|\]\(")
"""Emphasis, underline, strikethrough, spoilers, code, a backslash escape, or a masked link's ``](``."""
_MARKDOWN_AT_LINE_START = re.compile(r"\s*(?:>|#{1,3}\s|-#?\s|[-+*]\s|[0-9]+\.\s)")
"""A quote, heading, subtext or list item."""
_LINE_BREAKS = re.compile(r"[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
NUMBERED_STEPS = {"discord.onboarding"}
"""Templates whose lines may start "1. ": sent escaped ("1\\. "), they show the same number and dot as plain lines."""


def _filled(template: str) -> str:
    """The template's own text, each placeholder standing as a plain word."""
    return "".join(text + ("x" if name is not None else "") for text, name, _, _ in string.Formatter().parse(template))


def markdown_in_template(key: str, template: str) -> list[str]:
    """The Markdown the template itself writes (not its values): the Discord adapter escapes every message whole, so
    Markdown written here would show as typed, not format."""
    text = _filled(template)
    found = [f"{key}: {hit.group()!r}" for hit in _MARKDOWN_ANYWHERE.finditer(text)]
    for line in _LINE_BREAKS.split(text):
        marker = _MARKDOWN_AT_LINE_START.match(line)
        if marker and not (key in NUMBERED_STEPS and marker.group().strip()[:-1].isdigit()):
            found.append(f"{key}: line starting {marker.group()!r}")
    return found


def test_templates_hold_no_markdown_so_escaping_whole_messages_loses_nothing() -> None:
    messages = catalogue()
    found = [
        f"{locale} {problem}"
        for locale in LOCALES
        for key in sorted(messages.keys(locale))
        for problem in markdown_in_template(key, messages.template(locale, key))
    ]
    assert found == []


def test_the_template_check_finds_markdown() -> None:
    for template in ("**{x}**", "_a_", "~~a~~", "||a||", "`a`", "a \\ b", "[a](https://b)", "# Title", "> {q}", "- a"):
        assert markdown_in_template("k", template), template
    assert markdown_in_template("k", "a\n1. step")
    assert not markdown_in_template("discord.onboarding", "a\n1. step")
    assert not markdown_in_template("k", "[dry run] {text} #{id} 1.5 a - b > c {{x}}")
