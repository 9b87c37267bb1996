"""Pure parts of administration: validation of each key, and the status lines the application reports."""

from __future__ import annotations

import pytest

from bot.admin.settings import validate
from bot.admin.status import adapter_line, render_line, scheduler_line
from bot.errors import UserError
from bot.i18n import catalogue
from bot.model import Platform


def test_values_are_normalised() -> None:
    assert validate("timezone", "europe/london", Platform.CONSOLE) == "Europe/London"
    assert validate("language", "AR", Platform.CONSOLE) == "ar"
    assert validate("country", "jo", Platform.CONSOLE) == "JO"
    assert validate("moderators", "<#123456789012345678>", Platform.DISCORD) == "123456789012345678"
    assert validate("on-call", "<@&123456789012345678>", Platform.DISCORD) == "123456789012345678"
    assert validate("moderators", "!mods:example.org", Platform.MATRIX) == "!mods:example.org"
    assert validate("on-call", "@amal:example.org", Platform.MATRIX) == "@amal:example.org"
    assert validate("fallback", "none", Platform.MATRIX) is None


@pytest.mark.parametrize(
    ("key", "value", "platform", "error"),
    [
        ("moderators", "general", Platform.DISCORD, "admin.error.bad_discord_channel"),
        ("moderators", "mods", Platform.MATRIX, "admin.error.bad_matrix_room"),
        ("on-call", "@here", Platform.DISCORD, "admin.error.bad_discord_role"),
        ("on-call", "amal", Platform.MATRIX, "admin.error.bad_matrix_user"),
        ("moderators", "none", Platform.CONSOLE, "admin.error.required"),
        ("moderators", "two words", Platform.CONSOLE, "admin.error.bad_room"),
        ("name", "x" * 101, Platform.CONSOLE, "admin.error.bad_name"),
        ("langauge", "en", Platform.CONSOLE, "admin.error.unknown_key_suggest"),
        ("timezone", "Mars/Base", Platform.CONSOLE, "schedule.error.unknown_timezone"),
    ],
)
def test_bad_values_name_their_reason(key: str, value: str, platform: Platform, error: str) -> None:
    with pytest.raises(UserError) as raised:
        validate(key, value, platform)
    assert raised.value.key == error


def test_status_lines_render_in_both_languages_and_hide_secrets() -> None:
    messages = catalogue()
    line = adapter_line("matrix", False, encryption=False, error="401 token=syt_secret refused\nagain")
    assert "syt_secret" not in line
    assert render_line(messages, "en", line) == (
        "matrix: not connected · encryption off (encrypted rooms cannot be read)"
        " · last error: 401 token=… refused again"
    )
    assert render_line(messages, "en", adapter_line("discord", True, intent=True)) == (
        "discord: connected and ready · message content intent on"
    )
    assert render_line(messages, "ar", scheduler_line(True)) == "المجدول: يعمل"
    assert render_line(messages, "en", "something else") == "something else"
