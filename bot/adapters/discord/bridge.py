"""Discord events in, engine actions out: slash commands, autocomplete, alert buttons, messages, guild joins."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import discord
from discord import app_commands

from bot.commands import Command
from bot.config import Settings
from bot.config.communities import Community
from bot.delivery.deliverer import Deliverer
from bot.engine import Engine
from bot.errors import DeliveryRefused, PeerCirclesError
from bot.i18n import Catalogue
from bot.model import (
    Action,
    CloseSpace,
    CommandInvocation,
    CommunityRef,
    DirectMessage,
    IncomingMessage,
    OpenSpace,
    Platform,
    PostToRoom,
    Reply,
    Role,
    RoomRef,
    UserRef,
)
from bot.storage import Database

from .commands import CatalogueTranslator, build_commands
from .errors import translate_error
from .lookup import circle_names, timezone_names
from .outbox import DiscordSender
from .prompts import Confirmation, ConfirmView, NoteModal, confirmation_for, wants_note_modal
from .render import NO_MENTIONS, chunks
from .roles import role_for
from .undelivered import Undelivered
from .views import AlertButton

__all__ = ["Bridge", "Services"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Services:
    """The parts of the application the Discord adapter uses."""

    engine: Engine
    messages: Catalogue
    database: Database
    deliverer: Deliverer | None
    settings: Callable[[], Settings]


class Bridge:
    """Translates between discord.py and the engine for one client."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.engine = services.engine
        self.messages = services.messages
        self.client: discord.Client | None = None
        self.tree: app_commands.CommandTree[Any] | None = None
        self.sender: DiscordSender | None = None
        self.synced: list[str] = []
        self.undelivered = Undelivered()
        self.attended: dict[str, set[int]] = {}
        """Who has been marked present by speaking, per session space (once per member per session)."""

    def attach(self, client: discord.Client) -> app_commands.CommandTree[Any]:
        """Bind to the client: build the command tree and the sender, register with the outbox."""
        self.client = client
        tree: app_commands.CommandTree[Any] = app_commands.CommandTree(client)
        self.tree = tree
        for root in build_commands(self.engine.catalogue, self.messages, self.run_command, self.complete):
            self.tree.add_command(root)
        self.tree.error(self._tree_error)
        self.sender = DiscordSender(client, self.messages, self.services.settings)
        self.sender.on_refused_direct = self.remember_undelivered
        if self.services.deliverer is not None:
            self.services.deliverer.register(Platform.DISCORD, self.sender)
        return tree

    @property
    def settings(self) -> Settings:
        return self.services.settings()

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

    # -- who and where ---------------------------------------------------------------------------------------------

    def communities(self) -> list[Community]:
        """The configured Discord communities."""
        return [c for c in self.settings.communities if c.platform is Platform.DISCORD and c.guild_id]

    def community(self, guild_id: int | None, user: discord.abc.User | None = None) -> Community | None:
        """The community of a guild; outside a guild, the one shared with ``user`` (or the only one configured)."""
        communities = self.communities()
        if guild_id is not None:
            return next((c for c in communities if c.guild_id == str(guild_id)), None)
        if user is not None and self.client is not None:
            for candidate in communities:
                assert candidate.guild_id is not None
                guild = self.client.get_guild(int(candidate.guild_id))
                if guild is not None and guild.get_member(user.id) is not None:
                    return candidate
        return communities[0] if len(communities) == 1 else None

    def role(self, user: discord.abc.User, community: Community | None) -> Role:
        """The engine role of ``user``; in a DM, as a member of the community's server when the bot knows them."""
        if isinstance(user, discord.Member):
            return role_for(user, community)
        if community is not None and community.guild_id and self.client is not None:
            guild = self.client.get_guild(int(community.guild_id))
            member = guild.get_member(user.id) if guild is not None else None
            if member is not None:
                return role_for(member, community)
        return Role.MEMBER

    @staticmethod
    def _ref(guild_id: int | None, community: Community | None) -> CommunityRef:
        native = community.native_id if community is not None else str(guild_id or "direct")
        return CommunityRef(Platform.DISCORD, native)

    # -- slash commands ----------------------------------------------------------------------------------------------

    async def run_command(self, interaction: discord.Interaction, command: Command, args: dict[str, object]) -> None:
        """Run a catalogue command as the person who invoked it and answer them; ask for a left-out note in a modal,
        and for a confirmation first where the command needs one."""
        if wants_note_modal(command, args):
            await self._ask_note(interaction, command, args)
            return
        confirmation = confirmation_for(command, args)
        if confirmation is not None:
            await self._ask_confirmation(interaction, command, args, confirmation)
            return
        await self.execute(interaction, command, args)

    async def execute(
        self,
        interaction: discord.Interaction,
        command: Command,
        args: dict[str, object],
        view: discord.ui.View | None = None,
    ) -> None:
        """Run the command through the engine and carry out its actions; ``view`` goes on the first reply."""
        community = self.community(interaction.guild_id, interaction.user)
        channel = interaction.channel
        room = RoomRef(Platform.DISCORD, str(interaction.channel_id)) if interaction.guild_id is not None else None
        invocation = CommandInvocation(
            community=self._ref(interaction.guild_id, community),
            author=UserRef(Platform.DISCORD, str(interaction.user.id)),
            command=command.name,
            args=args,
            room=room,
            platform_role=self.role(interaction.user, community),
            author_display=interaction.user.display_name,
        )
        actions = await self.engine.handle_command(invocation)
        where = channel if isinstance(channel, discord.abc.GuildChannel) else None
        await self.perform(interaction, actions, where, community, view=view)

    async def _ask_note(self, interaction: discord.Interaction, command: Command, args: dict[str, object]) -> None:
        option = command.option("note")
        assert option is not None

        async def submitted(answer: discord.Interaction, note: str | None) -> None:
            await self.execute(answer, command, {**args, "note": note} if note else dict(args))

        locale = await self._locale(interaction, self.community(interaction.guild_id, interaction.user))
        modal = NoteModal(self.messages, locale, command, submitted, option.max_length)
        await interaction.response.send_modal(modal)

    async def _ask_confirmation(
        self, interaction: discord.Interaction, command: Command, args: dict[str, object], confirmation: Confirmation
    ) -> None:
        community = self.community(interaction.guild_id, interaction.user)
        locale = await self._locale(interaction, community)
        confirmed = {**args, **confirmation.confirm_args}

        async def confirm(answer: discord.Interaction) -> None:
            await self.execute(answer, command, confirmed)

        view = ConfirmView(self.messages, locale, interaction.user.id, confirm)
        view.asked = interaction
        if confirmation.ask_first:
            await self.execute(interaction, command, args, view=view)
            return
        shown = {name: str(value) for name, value in args.items()}
        text = self.messages.t(locale, confirmation.prompt_key, **shown)
        await interaction.response.send_message(text, view=view, ephemeral=True, allowed_mentions=NO_MENTIONS)
        await self._show_undelivered(interaction, community, locale)

    async def perform(
        self,
        interaction: discord.Interaction,
        actions: Sequence[Action],
        where: discord.abc.GuildChannel | None,
        community: Community | None,
        *,
        view: discord.ui.View | None = None,
    ) -> None:
        """Answer with the replies (private ones ephemeral), then carry out the other actions in order, then show
        any direct messages that could not reach the person."""
        locale = await self._locale(interaction, community)
        replies = [action for action in actions if isinstance(action, Reply)]
        for reply in replies:
            for part in chunks(reply.text):
                await self._answer(interaction, part, ephemeral=reply.private, view=view)
                view = None
        if not replies:
            await self._answer(interaction, self.messages.t(locale, "discord.done"), ephemeral=True)
        for action in actions:
            if isinstance(action, Reply):
                continue
            try:
                await self._carry_out(action, where, community)
            except Exception as error:
                problem = error if isinstance(error, PeerCirclesError) else translate_error(error)
                log.error("could not carry out %s: %s", type(action).__name__, problem)
                if isinstance(action, OpenSpace):
                    await self._answer(interaction, self.messages.t(locale, "discord.space_failed"), ephemeral=True)
        await self._show_undelivered(interaction, community, locale)

    async def _answer(
        self, interaction: discord.Interaction, text: str, *, ephemeral: bool, view: discord.ui.View | None = None
    ) -> None:
        options: dict[str, Any] = {"ephemeral": ephemeral, "allowed_mentions": NO_MENTIONS}
        if view is not None:
            options["view"] = view
        if interaction.response.is_done():
            await interaction.followup.send(text, **options)
        else:
            await interaction.response.send_message(text, **options)

    # -- direct messages that could not be delivered -------------------------------------------------------------

    def remember_undelivered(self, user_id: str, text: str, community: str | None) -> None:
        """Keep a refused direct message for the member's next interaction (the sender calls this)."""
        if community is None:
            found = self._community_of_user(int(user_id))
            community = found.native_id if found is not None else None
        self.undelivered.remember(user_id, community, text)

    def _community_of_user(self, user_id: int) -> Community | None:
        communities = self.communities()
        if self.client is not None:
            for candidate in communities:
                assert candidate.guild_id is not None
                guild = self.client.get_guild(int(candidate.guild_id))
                if guild is not None and guild.get_member(user_id) is not None:
                    return candidate
        return communities[0] if len(communities) == 1 else None

    async def _show_undelivered(
        self, interaction: discord.Interaction, community: Community | None, locale: str
    ) -> None:
        waiting = self.undelivered.take(str(interaction.user.id), community.native_id if community else None)
        for text in waiting:
            for part in chunks(self.messages.t(locale, "discord.undelivered", text=text)):
                await self._answer(interaction, part, ephemeral=True)

    async def _carry_out(
        self, action: Action, where: discord.abc.GuildChannel | None, community: Community | None
    ) -> None:
        sender = self.sender
        assert sender is not None
        if isinstance(action, DirectMessage):
            try:
                await sender.direct(action.to.native_id, action.text)
            except Exception as error:
                problem = error if isinstance(error, PeerCirclesError) else translate_error(error)
                if isinstance(problem, DeliveryRefused) and action.to.native_id.isdigit():
                    where_from = community.native_id if community is not None else None
                    self.remember_undelivered(action.to.native_id, action.text, where_from)
                if problem is error:
                    raise
                raise problem from error
        elif isinstance(action, PostToRoom):
            await sender.post(action.room.native_id, action.text)
        elif isinstance(action, OpenSpace):
            if where is None and community is not None and community.moderators.destination and self.client:
                fallback = self.client.get_channel(int(community.moderators.destination))
                where = fallback if isinstance(fallback, discord.abc.GuildChannel) else None
            await sender.open_space(action.room.native_id, action.title, action.members, where)
        elif isinstance(action, CloseSpace):
            self.attended.pop(action.room.native_id, None)
            await sender.close_space(action.room.native_id)

    async def _locale(self, interaction: discord.Interaction, community: Community | None) -> str:
        ref = self._ref(interaction.guild_id, community)
        return await self.engine.locale_for(ref, UserRef(Platform.DISCORD, str(interaction.user.id)))

    async def complete(self, interaction: discord.Interaction, source: str, typed: str) -> list[str]:
        """Autocomplete values for ``source``: circle names the person may see, or timezone names."""
        if source == "timezone":
            return timezone_names(typed)
        community = self.community(interaction.guild_id, interaction.user)
        if community is None:
            return []
        return await circle_names(
            self.services.database,
            self._ref(interaction.guild_id, community),
            UserRef(Platform.DISCORD, str(interaction.user.id)),
            typed,
            privileged=self.role(interaction.user, community) >= Role.MODERATOR,
        )

    async def _tree_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        log.error(
            "slash command %s failed",
            interaction.command.qualified_name if interaction.command else "?",
            exc_info=error,
        )
        if not interaction.response.is_done():
            community = self.community(interaction.guild_id, interaction.user)
            locale = await self._locale(interaction, community)
            await interaction.response.send_message(
                self.messages.t(locale, "error.internal"), ephemeral=True, allowed_mentions=NO_MENTIONS
            )

    # -- alert buttons ------------------------------------------------------------------------------------------

    async def alert_clicked(self, interaction: discord.Interaction, action: str, escalation_id: int) -> None:
        """Claim or resolve an alert as the moderator who clicked; the engine checks their role."""
        community = self.community(interaction.guild_id, interaction.user)
        invocation = CommandInvocation(
            community=self._ref(interaction.guild_id, community),
            author=UserRef(Platform.DISCORD, str(interaction.user.id)),
            command=f"alert {action}",
            args={"id": escalation_id},
            room=RoomRef(Platform.DISCORD, str(interaction.channel_id)) if interaction.guild_id else None,
            platform_role=self.role(interaction.user, community),
            author_display=interaction.user.display_name,
        )
        actions = await self.engine.handle_command(invocation)
        channel = interaction.channel
        await self.perform(
            interaction, actions, channel if isinstance(channel, discord.abc.GuildChannel) else None, community
        )

    # -- messages ------------------------------------------------------------------------------------------------

    async def on_message(self, message: discord.Message) -> None:
        """Mark who speaks in a session thread present; scan what a person wrote (a channel message or a DM to the
        bot) for crisis language."""
        try:
            await self._attend(message)
        except Exception:
            log.exception("could not mark attendance from message %s", message.id)
        await self._scan(message, event_id=str(message.id), edited=False)

    async def _attend(self, message: discord.Message) -> None:
        """The first message of a member in a session thread runs ``session here`` for them (once per session)."""
        thread = message.channel
        if message.author.bot or not isinstance(thread, discord.Thread) or self.sender is None:
            return
        session = self.sender.session_of(thread)
        if session is None:
            return
        space, circle = session
        seen = self.attended.setdefault(space, set())
        if message.author.id in seen:
            return
        seen.add(message.author.id)
        community = self.community(thread.guild.id)
        if community is None:
            return
        actions = await self.engine.handle_command(
            CommandInvocation(
                community=self._ref(thread.guild.id, community),
                author=UserRef(Platform.DISCORD, str(message.author.id)),
                command="session here",
                args={"circle": circle},
                room=RoomRef(Platform.DISCORD, str(thread.id)),
                platform_role=self.role(message.author, community),
                author_display=message.author.display_name,
            )
        )
        for action in actions:
            if not isinstance(action, Reply):  # the reply would interrupt the circle; presence is recorded quietly
                await self._carry_out(action, thread.parent, community)

    async def on_message_edit(self, before: discord.Message, after: discord.Message) -> None:
        """Scan an edit whose text changed: someone may edit crisis words into a harmless message."""
        if before.content == after.content:
            return
        stamp = int(after.edited_at.timestamp() * 1000) if after.edited_at else 0
        await self._scan(after, event_id=f"{after.id}:edit:{stamp}", edited=True)

    async def _scan(self, message: discord.Message, *, event_id: str, edited: bool) -> None:
        if message.author.bot or not message.content.strip():
            return
        guild_id = message.guild.id if message.guild is not None else None
        community = self.community(guild_id, message.author)
        if community is None:
            return
        await self.engine.handle_message(
            IncomingMessage(
                community=self._ref(guild_id, community),
                author=UserRef(Platform.DISCORD, str(message.author.id)),
                text=message.content,
                event_id=event_id,
                room=RoomRef(Platform.DISCORD, str(message.channel.id)) if guild_id is not None else None,
                link=message.jump_url,
                edited=edited,
                author_display=message.author.display_name,
            )
        )

    # -- joining a server ----------------------------------------------------------------------------------------

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
