"""``me`` commands: a member's own preferences."""

from __future__ import annotations

from collections.abc import Sequence

from bot.commands import Command, Option, OptionKind
from bot.engine import CommandContext
from bot.i18n import LOCALES
from bot.model import Action

__all__ = ["COMMANDS"]


async def language(ctx: CommandContext) -> Sequence[Action]:
    """Show or set the language the bot uses with this member, over the community's."""
    chosen = ctx.optional_text("language")
    if chosen is None:
        current = ctx.member.locale or ctx.community.locale
        return [
            ctx.reply(
                "me.language.current",
                language=ctx.t(f"language.{current}"),
                choices=", ".join(LOCALES),
                example=f"{ctx.prefix}me language ar",
            )
        ]
    ctx.member.locale = chosen
    ctx.locale = chosen
    return [ctx.reply("me.language.done", language=ctx.t(f"language.{chosen}"))]


COMMANDS = (
    Command(
        "me language",
        language,
        options=(Option("language", OptionKind.CHOICE, required=False, choices=LOCALES, autocomplete="locale"),),
    ),
)
