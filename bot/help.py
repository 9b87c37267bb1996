"""``help``: generated from the command declarations, so it never drifts from what the bot accepts."""

from __future__ import annotations

from collections.abc import Sequence

from bot.commands import Command, Option
from bot.engine import CommandContext
from bot.errors import UserError
from bot.model import Action, Platform

__all__ = ["COMMANDS"]


def _line(ctx: CommandContext, command: Command) -> str:
    return ctx.t("help.line", usage=f"{ctx.prefix}{command.usage()}", description=ctx.t(command.help_key))


def _option_line(ctx: CommandContext, option: Option) -> str:
    return ctx.t("help.option_line", option=option.name, description=ctx.t(option.description_key))


async def show_help(ctx: CommandContext) -> Sequence[Action]:
    """``help``, ``help circle`` or ``help circle join``."""
    console = ctx.invocation.community.platform is Platform.CONSOLE
    visible = ctx.catalogue.visible_to(ctx.role, console=console)
    topic = " ".join((ctx.optional_text("topic") or "").casefold().split())
    if not topic:
        lines = [ctx.t("help.header", prefix=ctx.prefix)]
        lines.extend(_line(ctx, command) for command in visible)
        lines.append(ctx.t("help.footer", example=f"{ctx.prefix}help circle join"))
        return [ctx.reply("common.lines", text="\n".join(lines))]
    exact = [command for command in visible if command.name == topic]
    if exact:
        command = exact[0]
        lines = [_line(ctx, command)]
        lines.extend(_option_line(ctx, option) for option in command.options)
        return [ctx.reply("common.lines", text="\n".join(lines))]
    group = [command for command in visible if command.group == topic]
    if group:
        lines = [ctx.t("help.group_header", group=topic)]
        lines.extend(_line(ctx, command) for command in group)
        return [ctx.reply("common.lines", text="\n".join(lines))]
    if ctx.catalogue.get(topic) is not None or topic in ctx.catalogue.groups():
        raise UserError("help.not_allowed", topic=topic)
    raise UserError("help.unknown_topic", topic=topic, hint="help")


COMMANDS = (
    Command("help", show_help, options=(Option("topic", required=False, rest=True, help_key="option.help_topic"),)),
)
