"""How the bot's text becomes Discord messages: length limits, mention safety, idempotency nonces."""

from __future__ import annotations

import hashlib

import discord

from bot.config.fields import is_snowflake

__all__ = ["MESSAGE_LIMIT", "NO_MENTIONS", "chunks", "clip", "nonce_for", "ping_mentions"]

MESSAGE_LIMIT = 2000
NONCE_LIMIT = 25

NO_MENTIONS = discord.AllowedMentions.none()
"""Everything the bot sends uses this unless it deliberately pings one role: a circle named @everyone never pings."""


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when cut (Discord refuses longer fields)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def chunks(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split ``text`` into messages of at most ``limit`` characters, at line breaks where possible.

    A part that would hold only blank space is left out: Discord refuses an empty message with a 400, which would
    fail an interaction or keep an outbox item retrying forever. (Text that is all blank is returned as it is.)
    """
    if not text:
        return [""]
    if not text.strip():
        return [text[:limit]]
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current or not parts:
        parts.append(current)
    return [part for part in parts if part.strip()] or [text[:limit]]


def nonce_for(key: str) -> str:
    """A Discord nonce (at most 25 characters) derived from an outbox key, so a resend shows once."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:NONCE_LIMIT]


def ping_mentions(role_id: str | None) -> discord.AllowedMentions:
    """Allowed mentions that ping exactly the on-call role (when it is a role id) and nobody else."""
    if role_id is None or not is_snowflake(role_id):
        return NO_MENTIONS
    role = discord.Object(int(role_id))
    return discord.AllowedMentions(everyone=False, users=False, roles=[role], replied_user=False)
