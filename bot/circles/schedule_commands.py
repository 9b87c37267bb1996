"""``circle schedule`` (anyone), ``circle schedule-set`` and ``circle schedule-clear`` (moderators)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select

from bot.circles import handover
from bot.circles.commands import CIRCLE_NAME, find_for
from bot.circles.facilitation import require_lead
from bot.circles.recurrence import Schedule, occurrences
from bot.circles.schedule_text import format_schedule, parse_schedule
from bot.circles.session_flow import format_when
from bot.commands import Command, Option, OptionKind
from bot.engine import CommandContext
from bot.errors import UserError
from bot.model import Action, Role
from bot.storage.models import Circle, Member
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
    planned = await handover.replan(ctx.scheduling.flow, ctx.session, ctx.community, circle, now, ctx.scheduling.policy)
    ctx.extra["outbox"] = True
    ctx.audit("circle.schedule", f"circle:{circle.id}", rule=format_schedule(schedule), quorum=quorum)
    zone = ZoneInfo(ctx.member.timezone or ctx.community.timezone)
    first = format_when(ctx.messages, ctx.locale, planned.start_at, zone) if planned else ctx.t("schedule.show.ended")
    return [ctx.reply("schedule.set.done", circle=circle.name, rule=format_schedule(schedule), first=first)]


async def clear(ctx: CommandContext) -> Sequence[Action]:
    """Remove the circle's schedule and its planned session; members, and whoever was told the session was theirs to
    lead, are told privately that it will not take place."""
    circle = await find_for(ctx, for_update=True)
    row = await ctx.session.get(CircleSchedule, circle.id)
    if row is None:
        raise UserError("schedule.none", circle=circle.name, set=f"{ctx.prefix}circle schedule-set")
    now = ctx.clock.now()
    planned = (
        CircleSession.circle_id == circle.id,
        CircleSession.status == SessionStatus.SCHEDULED,
    )
    # Columns, read before the rows go: what each person is told.
    called_off = (
        await ctx.session.execute(
            select(CircleSession.start_at, CircleSession.facilitator_notified_id)
            .where(*planned, CircleSession.end_at > now)
            .order_by(CircleSession.start_at)
        )
    ).all()
    await ctx.session.delete(row)
    await ctx.session.execute(delete(CircleSession).where(*planned))
    ctx.audit("circle.schedule_clear", f"circle:{circle.id}")
    for start, told in called_off:
        await _tell_members(ctx, circle, "schedule.clear.notice", told=told, when=start)
    if not called_off:
        return [ctx.reply("schedule.clear.done", circle=circle.name)]
    zone = ZoneInfo(ctx.member.timezone or ctx.community.timezone)
    when = format_when(ctx.messages, ctx.locale, called_off[0].start_at, zone)
    return [ctx.reply("schedule.clear.done_told", circle=circle.name, when=when)]


def _local_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError("rotation.error.bad_date", value=text) from None


async def _occurrence(ctx: CommandContext) -> tuple[Circle, CircleSchedule, Schedule, datetime]:
    """The circle, its schedule and the original start of the occurrence on the given local date."""
    circle = await find_for(ctx, for_update=True)
    await require_lead(ctx.session, circle, ctx.member.id, ctx.role)
    row = await ctx.session.get(CircleSchedule, circle.id)
    if row is None:
        raise UserError("schedule.none", circle=circle.name, set=f"{ctx.prefix}circle schedule-set")
    schedule = Schedule.from_dict(row.rule)
    day = _local_day(ctx.text("date"))
    if not schedule.is_series_date(day):
        raise UserError("schedule.error.no_session_on", circle=circle.name, day=day.isoformat())
    return circle, row, schedule, schedule.start_on(day)


async def _tell_members(
    ctx: CommandContext, circle: Circle, message: str, /, *, told: int | None = None, **times: datetime
) -> None:
    """Tell each member with a seat in the circle privately, through the outbox, in their own language and time zone
    (``times`` are shown as each reads them; ``when`` is the session's): all but the one who typed the command, whose
    reply says it. ``told``, whoever was told the session was theirs to lead, hears it too, seat or not. The key
    names the message, the circle, the session, the person and the moment, so each is queued once."""
    assert ctx.scheduling is not None
    flow = ctx.scheduling.flow
    now = ctx.clock.now()
    people = [member for _membership, member in await flow.active_members(ctx.session, circle.id)]
    if told is not None and all(member.id != told for member in people):
        person = await ctx.session.get(Member, told)
        if person is not None:  # None: their data was deleted meanwhile
            people.append(person)
    session_start = times["when"].isoformat()
    for member in people:
        if member.id == ctx.member.id:
            continue
        shown = {name: flow.when_for(ctx.community, member, moment) for name, moment in times.items()}
        key = f"{message}:{circle.id}:{session_start}:{member.id}:{now.isoformat()}"
        await flow.dm(ctx.session, ctx.community, member, key, message, now, circle=circle.name, **shown)
    ctx.extra["outbox"] = True


async def cancel_one(ctx: CommandContext) -> Sequence[Action]:
    """Cancel one session; the rest of the schedule stays. Members are told privately."""
    circle, row, schedule, original = await _occurrence(ctx)
    told = await ctx.session.scalar(
        select(CircleSession.facilitator_notified_id).where(
            CircleSession.circle_id == circle.id,
            CircleSession.original_start == original,
            CircleSession.status == SessionStatus.SCHEDULED,
        )
    )
    row.rule = schedule.cancel(original).prune(ctx.clock.now()).to_dict()
    row.updated_at = ctx.clock.now()
    assert ctx.scheduling is not None
    # Its facilitator hears of the cancellation with the other members (seat or not), not also that it is no
    # longer theirs.
    await handover.replan(
        ctx.scheduling.flow,
        ctx.session,
        ctx.community,
        circle,
        ctx.clock.now(),
        ctx.scheduling.policy,
        cancelled=original,
    )
    ctx.audit("session.cancel", f"circle:{circle.id}", original=original.isoformat())
    await _tell_members(ctx, circle, "schedule.cancel.notice", told=told, when=original)
    zone = ZoneInfo(ctx.member.timezone or ctx.community.timezone)
    when = format_when(ctx.messages, ctx.locale, original, zone)
    return [ctx.reply("schedule.cancel.done", circle=circle.name, when=when)]


async def move_one(ctx: CommandContext) -> Sequence[Action]:
    """Move one session to another day and time (in the schedule's time zone). Members are told privately."""
    circle, row, schedule, original = await _occurrence(ctx)
    new_day = _local_day(ctx.text("new_date"))
    try:
        new_time = time.fromisoformat(ctx.text("new_time"))
    except ValueError:
        raise UserError("schedule.error.bad_time", value=ctx.text("new_time")) from None
    new_start = datetime.combine(new_day, new_time, schedule.zone).astimezone(UTC)
    if new_start <= ctx.clock.now():
        raise UserError("schedule.error.move_past")
    row.rule = schedule.move(original, new_start).prune(ctx.clock.now()).to_dict()
    row.updated_at = ctx.clock.now()
    assert ctx.scheduling is not None
    await handover.replan(
        ctx.scheduling.flow, ctx.session, ctx.community, circle, ctx.clock.now(), ctx.scheduling.policy
    )
    ctx.audit("session.move", f"circle:{circle.id}", original=original.isoformat(), to=new_start.isoformat())
    await _tell_members(ctx, circle, "schedule.move.notice", when=original, new=new_start)
    zone = ZoneInfo(ctx.member.timezone or ctx.community.timezone)
    return [
        ctx.reply(
            "schedule.move.done",
            circle=circle.name,
            when=format_when(ctx.messages, ctx.locale, original, zone),
            new=format_when(ctx.messages, ctx.locale, new_start, zone),
        )
    ]


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
    Command("session cancel", cancel_one, options=(CIRCLE_NAME, Option("date", max_length=10))),
    Command(
        "session move",
        move_one,
        options=(
            CIRCLE_NAME,
            Option("date", max_length=10),
            Option("new_date", max_length=10),
            Option("new_time", max_length=5),
        ),
    ),
)
