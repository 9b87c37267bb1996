"""``facilitate`` (volunteer, step-down, away, train) and ``rotation`` (show, swap, accept, set)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.circles import handover
from bot.circles.commands import CIRCLE_NAME, find_for, require_active_member
from bot.circles.facilitation import candidates, choose_for, lead_at_start, standing_of
from bot.circles.planning import next_planned
from bot.circles.recurrence import Schedule, occurrences
from bot.circles.rotation import lapse, project
from bot.circles.session_flow import format_when
from bot.commands import Command, Option
from bot.engine import CommandContext
from bot.errors import UserError
from bot.members import find_member
from bot.model import Action, Platform, Role, UserRef
from bot.shown import shown_name
from bot.storage.models import Circle, Member
from bot.storage.schedule_models import (
    AwayPeriod,
    CircleSchedule,
    CircleSession,
    Facilitator,
    FacilitatorSource,
    SessionStatus,
    SwapRequest,
)
from bot.storage.upsert import insert_ignore

__all__ = ["COMMANDS", "native_user_id"]

PROJECTED = 4
MAX_AWAY = timedelta(days=366)


async def _facilitator_row(ctx: CommandContext, circle: Circle, member_id: int) -> Facilitator:
    await insert_ignore(
        ctx.session,
        Facilitator,
        {
            "circle_id": circle.id,
            "member_id": member_id,
            "trained": False,
            "volunteering": False,
            "updated_at": ctx.clock.now(),
        },
    )
    return (
        await ctx.session.execute(
            select(Facilitator).where(Facilitator.circle_id == circle.id, Facilitator.member_id == member_id)
        )
    ).scalar_one()


def native_user_id(platform: Platform, typed: str) -> str:
    """The platform id of a person named in a command: a Discord mention ``<@123>`` or id, a Matrix ``@user:server``
    (whose ``@`` is part of the id), or a console name (``@sam`` or ``sam``)."""
    text = typed.strip()
    if platform is Platform.MATRIX:
        return text
    if platform is Platform.DISCORD and text.startswith("<@") and text.endswith(">"):
        return text[2:-1].lstrip("!")
    return text.removeprefix("@")


async def _named_member(ctx: CommandContext) -> Member:
    platform = ctx.invocation.community.platform
    name = native_user_id(platform, ctx.text("member"))
    member = await find_member(ctx.session, UserRef(platform, name))
    if member is None:
        raise UserError("rotation.error.unknown_member", member=name)
    return member


async def _next_session(ctx: CommandContext, circle: Circle) -> CircleSession:
    row = await next_planned(ctx.session, circle.id, ctx.clock.now(), for_update=True)
    if row is None:
        raise UserError("session.error.none_planned", circle=circle.name)
    return row


async def volunteer(ctx: CommandContext) -> Sequence[Action]:
    """Offer to facilitate; only trained facilitators are chosen, so moderators are asked to confirm training."""
    circle = await find_for(ctx)
    await require_active_member(ctx, circle)
    row = await _facilitator_row(ctx, circle, ctx.member.id)
    row.volunteering = True
    row.updated_at = ctx.clock.now()
    if row.trained:
        return [ctx.reply("rotation.volunteer.done", circle=circle.name)]
    assert ctx.scheduling is not None
    await ctx.scheduling.flow.tell_moderators(
        ctx.session,
        ctx.community,
        f"volunteer:{circle.id}:{ctx.member.id}:{ctx.clock.now().isoformat()}",
        "rotation.volunteer.moderators",
        ctx.clock.now(),
        who=shown_name(ctx.member),
        circle=circle.name,
        train=f"{ctx.prefix}facilitate train {circle.name} {ctx.member.native_id}",
    )
    ctx.extra["outbox"] = True
    return [ctx.reply("rotation.volunteer.needs_training", circle=circle.name)]


async def step_down(ctx: CommandContext) -> Sequence[Action]:
    """Leave the rotation (training is kept, for coming back)."""
    circle = await find_for(ctx)
    row = await _facilitator_row(ctx, circle, ctx.member.id)
    row.volunteering = False
    row.updated_at = ctx.clock.now()
    return [ctx.reply("rotation.step_down.done", circle=circle.name)]


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError("rotation.error.bad_date", value=text) from None


async def away(ctx: CommandContext) -> Sequence[Action]:
    """Not to be chosen from FROM to TO (whole days, in the member's own time zone)."""
    circle = await find_for(ctx)
    first, last = _day(ctx.text("from")), _day(ctx.text("to"))
    if last < first:
        raise UserError("rotation.error.away_order")
    zone = ZoneInfo(ctx.member.timezone or ctx.community.timezone)
    starts = datetime.combine(first, time(), zone)
    ends = datetime.combine(last + timedelta(days=1), time(), zone)
    if ends - starts > MAX_AWAY:
        raise UserError("rotation.error.away_long")
    row = await _facilitator_row(ctx, circle, ctx.member.id)
    await ctx.session.flush()
    ctx.session.add(AwayPeriod(facilitator_id=row.id, starts_at=starts, ends_at=ends))
    return [ctx.reply("rotation.away.done", circle=circle.name, start=first.isoformat(), end=last.isoformat())]


async def train(ctx: CommandContext) -> Sequence[Action]:
    """A moderator confirms a member is trained to facilitate this circle."""
    circle = await find_for(ctx)
    member = await _named_member(ctx)
    row = await _facilitator_row(ctx, circle, member.id)
    row.trained = True
    row.updated_at = ctx.clock.now()
    ctx.audit("facilitate.train", f"circle:{circle.id}", member=member.id)
    return [
        ctx.reply("rotation.train.done", member=shown_name(member), circle=circle.name),
        ctx.direct(
            member,
            "rotation.train.notice",
            circle=circle.name,
            volunteer=f"{ctx.prefix}facilitate volunteer {circle.name}",
        ),
    ]


async def show(ctx: CommandContext) -> Sequence[Action]:
    """The next sessions and who is expected to lead each, with a backup."""
    circle = await find_for(ctx)
    schedule_row = await ctx.session.get(CircleSchedule, circle.id)
    if schedule_row is None:
        raise UserError("schedule.none", circle=circle.name, set=f"{ctx.prefix}circle schedule-set")
    now = ctx.clock.now()
    starts = [o.start for o in occurrences(Schedule.from_dict(schedule_row.rule), now, PROJECTED)]
    planned = await next_planned(ctx.session, circle.id, now)
    assert ctx.scheduling is not None
    # The planned session shows who would lead it if it started now: its facilitator while they still could (not
    # someone who has left the circle since, say), else whom the start would turn to.
    lead = await lead_at_start(ctx.session, planned, now, ctx.scheduling.policy.monthly_cap) if planned else None
    assigned = {planned.start_at: lead.member_id} if planned and lead and lead.member_id else {}
    choices = project(
        await candidates(ctx.session, circle.id, now, include_planned=False),
        starts,
        load_cap=ctx.scheduling.policy.monthly_cap,
        assigned=assigned,
        month_zone=ZoneInfo(ctx.community.timezone),
    )
    ids = {c.primary for c in choices} | {c.backup for c in choices}
    names = {
        m.id: shown_name(m)
        for m in (await ctx.session.execute(select(Member).where(Member.id.in_(ids - {None})))).scalars()
    }
    zone = ZoneInfo(ctx.member.timezone or ctx.community.timezone)
    nobody = ctx.t("rotation.show.nobody")
    lines = [ctx.t("rotation.show.header", circle=circle.name)]
    for start, choice in zip(starts, choices, strict=True):
        lines.append(
            ctx.t(
                "rotation.show.line",
                when=format_when(ctx.messages, ctx.locale, start, zone),
                lead=names.get(choice.primary or -1, nobody),
                backup=names.get(choice.backup or -1, nobody),
            )
        )
    return [ctx.reply("common.lines", text="\n".join(lines))]


async def swap(ctx: CommandContext) -> Sequence[Action]:
    """The next session's facilitator asks another trained facilitator to lead it instead."""
    circle = await find_for(ctx)
    row = await _next_session(ctx, circle)
    if row.facilitator_id != ctx.member.id:
        raise UserError("rotation.error.not_yours", circle=circle.name)
    standing = await standing_of(ctx.session, circle.id, ctx.member.id, row.start_at)
    if standing is None or not standing.in_circle:  # it goes back to the rotation at its start
        raise UserError("session.error.not_seated", circle=circle.name)
    other = await _named_member(ctx)
    await _may_take(ctx, circle, other, row)
    if other.id == ctx.member.id:
        raise UserError("rotation.error.not_trained", member=shown_name(other), circle=circle.name)
    request = SwapRequest(session_id=row.id, from_member=ctx.member.id, to_member=other.id, created_at=ctx.clock.now())
    ctx.session.add(request)
    await ctx.session.flush()
    zone = ZoneInfo(other.timezone or ctx.community.timezone)
    when = format_when(
        ctx.messages, ctx.messages.resolve_locale(other.locale, ctx.community.locale), row.start_at, zone
    )
    return [
        ctx.reply("rotation.swap.asked", member=shown_name(other)),
        ctx.direct(
            other,
            "rotation.swap.request",
            who=shown_name(ctx.member),
            circle=circle.name,
            when=when,
            accept=f"{ctx.prefix}rotation accept {request.id}",
        ),
    ]


async def _may_take(ctx: CommandContext, circle: Circle, member: Member, row: CircleSession) -> None:
    """Only a trained facilitator who holds a seat in the circle may take one of its sessions."""
    reason = lapse(await standing_of(ctx.session, circle.id, member.id, row.start_at))
    if reason == "left":
        raise UserError("rotation.error.not_in_circle", member=shown_name(member), circle=circle.name)
    if reason == "untrained":
        raise UserError("rotation.error.not_trained", member=shown_name(member), circle=circle.name)


async def accept(ctx: CommandContext) -> Sequence[Action]:
    """Accept a swap: the session is now yours to lead."""
    number = ctx.args.get("request")
    request = (
        await ctx.session.get(SwapRequest, int(str(number)), with_for_update=True) if str(number).isdigit() else None
    )
    if request is None or request.to_member != ctx.member.id or request.status != "pending":
        raise UserError("rotation.error.no_request", id=number)
    row = await ctx.session.get(CircleSession, request.session_id, with_for_update=True)
    if row is None or row.status != SessionStatus.SCHEDULED or row.facilitator_id != request.from_member:
        request.status = "expired"
        raise UserError("rotation.error.no_request", id=number)
    circle = await ctx.session.get(Circle, row.circle_id)
    assert circle is not None
    await _may_take(ctx, circle, ctx.member, row)
    row.facilitator_id = ctx.member.id
    row.facilitator_source = FacilitatorSource.SWAP  # agreed between the two: it holds at the start
    row.facilitator_set_by = None
    request.status = "accepted"
    asker = await ctx.session.get(Member, request.from_member)
    ctx.audit("rotation.swap", f"session:{row.id}", to=ctx.member.id)
    assert ctx.scheduling is not None
    flow, now = ctx.scheduling.flow, ctx.clock.now()
    if row.backup_id == ctx.member.id:  # the backup took it: the next fairest backs them up, not the one who asked
        await ctx.session.flush()
        backup = await choose_for(
            ctx.session,
            circle.id,
            row.start_at,
            now,
            ctx.scheduling.policy.monthly_cap,
            exclude=frozenset({ctx.member.id, request.from_member}),
        )
        row.backup_id = backup.primary
    # The asker hears that the session is no longer theirs from the swap's own message, whether or not they had
    # their notice yet; anyone else told it was theirs (nobody, while swaps need the facilitator to ask) hears too.
    await handover.release(
        flow,
        ctx.session,
        ctx.community,
        circle,
        row,
        now,
        keep=ctx.member.id,
        told_otherwise=asker.id if asker else None,
    )
    if asker is not None:
        await flow.dm(
            ctx.session,
            ctx.community,
            asker,
            f"released:{row.id}:{asker.id}:{now.isoformat()}",
            "rotation.swap.done",
            now,
            who=shown_name(ctx.member),
            circle=circle.name,
            when=flow.when_for(ctx.community, asker, row.start_at),
        )
    # The taker knows (they accepted); the notice's details follow in its time, or now if its time passed.
    await handover.hand_to(
        flow, ctx.session, ctx.community, circle, row, ctx.member, now, told=None, notice_now="session.notice"
    )
    ctx.extra["outbox"] = True
    return [ctx.reply("rotation.swap.accepted", circle=circle.name)]


async def override(ctx: CommandContext) -> Sequence[Action]:
    """A moderator sets who leads the next session: any trained member of the circle, in the rotation or not. The
    choice holds at the start unless the person can no longer lead it (see ``SessionFlow.start``)."""
    circle = await find_for(ctx)
    row = await _next_session(ctx, circle)
    member = await _named_member(ctx)
    reason = lapse(await standing_of(ctx.session, circle.id, member.id, row.start_at))
    if reason == "left":
        raise UserError("rotation.error.not_in_circle", member=shown_name(member), circle=circle.name)
    if reason == "untrained":
        raise UserError("rotation.error.not_trained", member=shown_name(member), circle=circle.name)
    if reason == "away":
        zone = ZoneInfo(ctx.member.timezone or ctx.community.timezone)
        when = format_when(ctx.messages, ctx.locale, row.start_at, zone)
        raise UserError("rotation.error.away_then", member=shown_name(member), circle=circle.name, when=when)
    row.facilitator_id = member.id
    row.facilitator_source = FacilitatorSource.MODERATOR
    row.facilitator_set_by = ctx.member.id
    await ctx.session.flush()  # so the ledger below counts this session as theirs
    assert ctx.scheduling is not None
    # The backup is the fairest other eligible facilitator (as ``rotation show`` projects it): usually the rotation's
    # own pick, who takes over if the moderator's choice lapses.
    backup = await choose_for(
        ctx.session,
        circle.id,
        row.start_at,
        ctx.clock.now(),
        ctx.scheduling.policy.monthly_cap,
        exclude=frozenset({member.id}),
    )
    row.backup_id = backup.primary
    ctx.audit("rotation.set", f"session:{row.id}", to=member.id)
    # Whoever was told the session was theirs hears it no longer is; the person named hears it is theirs, with the
    # whole facilitator notice if its time has passed.
    await handover.hand_to(
        ctx.scheduling.flow,
        ctx.session,
        ctx.community,
        circle,
        row,
        member,
        ctx.clock.now(),
        told="rotation.set.notice",
        notice_now="rotation.set.notice_now",
    )
    ctx.extra["outbox"] = True
    return [ctx.reply("rotation.set.done", member=shown_name(member), circle=circle.name)]


CIRCLE = CIRCLE_NAME
MEMBER = Option("member", max_length=255)
COMMANDS = (
    Command("facilitate volunteer", volunteer, options=(CIRCLE_NAME,)),
    Command("facilitate step-down", step_down, options=(CIRCLE_NAME,)),
    Command("facilitate away", away, options=(CIRCLE, Option("from", max_length=10), Option("to", max_length=10))),
    Command("facilitate train", train, options=(CIRCLE, MEMBER), min_role=Role.MODERATOR),
    Command("rotation show", show, options=(CIRCLE_NAME,)),
    Command("rotation swap", swap, options=(CIRCLE, MEMBER)),
    Command("rotation accept", accept, options=(Option("request", max_length=12),)),
    Command("rotation set", override, options=(CIRCLE, MEMBER), min_role=Role.MODERATOR),
)
