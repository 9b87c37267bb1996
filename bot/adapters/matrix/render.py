"""Engine text -> Matrix message content: an ``m.notice`` with a plain body and an escaped HTML body.

Every piece of text that came from the engine (which may contain member-chosen names) is HTML-escaped, so a circle
called ``<b>x</b>`` is shown literally. Each message carries ``m.mentions``, so ``@room`` or a display name in the
text never pings anyone; only the person addressed (a pill) is mentioned. Web addresses become links, except a
matrix.to address of a person or a room: clients show such a link as a pill, and a pill must never come from text a
member wrote (a circle named after a moderator's address would look like a mention of them).
"""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import quote, unquote

__all__ = ["event_link", "is_pill", "notice", "pill", "room_link", "user_link"]

_URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")
_PERMALINK = re.compile(r"https?://matrix\.to/#/(?P<target>.*)", re.IGNORECASE | re.DOTALL)


def user_link(user_id: str) -> str:
    """The matrix.to address of a person."""
    return f"https://matrix.to/#/{quote(user_id, safe='@:')}"


def event_link(room_id: str, event_id: str) -> str:
    """The matrix.to address of one event in its room, for moderators to open."""
    return f"https://matrix.to/#/{quote(room_id, safe='!:#')}/{quote(event_id, safe='$:')}"


def room_link(room_id: str) -> str:
    """The matrix.to address of a room."""
    return f"https://matrix.to/#/{quote(room_id, safe='!:#')}"


def pill(user_id: str, display: str) -> str:
    """An HTML mention pill for ``user_id`` showing ``display``."""
    return f'<a href="{html.escape(user_link(user_id), quote=True)}">{html.escape(display or user_id)}</a>'


def is_pill(url: str) -> bool:
    """Whether clients would show ``url`` as a pill: a matrix.to address of a person, or of a room rather than of one
    message in it (percent-encoding undone, as clients do)."""
    matched = _PERMALINK.fullmatch(unquote(url))
    if matched is None:
        return False
    target = matched["target"].split("?", 1)[0]
    return target.startswith("@") or "/$" not in target


def _html(text: str) -> str:
    """Escape ``text``, turn web addresses (but never a pill's) into links and line breaks into ``<br>``."""
    parts: list[str] = []
    last = 0
    for match in _URL.finditer(text):
        url = match.group(0)
        if is_pill(url):
            continue  # left as text, escaped with what surrounds it
        parts.append(html.escape(text[last : match.start()]))
        parts.append(f'<a href="{html.escape(url, quote=True)}">{html.escape(url)}</a>')
        last = match.end()
    parts.append(html.escape(text[last:]))
    return "".join(parts).replace("\n", "<br>")


def notice(text: str, *, mention: tuple[str, str] | None = None) -> dict[str, Any]:
    """The content of an ``m.notice`` saying ``text``; ``mention`` is ``(user_id, display)`` of the person addressed."""
    body = text
    formatted = _html(text)
    mentions: dict[str, Any] = {}
    if mention is not None:
        user_id, display = mention
        body = f"{display or user_id}: {text}"
        formatted = f"{pill(user_id, display)}: {formatted}"
        mentions["user_ids"] = [user_id]
    return {
        "msgtype": "m.notice",
        "body": body,
        "format": "org.matrix.custom.html",
        "formatted_body": formatted,
        "m.mentions": mentions,
    }
