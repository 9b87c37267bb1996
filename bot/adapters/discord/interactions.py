"""Interactions in: slash commands (with a note modal or a confirmation where needed), autocomplete, alert buttons;
answered with the engine's replies, ephemeral when private."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import discord
from discord import app_commands

from bot.commands import Command
from bot.config.communities import Community
from bot.errors import PeerCirclesError
from bot.model import Action, CommandInvocation, OpenSpace, Platform, Reply, Role, RoomRef, UserRef

from .actions import ActionRunner
from .context import Context
from .errors import translate_error
from .lookup import circle_names, timezone_names
from .prompts import Confirmation, ConfirmView, NoteModal, confirmation_for, wants_note_modal
from .render import NO_MENTIONS, message_parts

__all__ = ["Interactions"]

log = logging.getLogger(__name__)


class Interactions:
    """Runs commands and button clicks as the person who made them, and answers them."""

    def __init__(self, context: Context, actions: ActionRunner) -> None:
        self.context = context
        self.actions = actions
        self.messages = context.messages

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
        context = self.context
        community = context.community(interaction.guild_id, interaction.user)
        channel = interaction.channel
        room = RoomRef(Platform.DISCORD, str(interaction.channel_id)) if interaction.guild_id is not None else None
        invocation = CommandInvocation(
            community=context.ref(interaction.guild_id, community),
            author=UserRef(Platform.DISCORD, str(interaction.user.id)),
            command=command.name,
            args=args,
            room=room,
            platform_role=context.role(interaction.user, community),
            author_display=interaction.user.display_name,
        )
        actions = await context.engine.handle_command(invocation)
        where = channel if isinstance(channel, discord.abc.GuildChannel) else None
        await self.perform(interaction, actions, where, community, view=view)
        context.command_ran(command.name)

    async def _ask_note(self, interaction: discord.Interaction, command: Command, args: dict[str, object]) -> None:
        option = command.option("note")
        assert option is not None

        async def submitted(answer: discord.Interaction, note: str | None) -> None:
            await self.execute(answer, command, {**args, "note": note} if note else dict(args))

        locale = await self.context.locale(interaction, self.context.community(interaction.guild_id, interaction.user))
        modal = NoteModal(self.messages, locale, command, submitted, option.max_length)
        await interaction.response.send_modal(modal)

    async def _ask_confirmation(
        self, interaction: discord.Interaction, command: Command, args: dict[str, object], confirmation: Confirmation
    ) -> None:
        community = self.context.community(interaction.guild_id, interaction.user)
        locale = await self.context.locale(interaction, community)
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
        await self._answer(interaction, text, ephemeral=True, view=view)
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
        locale = await self.context.locale(interaction, community)
        replies = [action for action in actions if isinstance(action, Reply)]
        spaces = [action for action in actions if isinstance(action, OpenSpace)]
        if spaces and replies and not interaction.response.is_done():
            # Opening a thread can take longer than the 3 s Discord allows for an answer, and the answer should
            # name the new thread: say "thinking" now, open the thread, then answer.
            await interaction.response.defer(ephemeral=replies[0].private, thinking=True)
        opened: dict[str, str] = {}
        for space in spaces:
            await self._carry_out(interaction, space, where, community, locale)
            thread_id = self.context.sender.spaces.get(space.room.native_id) if self.context.sender else None
            if thread_id is not None:
                opened[space.room.native_id] = f"<#{thread_id}>"
        for reply in replies:
            text = reply.text
            for space_id, mention in opened.items():
                text = text.replace(space_id, mention)  # the internal space id becomes a link to the thread
            await self._answer(interaction, text, ephemeral=reply.private, view=view)
            view = None
        if not replies:
            await self._answer(interaction, self.messages.t(locale, "discord.done"), ephemeral=True)
        for action in actions:
            if not isinstance(action, Reply | OpenSpace):
                await self._carry_out(interaction, action, where, community, locale)
        await self._show_undelivered(interaction, community, locale)

    async def _carry_out(
        self,
        interaction: discord.Interaction,
        action: Action,
        where: discord.abc.GuildChannel | None,
        community: Community | None,
        locale: str,
    ) -> None:
        """One action; a failure is logged, and a session space that could not open is said privately."""
        try:
            await self.actions.carry_out(action, where, community)
        except Exception as error:
            problem = error if isinstance(error, PeerCirclesError) else translate_error(error)
            log.error("could not carry out %s: %s", type(action).__name__, problem)
            if isinstance(action, OpenSpace):
                await self._answer(interaction, self.messages.t(locale, "discord.space_failed"), ephemeral=True)

    async def _answer(
        self, interaction: discord.Interaction, text: str, *, ephemeral: bool, view: discord.ui.View | None = None
    ) -> None:
        """Answer with ``text`` (the bot's words with member text in them, not yet escaped): Markdown-escaped once
        here, in as many messages as it needs, ``view`` on the first; the first answers, the rest follow up."""
        for part in message_parts(text):
            options: dict[str, Any] = {"ephemeral": ephemeral, "allowed_mentions": NO_MENTIONS}
            if view is not None:
                options["view"] = view
                view = None
            if interaction.response.is_done():
                await interaction.followup.send(part, **options)
            else:
                await interaction.response.send_message(part, **options)

    async def _show_undelivered(
        self, interaction: discord.Interaction, community: Community | None, locale: str
    ) -> None:
        """Show privately the direct messages that could not reach the person, once."""
        undelivered = self.context.undelivered
        waiting = undelivered.take(str(interaction.user.id), community.native_id if community else None)
        for text in waiting:
            await self._answer(interaction, self.messages.t(locale, "discord.undelivered", text=text), ephemeral=True)

    # -- autocomplete and errors ---------------------------------------------------------------------------------

    async def complete(self, interaction: discord.Interaction, source: str, typed: str) -> list[str]:
        """Autocomplete values for ``source``: circle names the person may see, or timezone names."""
        if source == "timezone":
            return timezone_names(typed)
        context = self.context
        community = context.community(interaction.guild_id, interaction.user)
        if community is None:
            return []
        return await circle_names(
            context.services.database,
            context.ref(interaction.guild_id, community),
            UserRef(Platform.DISCORD, str(interaction.user.id)),
            typed,
            privileged=context.role(interaction.user, community) >= Role.MODERATOR,
        )

    async def tree_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        """Log a failed slash command and tell the person privately that something went wrong."""
        log.error(
            "slash command %s failed",
            interaction.command.qualified_name if interaction.command else "?",
            exc_info=error,
        )
        if not interaction.response.is_done():
            community = self.context.community(interaction.guild_id, interaction.user)
            locale = await self.context.locale(interaction, community)
            await self._answer(interaction, self.messages.t(locale, "error.internal"), ephemeral=True)

    # -- alert buttons ------------------------------------------------------------------------------------------

    async def alert_clicked(self, interaction: discord.Interaction, action: str, escalation_id: int) -> None:
        """Claim or resolve an alert as the moderator who clicked; the engine checks their role."""
        context = self.context
        community = context.community(interaction.guild_id, interaction.user)
        invocation = CommandInvocation(
            community=context.ref(interaction.guild_id, community),
            author=UserRef(Platform.DISCORD, str(interaction.user.id)),
            command=f"alert {action}",
            args={"id": escalation_id},
            room=RoomRef(Platform.DISCORD, str(interaction.channel_id)) if interaction.guild_id else None,
            platform_role=context.role(interaction.user, community),
            author_display=interaction.user.display_name,
        )
        actions = await context.engine.handle_command(invocation)
        channel = interaction.channel
        await self.perform(
            interaction, actions, channel if isinstance(channel, discord.abc.GuildChannel) else None, community
        )
