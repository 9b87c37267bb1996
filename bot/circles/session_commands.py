"""``session`` commands: open, close, here, rsvp, feedback."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.circles.commands import CIRCLE_NAME, find_for, require_active_member
from bot.circles.facilitation import is_facilitator, require_lead
from bot.circles.planning import next_planned
from bot.circles.session_flow import format_when, space_id
from bot.commands import Command, Option, OptionKind
from bot.engine import CommandContext, Scheduling
from bot.errors import UserError
from bot.model import Action, CloseSpace, OpenSpace, Platform, PostToRoom, RoomRef, UserRef
from bot.storage.models import Circle
from bot.storage.schedule_models import Attendance, CircleSession, FacilitatorSource, Feedback, SessionStatus
from bot.storage.upsert import insert_ignore

__all__ = ["COMMANDS"]

# A facilitator may open a little early, and a late start still counts until the session's end.
EARLY_OPEN = timedelta(minutes=30)
FEEDBACK_WINDOW = timedelta(days=14)


def _scheduling(ctx: CommandContext) -> Scheduling:
    assert ctx.scheduling is not None
    return ctx.scheduling


async def _may_lead(ctx: CommandContext, circle: Circle) -> None:
    await require_lead(ctx.session, circle, ctx.member.id, ctx.role)


async def _current(ctx: CommandContext, circle: Circle, statuses: tuple[str, ...]) -> CircleSession | None:
    now = ctx.clock.now()
    result = await ctx.session.execute(
        select(CircleSession)
        .where(
            CircleSession.circle_id == circle.id,
            CircleSession.status.in_(statuses),
            CircleSession.start_at <= now + EARLY_OPEN,
            CircleSession.end_at > now - _scheduling(ctx).policy.session_grace,
        )
        .order_by(CircleSession.start_at)
        .limit(1)
        .with_for_update()
    )
    return result.scalar_one_or_none()


async def _attendance(ctx: CommandContext, row: CircleSession, member_id: int) -> Attendance:
    await insert_ignore(ctx.session, Attendance, {"session_id": row.id, "member_id": member_id})
    return (
        await ctx.session.execute(
            select(Attendance).where(Attendance.session_id == row.id, Attendance.member_id == member_id)
        )
    ).scalar_one()


def _space(ctx: CommandContext, row: CircleSession) -> RoomRef:
    return RoomRef(ctx.invocation.community.platform, row.space_id or space_id(row))


async def open_session(ctx: CommandContext) -> Sequence[Action]:
    """The facilitator (or a moderator) opens the session's space with the ground rules and an opening round."""
    circle = await find_for(ctx)
    await _may_lead(ctx, circle)
    row = await _current(ctx, circle, (SessionStatus.SCHEDULED, SessionStatus.UNSTAFFED))
    if row is None:
        if await _current(ctx, circle, (SessionStatus.OPEN,)) is not None:
            raise UserError("session.error.already_open", circle=circle.name)
        raise UserError(
            "session.error.none_due", circle=circle.name, schedule=f"{ctx.prefix}circle schedule {circle.name}"
        )
    now = ctx.clock.now()
    row.status = SessionStatus.OPEN
    row.opened_at = now
    row.space_id = space_id(row)
    if await is_facilitator(ctx.session, circle.id, ctx.member.id) and row.facilitator_id != ctx.member.id:
        row.facilitator_id = ctx.member.id  # the ledger records who actually led
        row.facilitator_source = FacilitatorSource.STAND_IN
        row.facilitator_set_by = None
    (await _attendance(ctx, row, ctx.member.id)).attended = True
    members = await _scheduling(ctx).flow.active_members(ctx.session, circle.id)
    people = tuple(UserRef(Platform(member.platform), member.native_id) for _m, member in members)
    space = _space(ctx, row)
    locale = ctx.community.locale
    welcome = ctx.messages.t(
        locale,
        "session.open.welcome",
        circle=circle.name,
        here=f"{ctx.prefix}session here {circle.name}",
        support=f"{ctx.prefix}support",
        resources=f"{ctx.prefix}resources",
    )
    ctx.audit("session.open", f"session:{row.id}")
    return [
        OpenSpace(space, circle.name, people),
        PostToRoom(space, welcome),
        ctx.reply(
            "session.open.done",
            circle=circle.name,
            space=space.native_id,
            close=f"{ctx.prefix}session close {circle.name}",
        ),
    ]


async def close_session(ctx: CommandContext) -> Sequence[Action]:
    """Close the session: a closing word, attendance recorded, anonymous feedback invited."""
    circle = await find_for(ctx)
    await _may_lead(ctx, circle)
    row = await _current(ctx, circle, (SessionStatus.OPEN,))
    if row is None:
        raise UserError("session.error.not_open", circle=circle.name)
    now = ctx.clock.now()
    row.status = SessionStatus.CLOSED
    row.closed_at = now
    flow = _scheduling(ctx).flow
    invited = await flow.invite_feedback(ctx.session, ctx.community, circle, row, now)
    debriefed = await flow.debrief(ctx.session, ctx.community, circle, row, now)
    ctx.extra["outbox"] = invited > 0 or debriefed
    space = _space(ctx, row)
    ctx.audit("session.close", f"session:{row.id}", attended=invited)
    return [
        PostToRoom(space, ctx.messages.t(ctx.community.locale, "session.close.closing", circle=circle.name)),
        CloseSpace(space),
        ctx.reply("session.close.done", circle=circle.name, attended=invited),
    ]


async def here(ctx: CommandContext) -> Sequence[Action]:
    """A member marks themself present in an open session."""
    circle = await find_for(ctx)
    await require_active_member(ctx, circle)
    row = await _current(ctx, circle, (SessionStatus.OPEN,))
    if row is None:
        raise UserError("session.error.not_open", circle=circle.name)
    (await _attendance(ctx, row, ctx.member.id)).attended = True
    return [ctx.reply("session.here.done", circle=circle.name)]


async def rsvp(ctx: CommandContext) -> Sequence[Action]:
    """A member confirms they will come to the next session (quorum counts these)."""
    circle = await find_for(ctx)
    await require_active_member(ctx, circle)
    now = ctx.clock.now()
    row = await next_planned(ctx.session, circle.id, now)
    if row is None:
        raise UserError("session.error.none_planned", circle=circle.name)
    (await _attendance(ctx, row, ctx.member.id)).confirmed = True
    zone = ZoneInfo(ctx.member.timezone or ctx.community.timezone)
    return [
        ctx.reply(
            "session.rsvp.done", circle=circle.name, when=format_when(ctx.messages, ctx.locale, row.start_at, zone)
        )
    ]


async def feedback(ctx: CommandContext) -> Sequence[Action]:
    """Anonymous feedback on the last session the member attended: stored without their name."""
    circle = await find_for(ctx)
    now = ctx.clock.now()
    result = await ctx.session.execute(
        select(CircleSession, Attendance)
        .join(Attendance, Attendance.session_id == CircleSession.id)
        .where(
            CircleSession.circle_id == circle.id,
            CircleSession.status == SessionStatus.CLOSED,
            CircleSession.closed_at >= now - FEEDBACK_WINDOW,
            Attendance.member_id == ctx.member.id,
            Attendance.attended.is_(True),
        )
        .order_by(CircleSession.closed_at.desc())
        .limit(1)
    )
    found = result.first()
    if found is None:
        raise UserError("session.error.no_feedback_due", circle=circle.name)
    row, attendance = found
    if attendance.feedback_given:
        raise UserError("session.error.feedback_given", circle=circle.name)
    attendance.feedback_given = True
    ctx.session.add(
        Feedback(session_id=row.id, rating=int(str(ctx.args["rating"])), note=ctx.optional_text("note"), created_at=now)
    )
    return [ctx.reply("session.feedback.done")]


COMMANDS = (
    Command("session open", open_session, options=(CIRCLE_NAME,)),
    Command("session close", close_session, options=(CIRCLE_NAME,)),
    Command("session here", here, options=(CIRCLE_NAME,)),
    Command("session rsvp", rsvp, options=(CIRCLE_NAME,)),
    Command(
        "session feedback",
        feedback,
        options=(
            Option("circle", max_length=80, autocomplete="circle"),
            Option("rating", OptionKind.INTEGER, min_value=1, max_value=5),
            Option("note", required=False, rest=True, max_length=500, free_text=True),
        ),
    ),
)
