"""How people and rooms are named in the bot's text on each platform."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.shown import shown_name, shown_room
from bot.storage.models import Member


def _member(platform: str, native_id: str) -> Member:
    return Member(platform=platform, native_id=native_id, created_at=datetime(2026, 1, 1, tzinfo=UTC))


def test_discord_people_and_channels_are_mentions_and_others_their_ids() -> None:
    assert shown_name(_member("discord", "500000000000000002")) == "<@500000000000000002>"
    assert shown_name(_member("matrix", "@amal:example.org")) == "@amal:example.org"
    assert shown_name(_member("console", "amal")) == "amal"
    assert shown_room("discord", "300000000000000001") == "<#300000000000000001>"
    assert shown_room("matrix", "!room:example.org") == "!room:example.org"
    assert shown_room("console", "#general") == "#general"


def test_only_discord_ids_make_a_mention() -> None:
    # Arabic-Indic digits and "²" are digits to str.isdigit (and to \d), but not Discord ids: shown as they are.
    arabic = "٣" * 18
    assert shown_room("discord", arabic) == arabic
    assert shown_name(_member("discord", "²")) == "²"
    assert shown_room("discord", "12345") == "12345"  # too short for a snowflake
