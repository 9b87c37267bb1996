"""Interactive prompts: a modal for a private free-text note, and Confirm / Cancel buttons before a step that is
hard to undo.

Both live only as long as the question is open (a modal for :data:`NOTE_TIMEOUT`, the buttons for
:data:`CONFIRM_TIMEOUT`); a prompt left unanswered, cancelled or lost in a restart changes nothing.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import discord

from bot.commands import Command
from bot.i18n import Catalogue

from .render import NO_MENTIONS, clip, clip_literal

__all__ = [
    "CONFIRM_TIMEOUT",
    "NOTE_COMMANDS",
    "NOTE_OPTION",
    "NOTE_TIMEOUT",
    "ConfirmView",
    "Confirmation",
    "NoteModal",
    "confirmation_for",
    "wants_note_modal",
]

log = logging.getLogger(__name__)

NOTE_OPTION = "note"
NOTE_COMMANDS = frozenset({"checkin"})
"""Commands whose note is asked for in a modal when the slash command leaves it out: a private box is kinder than a
command line. Not ``support``: a request for a human must go out at once, never wait on a box someone may close."""

NOTE_TIMEOUT = 15 * 60.0
CONFIRM_TIMEOUT = 5 * 60.0
"""Shorter than the ten minutes ``me forget confirm`` is accepted for after ``me forget``."""

LABEL_LIMIT = 45
PLACEHOLDER_LIMIT = 100
TEXT_INPUT_LIMIT = 4000


def wants_note_modal(command: Command, args: dict[str, object]) -> bool:
    """Whether to ask for ``command``'s note in a modal: it is one of :data:`NOTE_COMMANDS` and the note was not
    given."""
    return command.name in NOTE_COMMANDS and command.option(NOTE_OPTION) is not None and NOTE_OPTION not in args


@dataclass(frozen=True, slots=True)
class Confirmation:
    """How one command is confirmed.

    ``ask_first``: run the command as given first (it records the question and explains it, as ``me forget``
    does) and put the buttons on its answer; otherwise show ``prompt_key`` and run nothing until Confirm.
    ``confirm_args``: arguments added when Confirm is pressed (``confirm=confirm`` for ``me forget``).
    """

    ask_first: bool = False
    prompt_key: str = ""
    confirm_args: dict[str, object] = field(default_factory=dict)


CONFIRMATIONS: dict[str, Confirmation] = {
    "circle leave": Confirmation(prompt_key="discord.confirm.circle_leave"),
    "me forget": Confirmation(ask_first=True, confirm_args={"confirm": "confirm"}),
}


def confirmation_for(command: Command, args: dict[str, object]) -> Confirmation | None:
    """The confirmation ``command`` needs, or ``None`` (also when the arguments already confirm it)."""
    confirmation = CONFIRMATIONS.get(command.name)
    if confirmation is None:
        return None
    if confirmation.confirm_args and all(args.get(k) == v for k, v in confirmation.confirm_args.items()):
        return None
    return confirmation


NoteSubmitted = Callable[[discord.Interaction, str | None], Awaitable[None]]


class NoteModal(discord.ui.Modal):
    """One optional paragraph field; submitting runs the command with what was written (or without a note)."""

    def __init__(
        self, messages: Catalogue, locale: str, command: Command, on_submit: NoteSubmitted, max_length: int
    ) -> None:
        super().__init__(
            title=clip(messages.t(locale, f"discord.modal.{command.name.replace(' ', '_')}"), LABEL_LIMIT),
            timeout=NOTE_TIMEOUT,
        )
        self.note: discord.ui.TextInput[NoteModal] = discord.ui.TextInput(
            label=clip(messages.t(locale, "discord.modal.note"), LABEL_LIMIT),
            placeholder=clip(messages.t(locale, "discord.modal.note_placeholder"), PLACEHOLDER_LIMIT),
            style=discord.TextStyle.paragraph,
            required=False,
            max_length=min(max_length, TEXT_INPUT_LIMIT),
            custom_id="pc:note",
        )
        self.add_item(self.note)
        self._submitted = on_submit

    async def on_submit(self, interaction: discord.Interaction) -> None:
        written = self.note.value.strip()
        await self._submitted(interaction, written or None)


Decided = Callable[[discord.Interaction], Awaitable[None]]


class ConfirmView(discord.ui.View):
    """Confirm and Cancel for one person. Cancel or a timeout removes the buttons and changes nothing."""

    def __init__(
        self, messages: Catalogue, locale: str, owner_id: int, on_confirm: Decided, *, timeout: float = CONFIRM_TIMEOUT
    ) -> None:
        super().__init__(timeout=timeout)
        self.messages = messages
        self.locale = locale
        self.owner_id = owner_id
        self._confirmed = on_confirm
        self.asked: discord.Interaction | None = None
        """The interaction whose answer carries the buttons, to take them away when the question expires."""
        confirm: discord.ui.Button[ConfirmView] = discord.ui.Button(
            label=messages.t(locale, "discord.confirm.confirm"), style=discord.ButtonStyle.danger
        )
        cancel: discord.ui.Button[ConfirmView] = discord.ui.Button(
            label=messages.t(locale, "discord.confirm.cancel"), style=discord.ButtonStyle.secondary
        )
        confirm.callback = self._confirm  # type: ignore[method-assign]
        cancel.callback = self._cancel  # type: ignore[method-assign]
        self.add_item(confirm)
        self.add_item(cancel)

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(
            clip_literal(self.messages.t(self.locale, "discord.confirm.only_you")),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )
        return False

    async def _confirm(self, interaction: discord.Interaction) -> None:
        self.stop()
        await interaction.response.edit_message(view=None)
        await self._confirmed(interaction)

    async def _cancel(self, interaction: discord.Interaction) -> None:
        self.stop()
        await interaction.response.edit_message(
            content=clip_literal(self.messages.t(self.locale, "discord.confirm.cancelled")), view=None
        )

    async def on_timeout(self) -> None:
        if self.asked is None:
            return
        with contextlib.suppress(discord.HTTPException):
            await self.asked.edit_original_response(
                content=clip_literal(self.messages.t(self.locale, "discord.confirm.expired")), view=None
            )

    async def on_error(self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any], /) -> None:
        log.error("a confirmation button failed: %s", type(error).__name__, exc_info=error)
