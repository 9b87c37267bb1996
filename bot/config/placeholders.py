"""Refusal of the example values shipped in config.example.yaml.

A copied example that still names ``!moderators:example.org`` would start, and then send every crisis alert to
a room nobody reads. So the loader refuses any value that is one of these placeholders, or any Matrix id or
URL on the reserved example domains (RFC 2606), which no real server uses.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from bot.config.messages import Loc, is_secret_path

__all__ = ["EXAMPLE_PLACEHOLDERS", "find_placeholders", "is_placeholder"]

EXAMPLE_PLACEHOLDERS: frozenset[str] = frozenset(
    {
        # Discord: server (guild), moderators' channel, fallback channel, and role ids.
        "123456789012345678",
        "234567890123456789",
        "234567890123456790",
        "345678901234567890",
        "456789012345678901",
        "567890123456789012",
        # Matrix: homeserver, bot account, people, space and rooms.
        "https://matrix.example.org",
        "@peer-circles:example.org",
        "@alice:example.org",
        "@sam:example.org",
        "!community-space:example.org",
        "!moderators:example.org",
        "!moderators-backup:example.org",
        "#circles:example.org",
    }
)

_EXAMPLE_DOMAIN = r"(?:[a-z0-9-]+\.)*example\.(?:org|com|net)(?::\d+)?"
_MATRIX_ON_EXAMPLE = re.compile(rf"[@!#+$][^:\s]*:{_EXAMPLE_DOMAIN}", re.IGNORECASE)
_URL_ON_EXAMPLE = re.compile(rf"[a-z][a-z0-9+.-]*://(?:[^/@\s]*@)?{_EXAMPLE_DOMAIN}(?:[/?#].*)?", re.IGNORECASE)


def is_placeholder(value: str) -> bool:
    """True for an example value from config.example.yaml, or a Matrix id or URL on an example domain."""
    stripped = value.strip()
    return (
        stripped in EXAMPLE_PLACEHOLDERS
        or _MATRIX_ON_EXAMPLE.fullmatch(stripped) is not None
        or _URL_ON_EXAMPLE.fullmatch(stripped) is not None
    )


def _strings(value: Any, loc: Loc) -> Iterator[tuple[Loc, str]]:
    if isinstance(value, str):
        yield loc, value
    elif isinstance(value, int) and not isinstance(value, bool):
        # An unquoted Discord id arrives as a number.
        yield loc, str(value)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, (*loc, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*loc, index))


def find_placeholders(data: Any) -> list[tuple[Loc, str]]:
    """Each example value left in ``data`` (the parsed file after ``${...}`` substitution), and where."""
    found: list[tuple[Loc, str]] = []
    for loc, value in _strings(data, ()):
        if not is_placeholder(value):
            continue
        shown = "an example value" if is_secret_path(loc) else f"the example value {value.strip()!r}"
        found.append((loc, f"still has {shown} from config.example.yaml; replace it with your own"))
    return found
