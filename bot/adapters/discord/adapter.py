"""The Discord adapter: connects with the configured token and serves until told to stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import aiohttp
import discord
import yarl
from discord.gateway import DiscordWebSocket

from bot.adapters.base import Adapter
from bot.config.platforms import DiscordSettings
from bot.errors import PlatformCredentialsError, PlatformError
from bot.model import Platform

from .bridge import Bridge, Services
from .client import make_client, watch_of
from .errors import translate_error

__all__ = ["DiscordAdapter", "apply_endpoints"]

log = logging.getLogger(__name__)

GATEWAY_AUTHENTICATION_FAILED = 4004


def apply_endpoints(settings: DiscordSettings) -> None:
    """Point discord.py at a REST proxy or emulator (``api_base_url``, including ``/api/v10``) and gateway."""
    if settings.api_base_url is not None:
        discord.http.Route.BASE = settings.api_base_url.rstrip("/")
    if settings.gateway_url is not None:
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.gateway_url)


class DiscordAdapter(Adapter):
    """One Discord bot connection (or the configured shards of it)."""

    platform = Platform.DISCORD

    def __init__(self, services: Services) -> None:
        self.services = services
        self.bridge = Bridge(services)
        self.client = make_client(self.bridge, services.settings().platforms.discord)

    @property
    def ready(self) -> bool:
        """Connected and past READY, and no gateway connection is down (discord.py keeps ``is_ready()`` true while
        it reconnects, so that alone would report a lost connection as healthy)."""
        watch = watch_of(self.client)
        connected = watch is None or watch.connected
        return self.client.is_ready() and not self.client.is_closed() and connected

    @property
    def last_error(self) -> str | None:
        """What is wrong with the connection now, for ``admin status``; ``None`` when nothing is."""
        watch = watch_of(self.client)
        return watch.last_error if watch is not None else None

    @property
    def status_notes(self) -> tuple[str, ...]:
        """Notes for ``admin status``: ``events=forbidden`` when a server refuses the Manage Events permission."""
        return self.bridge.status_notes()

    async def run(self, stop: asyncio.Event) -> None:
        """Log in, connect (discord.py reconnects and resumes by itself), and close when ``stop`` is set."""
        settings = self.services.settings().platforms.discord
        if settings.token is None:
            raise PlatformCredentialsError("no Discord token is configured")
        apply_endpoints(settings)
        try:
            await self.client.login(settings.token.get_secret_value())
        except discord.LoginFailure as refused:
            await self.client.close()
            raise PlatformCredentialsError(f"Discord refused the token: {refused}") from refused
        except (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError) as failed:
            await self.client.close()
            raise translate_error(failed) from failed
        connection = asyncio.ensure_future(self.client.connect(reconnect=True))
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({connection, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if connection.done():
                ended = connection.exception()
                if isinstance(ended, discord.LoginFailure):
                    raise PlatformCredentialsError(f"Discord refused the token: {ended}") from ended
                if isinstance(ended, discord.ConnectionClosed) and ended.code == GATEWAY_AUTHENTICATION_FAILED:
                    # The token was revoked or reset while the bot ran: the operator must replace it.
                    raise PlatformCredentialsError(
                        "Discord refused the token on the gateway (close code 4004, authentication failed)"
                    ) from ended
                if isinstance(ended, discord.PrivilegedIntentsRequired):
                    raise PlatformError(
                        "Discord refused the message content intent: enable it for the application in the developer "
                        "portal, or set platforms.discord.message_content_intent to false"
                    ) from ended
                if ended is not None:
                    raise PlatformError(f"the Discord connection ended: {ended}") from ended
        finally:
            stopping.cancel()
            await self.bridge.seen.stop()
            await self.client.close()
            if not connection.done():
                connection.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await connection
