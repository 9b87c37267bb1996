"""Durations as people write them in the configuration."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from bot.config import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90m", timedelta(minutes=90)),
        ("24h", timedelta(hours=24)),
        ("30d", timedelta(days=30)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("45s", timedelta(seconds=45)),
        ("2w", timedelta(weeks=2)),
        ("1h 30m", timedelta(hours=1, minutes=30)),
        (" 24H ", timedelta(hours=24)),
        ("0s", timedelta(0)),
        ("1d12h", timedelta(days=1, hours=12)),
    ],
)
def test_parse_duration_accepts(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("-5m", "is negative"),
        ("5y", "unknown unit 'y'"),
        ("10 minutes", "unknown unit 'minutes'"),
        ("30", "has no unit; write for example 30m or 30s"),
        ("1.5h", "has a fraction"),
        ("1h1h", "gives hours twice"),
        ("h", "is not a duration"),
        ("5m later", "is not a duration"),
        ("5m!", "is not a duration"),
        ("about 5m", "is not a duration"),
    ],
)
def test_parse_duration_rejects_with_a_readable_message(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_duration(text)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(minutes=90), "1h30m"),
        (timedelta(hours=24), "1d"),
        (timedelta(days=14), "2w"),
        (timedelta(days=30), "30d"),
        (timedelta(0), "0s"),
        (timedelta(seconds=45), "45s"),
    ],
)
def test_format_duration_writes_what_parse_reads(value: timedelta, text: str) -> None:
    assert format_duration(value) == text
    assert parse_duration(text) == value
