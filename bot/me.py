"""``me`` commands: a member's own preferences."""

from __future__ import annotations

from collections.abc import Sequence

from bot.circles.recurrence import timezone_names, unknown_timezone_error
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


async def timezone(ctx: CommandContext) -> Sequence[Action]:
    """Show or set the time zone session times are shown in."""
    chosen = ctx.optional_text("timezone")
    if chosen is None:
        current = ctx.member.timezone or ctx.community.timezone
        return [ctx.reply("me.timezone.current", zone=current, example=f"{ctx.prefix}me timezone Africa/Cairo")]
    names = timezone_names()
    canonical = names.get(chosen.casefold())
    if canonical is None:
        raise unknown_timezone_error(chosen)
    ctx.member.timezone = canonical
    return [ctx.reply("me.timezone.done", zone=canonical)]


async def reminders(ctx: CommandContext) -> Sequence[Action]:
    """Turn session reminders on or off for this member."""
    choice = ctx.optional_text("reminders")
    if choice is None:
        state = ctx.t("me.reminders.on" if ctx.member.reminders else "me.reminders.off")
        return [ctx.reply("me.reminders.current", state=state)]
    ctx.member.reminders = choice == "on"
    return [ctx.reply("me.reminders.done_on" if ctx.member.reminders else "me.reminders.done_off")]


COMMANDS = (
    Command(
        "me language",
        language,
        options=(Option("language", OptionKind.CHOICE, required=False, choices=LOCALES, autocomplete="locale"),),
    ),
    Command(
        "me timezone", timezone, options=(Option("timezone", required=False, max_length=64, autocomplete="timezone"),)
    ),
    Command(
        "me reminders",
        reminders,
        options=(Option("reminders", OptionKind.CHOICE, required=False, choices=("on", "off")),),
    ),
)
