"""``me export`` and ``me forget``: a member's own data, sent to them or deleted everywhere."""

from __future__ import annotations

from collections.abc import Sequence

from bot.circles.commands import fill_seats
from bot.commands import Command, Option, OptionKind
from bot.engine import CommandContext
from bot.model import Action
from bot.privacy.export import build_export, to_json
from bot.privacy.forget import CONFIRM_WITHIN, forget_member, pending_for
from bot.storage.models import AuditEntry

__all__ = ["COMMANDS", "CONFIRM", "MESSAGE_LIMIT"]

MESSAGE_LIMIT = 1900
"""Longest export sent as readable JSON in one message (Discord allows 2000 characters)."""
CONFIRM = "confirm"


def _pending(ctx: CommandContext) -> object:
    return ctx.session.bind if ctx.session.bind is not None else ctx.clock


async def export(ctx: CommandContext) -> Sequence[Action]:
    """Everything the bot holds about the caller, privately, as JSON."""
    data = await build_export(ctx.session, ctx.member, ctx.clock.now())
    readable = to_json(data)
    if len(readable) <= MESSAGE_LIMIT:
        return [ctx.reply("privacy.export.done", size=len(readable), json=readable, private=True)]
    compact = to_json(data, compact=True)
    sections = ", ".join(
        f"{key}: {len(value)}" for key, value in sorted(data.items()) if isinstance(value, list) and value
    )
    return [ctx.reply("privacy.export.long", size=len(readable), sections=sections or "-", json=compact, private=True)]


async def forget(ctx: CommandContext) -> Sequence[Action]:
    """Ask, then (with ``confirm`` within ten minutes) delete everything about the caller, everywhere."""
    now = ctx.clock.now()
    pending = pending_for(_pending(ctx))
    minutes = int(CONFIRM_WITHIN.total_seconds() // 60)
    platform, native_id = ctx.member.platform, ctx.member.native_id
    if ctx.optional_text("confirm") is None:
        pending.ask(platform, native_id, now)
        return [
            ctx.reply(
                "privacy.forget.ask",
                confirm=f"{ctx.prefix}me forget {CONFIRM}",
                minutes=minutes,
                export=f"{ctx.prefix}me export",
                private=True,
            )
        ]
    state = pending.take(platform, native_id, now)
    if state != "confirmed":
        return [ctx.reply(f"privacy.forget.{state}", forget=f"{ctx.prefix}me forget", minutes=minutes, private=True)]
    result = await forget_member(ctx.session, ctx.member)
    actions: list[Action] = [ctx.reply("privacy.forget.done", count=result.total, private=True)]
    for circle in result.freed_seats:
        actions.extend(await fill_seats(ctx, circle))
    # Accountable, and anonymous: that someone was forgotten, and how much, but not who.
    ctx.session.add(
        AuditEntry(
            community_id=ctx.community.id,
            actor_id=None,
            action="member.forget",
            target="",
            details={"rows": result.total},
            created_at=now,
        )
    )
    return actions


COMMANDS = (
    Command("me export", export),
    Command(
        "me forget",
        forget,
        options=(
            Option("confirm", OptionKind.CHOICE, required=False, choices=(CONFIRM,), help_key="option.forget_confirm"),
        ),
    ),
)
