"""``circle schedule`` (anyone), ``circle schedule-set`` and ``circle schedule-clear`` (moderators)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete

from bot.circles.commands import CIRCLE_NAME, find_for
from bot.circles.planning import replan
from bot.circles.recurrence import Schedule, occurrences
from bot.circles.schedule_text import format_schedule, parse_schedule
from bot.circles.session_flow import format_when
from bot.commands import Command, Option, OptionKind
from bot.engine import CommandContext
from bot.errors import UserError
from bot.model import Action, Role
from bot.storage.schedule_models import CircleSchedule, CircleSession, SessionStatus

__all__ = ["COMMANDS"]

SHOWN = 5


async def show(ctx: CommandContext) -> Sequence[Action]:
    """The circle's rhythm and its next sessions, in the viewer's own time zone."""
    circle = await find_for(ctx)
    row = await ctx.session.get(CircleSchedule, circle.id)
    if row is None:
        raise UserError("schedule.none", circle=circle.name, set=f"{ctx.prefix}circle schedule-set")
    schedule = Schedule.from_dict(row.rule)
    zone = ZoneInfo(ctx.member.timezone or ctx.community.timezone)
    upcoming = occurrences(schedule, ctx.clock.now() - timedelta(minutes=1), SHOWN)
    lines = [ctx.t("schedule.show.header", circle=circle.name, rule=format_schedule(schedule))]
    lines.extend(
        ctx.t("schedule.show.line", when=format_when(ctx.messages, ctx.locale, occurrence.start, zone))
        for occurrence in upcoming
    )
    if not upcoming:
        lines.append(ctx.t("schedule.show.ended"))
    if row.quorum:
        lines.append(ctx.t("schedule.show.quorum", quorum=row.quorum))
    lines.append(ctx.t("schedule.show.your_zone", zone=zone.key, change=f"{ctx.prefix}me timezone"))
    return [ctx.reply("common.lines", text="\n".join(lines))]


async def set_schedule(ctx: CommandContext) -> Sequence[Action]:
    """Set (or replace) the circle's schedule from its readable form, and plan its next session."""
    circle = await find_for(ctx, for_update=True)
    local_today = ctx.clock.now().astimezone(ZoneInfo(ctx.community.timezone)).date()
    schedule = parse_schedule(ctx.text("rule"), default_timezone=ctx.community.timezone, today=local_today)
    now = ctx.clock.now()
    row = await ctx.session.get(CircleSchedule, circle.id)
    quorum = ctx.optional_int("quorum")
    if row is None:
        row = CircleSchedule(circle_id=circle.id, rule=schedule.to_dict(), quorum=quorum, updated_at=now)
        ctx.session.add(row)
    else:
        row.rule = schedule.to_dict()
        row.quorum = quorum
        row.updated_at = now
    await ctx.session.flush()
    assert ctx.scheduling is not None
    planned = await replan(ctx.session, circle.id, now, ctx.scheduling.policy)
    ctx.audit("circle.schedule", f"circle:{circle.id}", rule=format_schedule(schedule), quorum=quorum)
    zone = ZoneInfo(ctx.member.timezone or ctx.community.timezone)
    first = format_when(ctx.messages, ctx.locale, planned.start_at, zone) if planned else ctx.t("schedule.show.ended")
    return [ctx.reply("schedule.set.done", circle=circle.name, rule=format_schedule(schedule), first=first)]


async def clear(ctx: CommandContext) -> Sequence[Action]:
    """Remove the circle's schedule and its planned session."""
    circle = await find_for(ctx, for_update=True)
    row = await ctx.session.get(CircleSchedule, circle.id)
    if row is None:
        raise UserError("schedule.none", circle=circle.name, set=f"{ctx.prefix}circle schedule-set")
    await ctx.session.delete(row)
    await ctx.session.execute(
        delete(CircleSession).where(
            CircleSession.circle_id == circle.id, CircleSession.status == SessionStatus.SCHEDULED
        )
    )
    ctx.audit("circle.schedule_clear", f"circle:{circle.id}")
    return [ctx.reply("schedule.clear.done", circle=circle.name)]


COMMANDS = (
    Command("circle schedule", show, options=(CIRCLE_NAME,)),
    Command(
        "circle schedule-set",
        set_schedule,
        options=(
            Option("circle", max_length=80, autocomplete="circle"),
            Option("rule", rest=True, max_length=200),
            Option("quorum", OptionKind.INTEGER, required=False, min_value=2, max_value=100),
        ),
        min_role=Role.MODERATOR,
    ),
    Command("circle schedule-clear", clear, options=(CIRCLE_NAME,), min_role=Role.MODERATOR),
)
