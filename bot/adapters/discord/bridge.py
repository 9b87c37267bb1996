"""The adapter's hub: binds the parts (interactions, messages, actions) to one discord.py client, syncs the slash
commands at start, and greets the owner of a server the bot joins."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import discord
from discord import app_commands

from bot.config import Settings
from bot.config.communities import Community
from bot.errors import PeerCirclesError
from bot.model import Platform

from .actions import ActionRunner
from .commands import CatalogueTranslator, build_commands
from .context import Context, Services
from .downtime import SeenMark
from .interactions import Interactions
from .messages import MessageHandler
from .outbox import DiscordSender
from .scheduled_events import ScheduledEvents
from .undelivered import Undelivered
from .views import AlertButton

__all__ = ["Bridge", "Services"]

log = logging.getLogger(__name__)

SESSION_GROUPS = frozenset({"circle", "session"})
"""Command groups whose commands may plan, move, cancel, open or close sessions: after one, scheduled events are
brought in step at once rather than at the next periodic pass."""


class Bridge:
    """Translates between discord.py and the engine for one client."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.engine = services.engine
        self.messages = services.messages
        self.context = Context(services)
        self.actions = ActionRunner(self.context)
        self.interactions = Interactions(self.context, self.actions)
        self.message_handler = MessageHandler(self.context, self.actions)
        self.events = ScheduledEvents(self.context)
        self.seen = SeenMark(self.context)
        self.downtime_since: datetime | None = None
        """When this bot last knew it had seen every message (read at start): what came after is read back."""
        self.context.command_listeners.append(self._command_ran)
        self.tree: app_commands.CommandTree[Any] | None = None
        self.synced: list[str] = []

    @property
    def client(self) -> discord.Client | None:
        return self.context.client

    @property
    def sender(self) -> DiscordSender | None:
        return self.context.sender

    @property
    def undelivered(self) -> Undelivered:
        return self.context.undelivered

    @property
    def settings(self) -> Settings:
        return self.services.settings()

    def attach(self, client: discord.Client) -> app_commands.CommandTree[Any]:
        """Bind to the client: build the command tree and the sender, register with the outbox."""
        self.context.client = client
        tree: app_commands.CommandTree[Any] = app_commands.CommandTree(client)
        self.tree = tree
        interactions = self.interactions
        for root in build_commands(
            self.engine.catalogue, self.messages, interactions.run_command, interactions.complete
        ):
            tree.add_command(root)
        tree.error(interactions.tree_error)
        sender = DiscordSender(client, self.messages, self.services.settings)
        sender.on_refused_direct = self.context.remember_undelivered
        self.context.sender = sender
        if self.services.deliverer is not None:
            self.services.deliverer.register(Platform.DISCORD, sender)
        return tree

    # -- start ---------------------------------------------------------------------------------------------------

    async def setup(self) -> None:
        """Before connecting: alert buttons from any earlier run, the translator, and the command sync."""
        assert self.client is not None
        assert self.tree is not None
        self.client.add_dynamic_items(AlertButton)
        await self.tree.set_translator(CatalogueTranslator(self.messages))
        discord_settings = self.settings.platforms.discord
        if not discord_settings.message_content_intent:
            log.warning(
                "Discord message content intent is off: only slash commands, direct messages and messages that "
                "mention the bot are scanned for crisis language"
            )
        if discord_settings.automod_signal and not discord_settings.message_content_intent:
            log.warning(
                "Discord automod_signal is on but the message content intent is off: Discord then reports AutoMod "
                "actions without the message text, so there is nothing to scan"
            )
        try:
            self.downtime_since = await self.seen.read()
        except Exception:  # without it, only what was written while stopped goes unread: say so, and go on
            log.exception("could not read when the bot last saw Discord's messages; nothing will be read back")
        self.seen.start()
        if discord_settings.scheduled_events:
            self.events.start()
        if discord_settings.sync_commands == "global":
            await self._sync(None)
            return
        for community in self.communities():
            assert community.guild_id is not None
            guild = discord.Object(int(community.guild_id))
            self.tree.copy_global_to(guild=guild)
            await self._sync(guild)

    async def _sync(self, guild: discord.Object | None) -> None:
        assert self.tree is not None
        where = "globally" if guild is None else f"to server {guild.id}"
        try:
            commands = await self.tree.sync(guild=guild)
        except discord.HTTPException as error:
            # One server that removed the bot's applications.commands scope must not stop the others.
            log.error("could not sync slash commands %s: %s", where, error)
            return
        self.synced.append(str(guild.id) if guild else "global")
        log.info("synced %d slash commands %s", len(commands), where)

    # -- who and where -------------------------------------------------------------------------------------------

    def communities(self) -> list[Community]:
        """The configured Discord communities."""
        return self.context.communities()

    def community(self, guild_id: int | None, user: discord.abc.User | None = None) -> Community | None:
        """The community of a guild; outside a guild, the one shared with ``user`` (or the only one configured)."""
        return self.context.community(guild_id, user)

    def remember_undelivered(self, user_id: str, text: str, community: str | None) -> None:
        """Keep a refused direct message for the member's next interaction."""
        self.context.remember_undelivered(user_id, text, community)

    # -- events from the client ------------------------------------------------------------------------------------

    async def alert_clicked(self, interaction: discord.Interaction, action: str, escalation_id: int) -> None:
        """Claim or resolve an alert as the moderator who clicked; the engine checks their role."""
        await self.interactions.alert_clicked(interaction, action, escalation_id)

    async def on_message(self, message: discord.Message) -> None:
        """Attendance in session threads, then crisis scanning."""
        await self.message_handler.on_message(message)

    async def on_message_edit(self, before: discord.Message, after: discord.Message) -> None:
        """Scan an edit whose text changed."""
        await self.message_handler.on_message_edit(before, after)

    async def on_automod_action(self, execution: discord.AutoModAction) -> None:
        """Scan what AutoMod blocked or flagged (with ``automod_signal``)."""
        await self.message_handler.on_automod_action(execution)

    def _command_ran(self, name: str) -> None:
        if name.split(" ", 1)[0] in SESSION_GROUPS:
            self.events.nudge()

    def status_notes(self) -> tuple[str, ...]:
        """Notes for ``admin status``, such as a missing Manage Events permission."""
        return self.events.status_notes()

    async def on_guild_join(self, guild: discord.Guild) -> None:
        """Welcome the owner of a configured server with the remaining setup steps, in the community's language."""
        community = self.community(guild.id)
        if community is None:
            log.warning("added to server %s, which is not configured; it is ignored until configured", guild.id)
            return
        if guild.owner_id is None or self.sender is None:
            return
        text = self.messages.t(community.locale, "discord.onboarding", server=guild.name, guild_id=guild.id)
        try:
            await self.sender.direct(str(guild.owner_id), text)
        except (discord.HTTPException, PeerCirclesError) as error:
            log.warning("could not send the setup message to the owner of server %s: %s", guild.id, error)
