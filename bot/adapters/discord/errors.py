"""Discord failures translated into the project's own exceptions, at the adapter's edge."""

from __future__ import annotations

import asyncio

import aiohttp
import discord

from bot.errors import DeliveryRefused, PeerCirclesError, PlatformError

__all__ = ["CANNOT_DM", "translate_error"]

CANNOT_DM = 50007
"""Discord's code for "Cannot send messages to this user" (DMs closed, or no shared server)."""


def _retry_after(error: discord.HTTPException) -> float | None:
    headers = getattr(error.response, "headers", None) or {}
    for name in ("Retry-After", "retry-after", "X-RateLimit-Reset-After"):
        value = headers.get(name)
        if value is not None:
            try:
                return float(value)
            except ValueError:
                continue
    return None


def translate_error(error: BaseException) -> PeerCirclesError:
    """The project's exception for a failed Discord call: ``PlatformError`` when a retry may work (rate limits,
    server errors, timeouts), ``DeliveryRefused`` when it never will (DMs closed, unknown channel, no access)."""
    if isinstance(error, discord.RateLimited):
        return PlatformError(f"Discord rate limit: retry in {error.retry_after:.1f}s", retry_after=error.retry_after)
    if isinstance(error, discord.HTTPException):
        status, code = error.status, error.code
        if status == 429:
            return PlatformError(f"Discord rate limit (429, code {code})", retry_after=_retry_after(error))
        if status >= 500:
            return PlatformError(f"Discord server error {status} (code {code})")
        if code == CANNOT_DM:
            return DeliveryRefused("the member does not accept direct messages from the bot (50007)")
        return DeliveryRefused(f"Discord refused the request: {status} (code {code})")
    if isinstance(error, asyncio.TimeoutError | aiohttp.ClientError | OSError):
        return PlatformError(f"Discord unreachable: {type(error).__name__}")
    return PlatformError(f"Discord call failed: {type(error).__name__}")
