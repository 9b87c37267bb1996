"""Durations written the way people write them: ``90m``, ``24h``, ``1h30m``, ``2w``.

The configuration stores every period (reminders, cooldowns, retention) as such a string, so a server owner
never has to count seconds. Only whole numbers are accepted: ``1.5h`` is ambiguous to some readers, ``1h30m``
is not.
"""

from __future__ import annotations

import re
from datetime import timedelta

__all__ = ["UNIT_SECONDS", "format_duration", "parse_duration"]

UNIT_SECONDS: dict[str, int] = {
    "w": 7 * 24 * 3600,
    "d": 24 * 3600,
    "h": 3600,
    "m": 60,
    "s": 1,
}

_UNIT_WORDS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
_PART = re.compile(r"(\d+)\s*([a-z]+)")
_UNITS_HINT = "use s (seconds), m (minutes), h (hours), d (days) or w (weeks), for example 90m, 24h or 1h30m"


def parse_duration(text: str) -> timedelta:
    """Parse a duration such as ``"45s"``, ``"90m"``, ``"24h"``, ``"30d"``, ``"2w"`` or ``"1h30m"``.

    Parts may be separated by spaces (``"1h 30m"``) and units are case-insensitive. Each unit may appear once.

    Raises:
        ValueError: with a message meant for the person who wrote the value (empty, negative, a number without
            a unit, a fraction, or an unknown unit).
    """
    cleaned = text.strip().lower()
    if not cleaned:
        raise ValueError(f"is empty; write a duration, {_UNITS_HINT}")
    if cleaned.startswith("-"):
        raise ValueError(f"{text!r} is negative; a duration must be zero or more")
    if re.fullmatch(r"\d+", cleaned):
        raise ValueError(f"{text!r} has no unit; write for example {cleaned}m or {cleaned}s")
    if re.search(r"\d[.,]\d", cleaned):
        raise ValueError(f"{text!r} has a fraction; use whole numbers, for example 1h30m instead of 1.5h")

    total = 0
    seen: set[str] = set()
    position = 0
    for match in _PART.finditer(cleaned):
        between = cleaned[position : match.start()]
        if between.strip():
            raise ValueError(f"{text!r} is not a duration; {_UNITS_HINT}")
        number, unit = match.groups()
        if unit not in UNIT_SECONDS:
            raise ValueError(f"{text!r} uses the unknown unit {unit!r}; {_UNITS_HINT}")
        if unit in seen:
            raise ValueError(f"{text!r} gives {_UNIT_WORDS[unit]} twice; write each unit once, like 1h30m")
        seen.add(unit)
        total += int(number) * UNIT_SECONDS[unit]
        position = match.end()
    if not seen or cleaned[position:].strip():
        raise ValueError(f"{text!r} is not a duration; {_UNITS_HINT}")
    return timedelta(seconds=total)


def format_duration(value: timedelta) -> str:
    """Write a duration in the notation :func:`parse_duration` reads: ``timedelta(minutes=90)`` -> ``1h30m``.

    Sub-second parts are dropped; zero is written ``0s``.
    """
    seconds = int(value.total_seconds())
    if seconds < 0:
        return "-" + format_duration(-value)
    if seconds == 0:
        return "0s"
    parts: list[str] = []
    for unit, size in UNIT_SECONDS.items():
        # Weeks read oddly for short spans but well for retention; use them only when the span is whole weeks.
        if unit == "w" and seconds % size:
            continue
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
