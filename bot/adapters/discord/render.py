"""How the bot's text becomes Discord messages: Markdown shown literally, length limits, mention safety, idempotency
nonces.

Every message text the bot sends on Discord (outbox posts and direct messages, interaction answers and follow-ups,
prompts, a scheduled event's description) goes through :func:`escape_markdown` exactly once, in
:func:`message_parts` or :func:`clip_literal`, right before it is sent. The catalogue's templates hold no Markdown
(a test in tests/test_i18n.py keeps it so), so escaping the whole text changes nothing the bot meant, while a circle
named ``[Crisis line](https://evil.example)`` or a note holding ``||x||`` shows exactly as typed.
"""

from __future__ import annotations

import hashlib
import re

import discord

from bot.config.fields import is_snowflake

__all__ = [
    "MESSAGE_LIMIT",
    "NO_MENTIONS",
    "clip",
    "clip_literal",
    "escape_markdown",
    "message_parts",
    "nonce_for",
    "ping_mentions",
]

MESSAGE_LIMIT = 2000
NONCE_LIMIT = 25

NO_MENTIONS = discord.AllowedMentions.none()
"""Everything the bot sends uses this unless it deliberately pings one role: a circle named @everyone never pings."""

_ACTIVE = "\\*_~|`[]"
"""Characters escaped wherever they stand outside a mention or web address: the backslash itself (or ``\\*`` in user
text would turn Markdown back on), emphasis, underline, strikethrough, spoilers, code, and masked links' brackets."""
_ESCAPE_ACTIVE = str.maketrans({char: "\\" + char for char in _ACTIVE})

_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
"""Everything that may start a new line (those of :meth:`str.splitlines`): more than Discord needs, which only costs
a backslash that shows as nothing."""
_LINES = re.compile(f"([{_BREAKS}])")
_BLANK = rf"[^\S{_BREAKS}]"
_LINE_MARKER = re.compile(
    rf"{_BLANK}*(?:(?P<m>>)|(?P<h>#)(?=#{{0,2}}{_BLANK})|(?P<d>-)(?=#?{_BLANK})|(?P<p>\+)(?={_BLANK})"
    rf"|[0-9]+(?P<n>\.)(?={_BLANK}))"
)
"""What is active only at the start of a line: a quote (``>``, ``>>>``), a heading (``#`` to ``###``), subtext
(``-#``) or a list item (``- ``, ``+ ``, ``1. ``; ``* `` is escaped everywhere anyway). One backslash before the marker
character turns the line back into text."""

_URL_CHARS = r"[^\s<>\[\]\\|*`]"
_URL_END = r"[^\s<>\[\]\\|*`.,:;\"')]"
_PROTECTED = re.compile(
    r"<(?:@[!&]?[0-9]+|#[0-9]+|t:-?[0-9]+(?::[A-Za-z])?|a?:[A-Za-z0-9_]{2,32}:[0-9]+)>"
    rf"|<https?://{_URL_CHARS}+>"
    rf"|(?<!\w)https?://{_URL_CHARS}+{_URL_END}"
)
"""What the bot means literally and must keep working: user, role and channel mentions, timestamps, custom emoji
(whose names hold ``_``) and web addresses, bare or in ``<...>``. A web address here never holds a backslash,
brackets, ``*``, ``|`` or a backtick, and never reaches further than the address Discord itself links, so nothing left
unescaped in it can start Markdown; a masked link's brackets around one are always escaped."""


def _escape_line(line: str) -> str:
    """One line escaped: active characters outside protected spans, then the line-start marker, if any."""
    pieces: list[str] = []
    start = 0
    for span in _PROTECTED.finditer(line):
        pieces.append(line[start : span.start()].translate(_ESCAPE_ACTIVE))
        pieces.append(span.group())
        start = span.end()
    pieces.append(line[start:].translate(_ESCAPE_ACTIVE))
    escaped = "".join(pieces)
    marker = _LINE_MARKER.match(line)
    if marker is None or marker.lastindex is None:
        return escaped
    # Only blanks and digits (never escaped, never protected) stand before the marker, so its index is unchanged.
    at = marker.start(marker.lastindex)
    return escaped[:at] + "\\" + escaped[at:]


def escape_markdown(text: str) -> str:
    r"""``text`` with every Discord Markdown construct escaped, so Discord shows it exactly as written.

    A backslash goes before ``\ * _ ~ | ` [ ]`` everywhere, and before a quote, heading, subtext or list marker at
    the start of a line (after any blanks). Mentions (``<@1>``, ``<@!1>``, ``<@&1>``, ``<#1>``), timestamps
    (``<t:1:R>``), custom emoji (``<:name:1>``) and web addresses (``https://...``, ``<https://...>``) are kept as
    they are, so the links and mentions the bot writes still work (pings are stopped by allowed mentions, not here).
    Discord shows a backslash-escaped ASCII punctuation mark as the mark itself, so the bot's own words look the same.

    Not idempotent on purpose: escaping twice shows the backslashes, so each text is escaped once, as it is sent.
    Removing each backslash and keeping the character after it gives ``text`` back; the result is at most twice as
    long (a character gets one backslash at most).
    """
    lines = _LINES.split(text)
    lines[::2] = [_escape_line(line) for line in lines[::2]]
    return "".join(lines)


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when cut (Discord refuses longer fields).

    For fields Discord shows as plain text (names, labels, choices); message text goes through :func:`clip_literal`.
    """
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clip_literal(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """``text`` Markdown-escaped for a field Discord renders, cut to ``limit`` characters with an ellipsis when cut,
    never between a backslash and the character it escapes."""
    escaped = escape_markdown(text)
    if len(escaped) <= limit:
        return escaped
    cut = escaped[: limit - 1]
    if (len(cut) - len(cut.rstrip("\\"))) % 2:
        cut = cut[:-1]  # a lone backslash at the end would escape the ellipsis
    return cut + "…"


def _fits(text: str, limit: int) -> bool:
    return len(escape_markdown(text)) <= limit


def _cut(line: str, limit: int) -> int:
    """How much of ``line`` (longer than ``limit`` once escaped) goes in one message: as much as fits escaped, but
    not through the middle of a mention or web address that starts after the beginning."""
    low, high = 1, min(len(line), limit)
    while low < high:  # the longest prefix that fits, escaped
        middle = (low + high + 1) // 2
        if _fits(line[:middle], limit):
            low = middle
        else:
            high = middle - 1
    for span in _PROTECTED.finditer(line):
        if span.start() >= low:
            break
        if 0 < span.start() < low < span.end() and _fits(line[: span.start()], limit):
            return span.start()
    return low


def _escaped_pieces(line: str, limit: int) -> list[str]:
    """One line as escaped pieces of at most ``limit`` characters; each piece after the first starts a message of its
    own, so it is escaped as the start of a line (a ``# `` in the middle of a long line cannot become a heading)."""
    pieces: list[str] = []
    while True:
        escaped = escape_markdown(line) if len(line) <= limit else None
        if escaped is not None and len(escaped) <= limit:
            pieces.append(escaped)
            return pieces
        cut = _cut(line, limit)
        pieces.append(escape_markdown(line[:cut]))
        line = line[cut:]


def message_parts(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """``text`` as Discord message contents: Markdown escaped (see :func:`escape_markdown`), split into messages of
    at most ``limit`` characters each, at line breaks where possible.

    Each part is escaped on its own, once: a split never separates a backslash from the character it escapes, and
    the limit holds after escaping. A part that would hold only blank space is left out: Discord refuses an empty
    message with a 400, which would fail an interaction or keep an outbox item retrying forever. (Text that is all
    blank is returned as it is.)
    """
    if limit < 4:
        raise ValueError("a Discord message part needs room for at least one escaped character")
    if not text:
        return [""]
    if not text.strip():
        return [text[:limit]]
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        pieces = _escaped_pieces(line, limit)
        if len(pieces) > 1:
            if current:
                parts.append(current)
            parts.extend(pieces[:-1])
            current = pieces[-1]
            continue
        candidate = f"{current}\n{pieces[0]}" if current else pieces[0]
        if len(candidate) > limit:
            parts.append(current)
            current = pieces[0]
        else:
            current = candidate
    if current or not parts:
        parts.append(current)
    return [part for part in parts if part.strip()] or [clip_literal(text, limit)]


def nonce_for(key: str) -> str:
    """A Discord nonce (at most 25 characters) derived from an outbox key, so a resend shows once."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:NONCE_LIMIT]


def ping_mentions(role_id: str | None) -> discord.AllowedMentions:
    """Allowed mentions that ping exactly the on-call role (when it is a role id) and nobody else."""
    if role_id is None or not is_snowflake(role_id):
        return NO_MENTIONS
    role = discord.Object(int(role_id))
    return discord.AllowedMentions(everyone=False, users=False, roles=[role], replied_user=False)
