"""Circle names: cleaning what a person typed, folding for comparison, suggesting close matches."""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable

from bot.errors import UserError

__all__ = ["MAX_NAME", "MIN_NAME", "clean_name", "name_key", "suggest"]

MIN_NAME = 2
MAX_NAME = 80
# Names are shown in many places; a leading sigil could read as a mention, a channel or a command there.
_FORBIDDEN_START = ("@", "#", "!", "/")


def name_key(name: str) -> str:
    """The form used to compare names: NFKC, case-folded, single spaces."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def clean_name(raw: str) -> str:
    """A circle name as it will be stored and shown, or a :class:`UserError` saying what is wrong."""
    name = " ".join(unicodedata.normalize("NFC", raw).split())
    if any(unicodedata.category(ch) in {"Cc", "Cf", "Co", "Cs"} for ch in name):
        raise UserError("circle.error.name_invalid_chars")
    if name.startswith(_FORBIDDEN_START):
        raise UserError("circle.error.name_bad_start")
    if not MIN_NAME <= len(name) <= MAX_NAME:
        raise UserError("circle.error.name_length", low=MIN_NAME, high=MAX_NAME)
    return name


def suggest(query: str, names: Iterable[str], limit: int = 3) -> list[str]:
    """Up to ``limit`` names close to ``query``: close spellings first, then names that contain it."""
    by_key = {name_key(name): name for name in names}
    key = name_key(query)
    close = difflib.get_close_matches(key, list(by_key), n=limit, cutoff=0.6)
    for candidate in by_key:
        if len(close) >= limit:
            break
        if key and key in candidate and candidate not in close:
            close.append(candidate)
    return [by_key[candidate] for candidate in close]
