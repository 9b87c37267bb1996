"""The discord.py client: a plain or auto-sharded client whose events go to the adapter's bridge."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.config.platforms import DiscordSettings

if TYPE_CHECKING:
    from .bridge import Bridge

__all__ = ["PeerCirclesClient", "ShardedPeerCirclesClient", "intents_for", "make_client"]

MAX_RATELIMIT_WAIT = 30.0
"""Longer rate-limit waits raise instead of sleeping, so the outbox reschedules the item (30 s is discord.py's
minimum)."""


def intents_for(settings: DiscordSettings) -> discord.Intents:
    """Guilds, guild and direct messages; message content only when the operator says Discord approved it."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = True
    intents.message_content = settings.message_content_intent
    return intents


class _Events:
    """Event handlers shared by both client classes; each hands the event to the bridge."""

    bridge: Bridge
    tree: app_commands.CommandTree[Any]
    """Named like discord.py's ``commands.Bot.tree``, where tools such as test simulators look for it."""

    async def setup_hook(self) -> None:
        await self.bridge.setup()

    async def on_message(self, message: discord.Message) -> None:
        await self.bridge.on_message(message)

    async def on_message_edit(self, before: discord.Message, after: discord.Message) -> None:
        await self.bridge.on_message_edit(before, after)

    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self.bridge.on_guild_join(guild)

    async def alert_clicked(self, interaction: discord.Interaction, action: str, escalation_id: int) -> None:
        await self.bridge.alert_clicked(interaction, action, escalation_id)


class PeerCirclesClient(_Events, discord.Client):
    """A single-connection client."""

    def __init__(self, bridge: Bridge, **options: Any) -> None:
        self.bridge = bridge
        super().__init__(**options)
        self.tree = bridge.attach(self)


class ShardedPeerCirclesClient(_Events, discord.AutoShardedClient):
    """A client running the configured shards of a bot shared by several processes."""

    def __init__(self, bridge: Bridge, **options: Any) -> None:
        self.bridge = bridge
        super().__init__(**options)
        self.tree = bridge.attach(self)


def make_client(bridge: Bridge, settings: DiscordSettings) -> discord.Client:
    """The client the settings ask for: auto-sharded when shard ids or a shard count are set."""
    options: dict[str, Any] = {
        "intents": intents_for(settings),
        "allowed_mentions": discord.AllowedMentions.none(),
        "max_ratelimit_timeout": MAX_RATELIMIT_WAIT,
    }
    if settings.shard_ids is not None or settings.shard_count is not None:
        return ShardedPeerCirclesClient(
            bridge, shard_ids=settings.shard_ids, shard_count=settings.shard_count, **options
        )
    return PeerCirclesClient(bridge, **options)
