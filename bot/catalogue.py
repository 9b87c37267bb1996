"""The one catalogue of commands, assembled from each feature's declarations."""

from __future__ import annotations

from functools import cache

from bot import help as help_commands
from bot import me
from bot.admin import commands as admin_commands
from bot.circles import checkins, rotation_commands, schedule_commands, session_commands
from bot.circles import commands as circle_commands
from bot.commands import CommandCatalogue
from bot.privacy import commands as privacy_commands
from bot.safety import commands as safety_commands

__all__ = ["build_catalogue"]


@cache
def build_catalogue() -> CommandCatalogue:
    """Every command the bot understands, in the order help lists them."""
    return CommandCatalogue.of(
        (
            *circle_commands.COMMANDS,
            *schedule_commands.COMMANDS,
            *session_commands.COMMANDS,
            *rotation_commands.COMMANDS,
            *checkins.COMMANDS,
            *safety_commands.COMMANDS,
            *me.COMMANDS,
            *privacy_commands.COMMANDS,
            *admin_commands.COMMANDS,
            *help_commands.COMMANDS,
        )
    )
