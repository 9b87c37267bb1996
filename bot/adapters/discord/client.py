"""The discord.py client: a plain or auto-sharded client whose events go to the adapter's bridge."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
from discord import app_commands

from bot.config.platforms import DiscordSettings
from bot.tasks import BackgroundTasks

if TYPE_CHECKING:
    from .bridge import Bridge

__all__ = [
    "GatewayWatch",
    "PeerCirclesClient",
    "ShardedPeerCirclesClient",
    "catch_up",
    "intents_for",
    "make_client",
    "watch_of",
]

log = logging.getLogger(__name__)

MAX_RATELIMIT_WAIT = 30.0
"""Longer rate-limit waits raise instead of sleeping, so the outbox reschedules the item (30 s is discord.py's
minimum)."""

CATCH_UP_MARGIN = timedelta(seconds=30)
"""How long before a lost connection messages are read back: events in flight when it dropped were never seen."""
CATCH_UP_LIMIT = 100
"""Messages read back per channel after an outage."""


def intents_for(settings: DiscordSettings) -> discord.Intents:
    """Guilds, guild and direct messages; message content only when the operator says Discord approved it."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = True
    intents.message_content = settings.message_content_intent
    intents.auto_moderation_execution = settings.automod_signal
    return intents


class GatewayWatch:
    """Whether each gateway connection (one per shard; ``None`` without sharding) is up.

    discord.py reconnects by itself and keeps :meth:`discord.Client.is_ready` true while it does, so readiness
    follows its ``disconnect`` and ``ready``/``resumed`` events here. Each loss and each recovery is logged once,
    and every failed attempt in between, so an operator can see an outage and its end.
    """

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, wall: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.clock = clock
        self.wall = wall
        self.down: dict[int | None, float] = {}
        """Shards whose connection is down, with the (monotonic) time it was lost."""
        self.lost_at: dict[int | None, datetime] = {}
        """The same, in real time (Discord's message ids are timestamps)."""
        self.failures: dict[int | None, int] = {}
        self.last_error: str | None = None
        """What is wrong now, for ``admin status``; ``None`` while every connection is up."""

    @property
    def connected(self) -> bool:
        return not self.down

    @staticmethod
    def _label(shard: int | None) -> str:
        return "" if shard is None else f" (shard {shard})"

    def lost(self, shard: int | None) -> None:
        """discord.py reports a disconnection: the connection dropped, or another attempt to reconnect failed."""
        now = self.clock()
        if shard not in self.down:
            self.down[shard] = now
            self.lost_at[shard] = self.wall()
            self.failures[shard] = 0
            log.warning("Discord gateway connection lost%s; reconnecting and resuming", self._label(shard))
        else:
            self.failures[shard] += 1
            log.warning(
                "Discord gateway still unreachable%s: %d failed attempt(s) in %.1f s; retrying with backoff",
                self._label(shard),
                self.failures[shard],
                now - self.down[shard],
            )
        self.last_error = f"gateway connection lost{self._label(shard)}; reconnecting"

    def back(self, shard: int | None, how: str) -> datetime | None:
        """The connection is up again (``how``: ``resumed`` the session, or ``reconnected`` with a new one).
        Returns when it was lost, or ``None`` when it was not down (the first READY)."""
        since = self.down.pop(shard, None)
        lost_at = self.lost_at.pop(shard, None)
        failures = self.failures.pop(shard, 0)
        if since is not None:
            # A plain resume (Discord asks for one now and then with op 7) is routine; a recovery after failures is
            # the end of an outage the operator was warned about.
            log.log(
                logging.WARNING if failures else logging.INFO,
                "Discord gateway %s%s after %.1f s down (%d failed attempt(s))",
                how,
                self._label(shard),
                self.clock() - since,
                failures,
            )
        if not self.down:
            self.last_error = None
        return lost_at


async def catch_up(
    bridge: Bridge, guilds: Iterable[discord.Guild], since: datetime, why: str = "while the Discord gateway was away"
) -> int:
    """Scan what was written in the configured servers since ``since`` (less a margin), oldest first.

    Discord replays the events a connection missed only when the session is RESUMEd. When it cannot be (op 9, or
    Discord ended the session during a long outage), a crisis written meanwhile would go unseen: after such a
    reconnection each channel and active thread the bot may read is read back instead. Messages the bot had
    already seen are harmless: alerts are keyed by the message id. Returns how many messages were read.
    """
    served = {community.guild_id for community in bridge.communities()}
    after = discord.Object(discord.utils.time_snowflake(since - CATCH_UP_MARGIN))
    read = 0
    for guild in guilds:
        me = guild.me
        if str(guild.id) not in served or me is None:
            continue
        channels: list[discord.TextChannel | discord.Thread] = [*guild.text_channels, *guild.threads]
        for channel in channels:
            if not channel.permissions_for(me).read_message_history:
                continue
            try:
                async for message in channel.history(limit=CATCH_UP_LIMIT, after=after, oldest_first=True):
                    read += 1
                    try:
                        await bridge.on_message(message)
                    except Exception:  # one bad message is logged and skipped, as on the gateway
                        log.exception("could not handle message %s read back after the outage", message.id)
            except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as error:
                log.warning("could not read back channel %s after the gateway outage: %s", channel.id, error)
    log.warning("read back %d message(s) written %s", read, why)
    return read


class _Events:
    """Event handlers shared by both client classes; each hands the event to the bridge."""

    bridge: Bridge
    watch: GatewayWatch
    background: BackgroundTasks
    started_shards: set[int | None]
    """Shards (``None`` without sharding) past their first READY in this process."""
    tree: app_commands.CommandTree[Any]
    """Named like discord.py's ``commands.Bot.tree``, where tools such as test simulators look for it."""

    def __init__(self, bridge: Bridge, **options: Any) -> None:
        self.bridge = bridge
        self.watch = GatewayWatch()
        self.background = BackgroundTasks()
        self.started_shards = set()
        super().__init__(**options)  # discord.Client or discord.AutoShardedClient, next in the subclass's order
        assert isinstance(self, discord.Client)
        self.tree = bridge.attach(self)

    def _catch_up_after(self, lost_at: datetime | None, guilds: Iterable[discord.Guild], shard: int | None) -> None:
        """After a reconnection with a new session, read back what the old one missed; after the first READY of
        this process, what was written while the bot was stopped (both in the background)."""
        if lost_at is not None:
            self.background.start(catch_up(self.bridge, list(guilds), lost_at), "discord catch-up")
            return
        if shard in self.started_shards:
            return
        self.started_shards.add(shard)
        stopped_at = self.bridge.downtime_since
        if stopped_at is not None:
            reading = catch_up(self.bridge, list(guilds), stopped_at, "while the bot was stopped")
            self.background.start(reading, "discord read-back after start")

    async def setup_hook(self) -> None:
        await self.bridge.setup()

    async def on_message(self, message: discord.Message) -> None:
        await self.bridge.on_message(message)

    async def on_message_edit(self, before: discord.Message, after: discord.Message) -> None:
        await self.bridge.on_message_edit(before, after)

    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self.bridge.on_guild_join(guild)

    async def on_automod_action(self, execution: discord.AutoModAction) -> None:
        if self.bridge.settings.platforms.discord.automod_signal:
            await self.bridge.on_automod_action(execution)

    async def alert_clicked(self, interaction: discord.Interaction, action: str, escalation_id: int) -> None:
        await self.bridge.alert_clicked(interaction, action, escalation_id)


class PeerCirclesClient(_Events, discord.Client):
    """A single-connection client."""

    async def on_disconnect(self) -> None:
        if not self.is_closed():  # closing on purpose is no outage
            self.watch.lost(None)

    async def on_resumed(self) -> None:
        self.watch.back(None, "resumed")

    async def on_ready(self) -> None:
        self._catch_up_after(self.watch.back(None, "reconnected with a new session"), self.guilds, None)


class ShardedPeerCirclesClient(_Events, discord.AutoShardedClient):
    """A client running the configured shards of a bot shared by several processes."""

    async def on_shard_disconnect(self, shard_id: int) -> None:
        if not self.is_closed():  # closing on purpose is no outage
            self.watch.lost(shard_id)

    async def on_shard_resumed(self, shard_id: int) -> None:
        self.watch.back(shard_id, "resumed")

    async def on_shard_ready(self, shard_id: int) -> None:
        lost_at = self.watch.back(shard_id, "reconnected with a new session")
        self._catch_up_after(lost_at, (guild for guild in self.guilds if guild.shard_id == shard_id), shard_id)


def watch_of(client: discord.Client) -> GatewayWatch | None:
    """The gateway watch of a client made by :func:`make_client`."""
    watch = getattr(client, "watch", None)
    return watch if isinstance(watch, GatewayWatch) else None


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
