"""Normalisation of chat text for phrase matching, resistant to common evasions, with a map back to the original.

The matching form of a message is built token by token (a token is a run of non-whitespace, as ``str.split``):

1. each character goes through one table: invisible and bidi control characters removed (zero-width space and
   joiners, soft hyphen, LRM/RLM, LRE..PDF, LRI..PDI, BOM, word joiner, Mongolian vowel separator, variation
   selectors, fillers); NFKC; casefold; combining marks stripped from Latin, Greek, Cyrillic and Arabic letters
   (harakat, tanween, shadda, sukun, superscript alef, Latin accents); tatweel removed; Cyrillic and Greek
   look-alikes, small capitals and regional indicators read as Latin letters; Arabic alef forms, alef maqsura,
   ta marbuta and hamza carriers unified; Arabic-Indic and Persian digits read as ASCII digits; apostrophes dropped
   (``can't`` = ``cant``); dashes and underscores read as ``-``;
2. digits and symbols used as Latin letters are folded into them (``0 o``, ``1 | l i`` all become ``i``, ``3 e``,
   ``4 @ a``, ``5 $ s``, ``7 t``; ``!`` between Latin letters is ``i``). Because ``1`` may stand for ``l`` or
   ``i``, ``l`` and ``i`` are one letter here; lexicon phrases go through the same function, so they still match;
3. single letters joined by separators (``k.i.l.l``, ``k-i-l-l``) are joined, then ``-`` becomes a space;
4. runs of one repeated character collapse to one (``diiiie`` = ``die``, ``sooo`` = ``so``; ``kill`` = ``kil``).

Tokens are then joined by one space, and a run of three or more one-letter tokens (``k i l l  m y s e l f``) is
joined into words (two or more spaces, or a line break, separate them). Zero-width joiners and non-joiners are
removed from this matching form only (no English or Arabic phrase needs them); the original text is untouched.
Arabic script is never transliterated: the folds of step 2 touch only ASCII digits, symbols and Latin letters, and
Arabizi (Arabic in Latin letters with digits, ``3ayez amoot``) keeps working because its
lexicon is folded by the same function as the text.

:func:`normalise` is the fast path (a per-token cache, no offsets; in C for most tokens). :func:`normalise_mapped`
is the slow path, run only when a phrase may have matched: it returns the same text and, for each character, the
range of the original text it came from, so a match reports a span in the text as received. Every step is a single
pass or a regular expression without backtracking, so time grows linearly with the length of the message.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

__all__ = ["Normalised", "normalise", "normalise_mapped"]

# Characters read as a different character (or removed, "") before the generic rules, by the character as typed.
_EXPLICIT: dict[str, str] = {
    # Invisible or layout characters that are not in category Cf but are used to split a word without a trace.
    "\u034f": "", "\u115f": "", "\u1160": "", "\u17b4": "", "\u17b5": "", "\u3164": "", "\uffa0": "",
    "\u2800": " ",  # braille blank: looks like a space
    "\u0640": "",  # tatweel (kashida): stretches Arabic words
    # Apostrophes: "can't" and "cant" are one word in chat.
    "'": "", "\u2019": "", "\u2018": "", "\u201b": "", "\u02bc": "", "`": "", "\u00b4": "", "\u2032": "",
    # Dashes and underscore: one separator, read as a space once letter-by-letter spelling has been joined.
    "_": "-", "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
    "\u2212": "-",
}  # fmt: skip

# Applied to each character of NFKC + casefold + mark stripping output.
_AFTER: dict[str, str] = {
    # Cyrillic look-alikes.
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "т": "t",
    "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "һ": "h", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ӏ": "l",
    "ү": "y", "ғ": "f", "ɡ": "g",
    # Greek look-alikes.
    "α": "a", "β": "b", "γ": "y", "ε": "e", "η": "n", "ι": "i", "κ": "k", "μ": "u", "ν": "v", "ο": "o", "ρ": "p",
    "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ϲ": "c", "ϳ": "j", "ϵ": "e", "ϱ": "p",
    # Latin letters without a decomposition, and small capitals.
    "ı": "i", "ɩ": "i", "ø": "o", "đ": "d", "ł": "l", "ħ": "h", "ŧ": "t", "ƒ": "f", "ɪ": "i", "ʟ": "l", "ᴋ": "k",
    "ᴍ": "m", "ʏ": "y", "ᴇ": "e", "ꜱ": "s", "ᴅ": "d", "ʜ": "h", "ɴ": "n", "ᴏ": "o", "ᴘ": "p", "ʀ": "r", "ᴛ": "t",
    "ᴜ": "u", "ᴠ": "v", "ᴡ": "w", "ᴢ": "z", "ᴀ": "a", "ʙ": "b", "ᴄ": "c", "ɢ": "g", "ᴊ": "j",
    # Digits and symbols used as Latin letters; "l" joins "i" because "1" and "|" stand for either.
    "0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "|": "i", "€": "e", "¡": "i",
    "l": "i",
    # Arabic letter variants (the hamza carriers and madda alef lose their mark when decomposed).
    "ٱ": "ا", "ٲ": "ا", "ٳ": "ا", "ى": "ي", "ی": "ي", "ة": "ه", "ۀ": "ه", "ھ": "ه", "ک": "ك",
}  # fmt: skip
_AFTER = {key: value.replace("l", "i") for key, value in _AFTER.items()}  # look-alikes of "l" join "i" too
for _zero in (0x0660, 0x06F0):  # Arabic-Indic and Persian digits are ASCII digits, then folded like them
    for _d in range(10):
        _AFTER[chr(_zero + _d)] = _AFTER.get(str(_d), str(_d))
for _ri in range(26):  # regional indicator symbols (flag letters) spell words too
    _AFTER[chr(0x1F1E6 + _ri)] = _AFTER.get(chr(ord("a") + _ri), chr(ord("a") + _ri))

# Combining marks removed wherever they stand: Latin and Cyrillic diacritics (also used for "zalgo" and strike-
# through evasions), Arabic harakat, tanween, shadda, sukun, superscript alef and Quranic marks, variation selectors.
_MARK_RANGES = (
    (0x0300, 0x036F), (0x0483, 0x0489), (0x0610, 0x061A), (0x064B, 0x065F), (0x0670, 0x0670), (0x06D6, 0x06DC),
    (0x06DF, 0x06E4), (0x06E7, 0x06E8), (0x06EA, 0x06ED), (0x08D3, 0x08FF), (0x1AB0, 0x1AFF), (0x1DC0, 0x1DFF),
    (0x20D0, 0x20FF), (0xFE00, 0xFE0F), (0xFE20, 0xFE2F), (0x180B, 0x180F), (0xE0100, 0xE01EF),
)  # fmt: skip
# Scripts whose precomposed letters are decomposed so that their marks can go (Hangul, Indic scripts are left alone).
_DECOMPOSE_RANGES = ((0x0041, 0x024F), (0x0370, 0x04FF), (0x0600, 0x06FF), (0x1E00, 0x1FFF))
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})
_DOT_SEPARATORS = frozenset(".*-·•,/+~")
_ASCII_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyz")
# Marks a one-letter token in the fast path, so that three in a row can be found with a literal search.
_MARK = "\x00"
_SPACED_RUN = re.compile(f"{_MARK} [^ ]{_MARK} [^ ]{_MARK}")
_LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")  # what str.splitlines ends a line at
_CACHE_LIMIT = 50_000
_CACHEABLE_TOKEN = 40


def _in(ranges: tuple[tuple[int, int], ...], code: int) -> bool:
    return any(low <= code <= high for low, high in ranges)


def _fold_char(char: str) -> str:
    """The matching form of one character (before the token-level steps)."""
    if char in _EXPLICIT:
        return _EXPLICIT[char]
    if unicodedata.category(char) in _INVISIBLE_CATEGORIES or _in(_MARK_RANGES, ord(char)):
        return ""
    out = []
    for part in unicodedata.normalize("NFKC", char).casefold():
        pieces = unicodedata.normalize("NFKD", part) if _in(_DECOMPOSE_RANGES, ord(part)) else part
        for piece in pieces:
            if piece in _EXPLICIT:
                out.append(_EXPLICIT[piece])
            elif not _in(_MARK_RANGES, ord(piece)) and unicodedata.category(piece) not in _INVISIBLE_CATEGORIES:
                out.append(_AFTER.get(piece, piece))
    return "".join(out)


class _CharTable(dict[str, str]):
    """Per-character folds, computed on first sight; bounded so odd input cannot grow it without limit."""

    def __missing__(self, char: str) -> str:
        folded = _fold_char(char)
        if len(self) < _CACHE_LIMIT:
            self[char] = folded
        return folded


_CHARS = _CharTable()


class _CodeTable(dict[int, str]):
    """The same folds keyed by code point, as ``str.translate`` wants them."""

    def __missing__(self, code: int) -> str:
        folded = _CHARS[chr(code)]
        if len(self) < _CACHE_LIMIT:
            self[code] = folded
        return folded


_CODES = _CodeTable()
# The token-level steps of _token_mapped in C: "!" between Latin letters; a test that no letters are spelled
# one by one (a necessary condition: letter, separator, letter, separator, letter); runs of one character.
_BANGS = re.compile(r"(?<=[a-z])!+(?=[a-z])")
_SEPARATOR = "[" + re.escape("".join(sorted(_DOT_SEPARATORS))) + "]"
_MAYBE_DOTTED = re.compile(rf"[^\W\d_]{_SEPARATOR}[^\W\d_]{_SEPARATOR}[^\W\d_]")
_REPEATS = re.compile(r"(.)\1+", re.DOTALL)


def _token_mapped(token: str) -> tuple[list[str], list[int], list[int]]:
    """Normalise one token; each output character with the [start, end) range of ``token`` it came from."""
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for index, char in enumerate(token):
        folded = _CHARS[char]
        if not folded and ends and ends[-1] == index and unicodedata.category(char).startswith("M"):
            ends[-1] = index + 1  # a removed diacritic belongs to its letter: spans keep the whole word
        for out in folded:
            chars.append(out)
            starts.append(index)
            ends.append(index + 1)
    count = len(chars)
    # "!" between Latin letters stands for "i" (k!ll); a sentence's "!" stays punctuation.
    for index in range(1, count - 1):
        if chars[index] == "!" and chars[index - 1] in _ASCII_LETTERS:
            end = index
            while end < count and chars[end] == "!":
                end += 1
            if end < count and chars[end] in _ASCII_LETTERS:
                for bang in range(index, end):
                    chars[bang] = "i"
    keep = _joined_letters(chars)
    chars = [c for c, k in zip(chars, keep, strict=True) if k]
    starts = [s for s, k in zip(starts, keep, strict=True) if k]
    ends = [e for e, k in zip(ends, keep, strict=True) if k]
    chars = [" " if c == "-" else c for c in chars]
    return _collapse(chars, starts, ends)


def _joined_letters(chars: list[str]) -> list[bool]:
    """Which characters to keep when single letters joined by separators (k.i.l.l) are written as one word."""
    keep = [True] * len(chars)
    index, count = 0, len(chars)
    while index < count:
        # A run starts at a lone letter followed by separator + lone letter, at least three letters long.
        if chars[index].isalpha() and (index == 0 or not chars[index - 1].isalpha()):
            end = index + 1
            letters = 1
            while (
                end + 1 < count
                and chars[end] in _DOT_SEPARATORS
                and chars[end + 1].isalpha()
                and (end + 2 >= count or not chars[end + 2].isalpha())
                and (letters == 1 or chars[end] == chars[index + 1])
            ):
                end += 2
                letters += 1
            if letters >= 3 and (end >= count or not chars[end].isalpha()):
                for sep in range(index + 1, end, 2):
                    keep[sep] = False
                index = end
                continue
        index += 1
    return keep


def _collapse(chars: list[str], starts: list[int], ends: list[int]) -> tuple[list[str], list[int], list[int]]:
    """Collapse runs of one character and trim spaces; merged characters keep the whole run's range."""
    out_chars: list[str] = []
    out_starts: list[int] = []
    out_ends: list[int] = []
    for char, start, end in zip(chars, starts, ends, strict=True):
        if out_chars and out_chars[-1] == char:
            out_ends[-1] = end
        elif char != " " or out_chars:
            out_chars.append(char)
            out_starts.append(start)
            out_ends.append(end)
    if out_chars and out_chars[-1] == " ":
        del out_chars[-1], out_starts[-1], out_ends[-1]
    return out_chars, out_starts, out_ends


# A token's matching form with, per character, its [start, end) range in the token.
_Piece = tuple[str, tuple[int, ...], tuple[int, ...]]
_Value = TypeVar("_Value")


class _Memo(dict[str, _Value]):
    """Results by token as typed (chat vocabulary repeats a lot), in two generations: when the current one is
    full it becomes the older one, so frequent words survive a turnover and memory stays bounded."""

    def __init__(self, compute: Callable[[str], _Value]) -> None:
        super().__init__()
        self._compute = compute
        self._older: dict[str, _Value] = {}

    def __missing__(self, token: str) -> _Value:
        value = self._older.get(token)  # one read: another thread may swap generations meanwhile
        if value is None:
            value = self._compute(token)
        if len(token) <= _CACHEABLE_TOKEN:
            if len(self) >= _CACHE_LIMIT:
                self._older = self.copy()
                self.clear()
            self[token] = value
        return value


def _piece(token: str) -> _Piece:
    chars, starts, ends = _token_mapped(token)
    return "".join(chars), tuple(starts), tuple(ends)


def _fold_token(token: str) -> str:
    """``_token_mapped(token)`` as a string, in C unless letters may be spelled one by one (k.i.l.l)."""
    folded = token.translate(_CODES)
    if "!" in folded:
        folded = _BANGS.sub(lambda bangs: "i" * len(bangs.group()), folded)
    if _MAYBE_DOTTED.search(folded):
        return "".join(_token_mapped(token)[0])
    return _REPEATS.sub(r"\1", folded.replace("-", " ")).strip(" ")


def _marked(token: str) -> str:
    folded = _fold_token(token)
    return folded + _MARK if len(folded) == 1 and folded.isalpha() else folded


_PIECES: _Memo[_Piece] = _Memo(_piece)
_TOKENS: _Memo[str] = _Memo(_marked)  # one-letter tokens carry _MARK, for the spaced-letters check


def normalise(text: str) -> str:
    """The matching form of ``text`` (fast path, no offsets). Equal to ``normalise_mapped(text).text``."""
    folded = " ".join(map(_TOKENS.__getitem__, text.split()))
    if "  " in folded or folded[:1] == " " or folded[-1:] == " ":  # a token of invisible characters only
        folded = " ".join(filter(None, folded.split(" ")))
    if _MARK in folded:
        if _SPACED_RUN.search(folded):
            return normalise_mapped(text).text
        folded = folded.replace(_MARK, "")
    return folded


@dataclass(frozen=True, slots=True)
class Normalised:
    """A matching form and the way back to the original text, piece by piece (a piece is one token's matching
    form, or a word joined from letters written one by one).

    ``line_breaks`` holds the positions of spaces that stand for a line break in the original (a sentence ends
    there); ``spaced`` the [start, end) ranges of words joined from letters written one by one.
    """

    text: str
    line_breaks: frozenset[int]
    spaced: tuple[tuple[int, int], ...]
    _offsets: tuple[int, ...]  # where each piece starts in ``text``
    _bases: tuple[int, ...]  # where its token starts in the original text
    _starts: tuple[tuple[int, ...], ...]  # per piece, per character: start relative to the base
    _ends: tuple[tuple[int, ...], ...]

    def _origin(self, position: int, *, end: bool) -> int:
        piece = bisect_right(self._offsets, position) - 1
        inside = position - self._offsets[piece]
        starts, ends = self._starts[piece], self._ends[piece]
        if inside < len(starts):
            return self._bases[piece] + (ends[inside] if end else starts[inside])
        # the space after this piece: it stands for the whitespace up to the next piece
        if end:
            return self._bases[piece + 1] + self._starts[piece + 1][0]
        return self._bases[piece] + ends[-1]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The [start, end) range of the original text behind ``text[start:end]`` (``end > start``)."""
        return self._origin(start, end=False), self._origin(end - 1, end=True)


def normalise_mapped(text: str) -> Normalised:
    """The matching form of ``text`` with offsets into ``text`` (slow path, for messages that matched)."""
    tokens: list[tuple[int, int, _Piece]] = []
    position = 0
    for token in text.split():  # the same tokens as the fast path; find() gives their offsets
        base = text.find(token, position)
        position = base + len(token)
        piece = _PIECES[token]
        if piece[0]:
            tokens.append((base, position, piece))
    groups: list[tuple[int, _Piece, bool]] = []  # (base, piece, joined from single letters)
    index = 0
    while index < len(tokens):
        run = index
        while run < len(tokens) and len(tokens[run][2][0]) == 1 and tokens[run][2][0].isalpha():
            run += 1
        if run - index < 3:
            groups.append((tokens[index][0], tokens[index][2], False))
            index += 1
            continue
        # Letters written one by one make words; more than one space (or a line break) separates words.
        cuts = [k for k in range(index + 1, run) if _wide(text[tokens[k - 1][1] : tokens[k][0]])]
        for low, high in zip([index, *cuts], [*cuts, run], strict=True):
            group = tokens[low:high]
            chars, starts, ends = _collapse(
                [t[2][0] for t in group], [t[0] + t[2][1][0] for t in group], [t[0] + t[2][2][0] for t in group]
            )
            groups.append((0, ("".join(chars), tuple(starts), tuple(ends)), high - low > 1))
        index = run
    line_breaks = any(char in text for char in _LINE_BREAKS)
    parts: list[str] = []
    offsets: list[int] = []
    spaced: list[tuple[int, int]] = []
    breaks: list[int] = []
    length = 0
    for number, (base, (folded, first_starts, _), joined) in enumerate(groups):
        if number:
            if line_breaks:
                previous_base, previous = groups[number - 1][0], groups[number - 1][1]
                if _wide(text[previous_base + previous[2][-1] : base + first_starts[0]], spaces=False):
                    breaks.append(length)
            parts.append(" ")
            length += 1
        if joined:
            spaced.append((length, length + len(folded)))
        parts.append(folded)
        offsets.append(length)
        length += len(folded)
    return Normalised(
        "".join(parts),
        frozenset(breaks),
        tuple(spaced),
        tuple(offsets),
        tuple(g[0] for g in groups),
        tuple(g[1][1] for g in groups),
        tuple(g[1][2] for g in groups),
    )


def _wide(gap: str, *, spaces: bool = True) -> bool:
    """Whether whitespace between tokens holds a line break (or, with ``spaces``, more than one character)."""
    return (spaces and len(gap) > 1) or any(char in _LINE_BREAKS for char in gap)
