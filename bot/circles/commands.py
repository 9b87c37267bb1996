"""The ``circle`` commands: create, list, info, join (with a waitlist), leave, archive."""

from __future__ import annotations

from collections.abc import Sequence

from bot.circles import service
from bot.circles.names import MAX_NAME, clean_name, name_key
from bot.commands import Command, Option, OptionKind
from bot.engine import CommandContext
from bot.errors import UserError
from bot.model import Action, Role
from bot.storage.models import Circle, CircleStatus, Membership, MembershipStatus, Visibility

__all__ = ["CIRCLE_NAME", "COMMANDS", "fill_seats", "find_for", "require_active_member"]

CIRCLE_NAME = Option("circle", rest=True, max_length=MAX_NAME, autocomplete="circle")


def _privileged(ctx: CommandContext) -> bool:
    return ctx.role >= Role.MODERATOR


async def require_active_member(ctx: CommandContext, circle: Circle) -> Membership:
    """The caller's seat in ``circle``, or the translated "not a member" error."""
    membership = await service.membership_of(ctx.session, circle.id, ctx.member.id)
    if membership is None or membership.status != MembershipStatus.ACTIVE:
        raise UserError("circle.error.not_member", circle=circle.name)
    return membership


async def find_for(ctx: CommandContext, *, for_update: bool = False) -> Circle:
    """The circle named by the ``circle`` argument, as the caller may see it."""
    return await service.find_circle(
        ctx.session,
        ctx.community.id,
        ctx.text("circle"),
        ctx.member.id,
        privileged=_privileged(ctx),
        for_update=for_update,
    )


async def create(ctx: CommandContext) -> Sequence[Action]:
    """Create a circle (moderators and admins)."""
    name = clean_name(ctx.text("name"))
    capacity = ctx.optional_int("capacity") or ctx.limits.default_capacity
    if capacity > ctx.limits.max_capacity:
        raise UserError("circle.error.capacity_too_high", limit=ctx.limits.max_capacity)
    existing = await service.find_circle_by_key(ctx.session, ctx.community.id, name_key(name))
    if existing is not None:
        key = "circle.error.exists_archived" if existing.status == CircleStatus.ARCHIVED else "circle.error.exists"
        raise UserError(key, circle=existing.name)
    circle = Circle(
        community_id=ctx.community.id,
        name=name,
        name_key=name_key(name),
        topic=ctx.optional_text("topic") or "",
        description=ctx.optional_text("description") or "",
        capacity=capacity,
        visibility=ctx.optional_text("visibility") or Visibility.PUBLIC,
        status=CircleStatus.ACTIVE,
        created_by=ctx.member.id,
        created_at=ctx.clock.now(),
    )
    ctx.session.add(circle)
    await ctx.session.flush()
    ctx.audit("circle.create", f"circle:{circle.id}", capacity=capacity, visibility=circle.visibility)
    return [
        ctx.reply(
            "circle.create.done",
            circle=circle.name,
            capacity=capacity,
            visibility=ctx.t(f"circle.visibility.{circle.visibility}"),
            join=f"{ctx.prefix}circle join {circle.name}",
        )
    ]


async def list_circles(ctx: CommandContext) -> Sequence[Action]:
    """List the circles the caller may see."""
    circles = await service.visible_circles(ctx.session, ctx.community.id, ctx.member.id, privileged=_privileged(ctx))
    if not circles:
        hint = "circle.list.empty_moderator" if _privileged(ctx) else "circle.list.empty"
        return [ctx.reply(hint, create=f"{ctx.prefix}circle create")]
    all_counts = await service.counts_for(ctx.session, [circle.id for circle in circles])
    mine = await service.my_statuses(ctx.session, ctx.member.id, [circle.id for circle in circles])
    lines = [ctx.t("circle.list.header", community=ctx.community.name)]
    for circle in circles:
        counted = all_counts[circle.id]
        notes: list[str] = []
        if counted.active >= circle.capacity:
            notes.append(ctx.t("circle.list.full", waiting=counted.waiting))
        if circle.visibility == Visibility.UNLISTED:
            notes.append(ctx.t("circle.visibility.unlisted"))
        status = mine.get(circle.id)
        if status is not None:
            notes.append(ctx.t(f"circle.list.you_{status}"))
        lines.append(
            ctx.t(
                "circle.list.line",
                circle=circle.name,
                topic=circle.topic or "-",
                taken=counted.active,
                capacity=circle.capacity,
                notes=(" · " + " · ".join(notes)) if notes else "",
            )
        )
    lines.append(ctx.t("circle.list.footer", join=f"{ctx.prefix}circle join", info=f"{ctx.prefix}circle info"))
    return [ctx.reply("common.lines", text="\n".join(lines))]


async def info(ctx: CommandContext) -> Sequence[Action]:
    """Show one circle: topic, description, seats, waitlist and the caller's own place."""
    circle = await find_for(ctx)
    counted = await service.counts(ctx.session, circle.id)
    membership = await service.membership_of(ctx.session, circle.id, ctx.member.id)
    if membership is None:
        yours = ctx.t("circle.info.you_none", join=f"{ctx.prefix}circle join {circle.name}")
    elif membership.status == MembershipStatus.WAITLISTED:
        yours = ctx.t("circle.info.you_waiting", position=await service.waitlist_position(ctx.session, membership))
    else:
        yours = ctx.t(f"circle.info.you_{membership.role}")
    status = ctx.t(f"circle.status.{circle.status}")
    text = ctx.t(
        "circle.info.body",
        circle=circle.name,
        topic=circle.topic or "-",
        description=circle.description or ctx.t("circle.info.no_description"),
        taken=counted.active,
        capacity=circle.capacity,
        waiting=counted.waiting,
        visibility=ctx.t(f"circle.visibility.{circle.visibility}"),
        status=status,
        yours=yours,
    )
    return [ctx.reply("common.lines", text=text)]


async def join(ctx: CommandContext) -> Sequence[Action]:
    """Take a seat, or a place on the waitlist when the circle is full."""
    circle = await find_for(ctx, for_update=True)
    if circle.status == CircleStatus.ARCHIVED:
        raise UserError("circle.error.archived", circle=circle.name)
    membership = await service.membership_of(ctx.session, circle.id, ctx.member.id)
    if membership is not None:
        if membership.status == MembershipStatus.WAITLISTED:
            position = await service.waitlist_position(ctx.session, membership)
            raise UserError("circle.error.already_waiting", circle=circle.name, position=position)
        raise UserError("circle.error.already_member", circle=circle.name)
    now = ctx.clock.now()
    counted = await service.counts(ctx.session, circle.id)
    membership = Membership(circle_id=circle.id, member_id=ctx.member.id, role="member", queued_at=now)
    if counted.active < circle.capacity and counted.waiting == 0:
        service.seat(membership, now)
        ctx.session.add(membership)
        return [ctx.reply("circle.join.done", circle=circle.name, leave=f"{ctx.prefix}circle leave {circle.name}")]
    membership.status = MembershipStatus.WAITLISTED
    ctx.session.add(membership)
    await ctx.session.flush()
    position = await service.waitlist_position(ctx.session, membership)
    return [ctx.reply("circle.join.waitlisted", circle=circle.name, position=position)]


async def leave(ctx: CommandContext) -> Sequence[Action]:
    """Give up a seat (the first in line takes it and is told) or a waitlist place."""
    circle = await find_for(ctx, for_update=True)
    membership = await service.membership_of(ctx.session, circle.id, ctx.member.id)
    if membership is None:
        raise UserError("circle.error.not_member", circle=circle.name)
    was_waiting = membership.status == MembershipStatus.WAITLISTED
    await ctx.session.delete(membership)
    await ctx.session.flush()
    if was_waiting:
        return [ctx.reply("circle.leave.waitlist_done", circle=circle.name)]
    actions: list[Action] = [ctx.reply("circle.leave.done", circle=circle.name)]
    if circle.status == CircleStatus.ACTIVE:
        actions.extend(await fill_seats(ctx, circle))
    return actions


async def fill_seats(ctx: CommandContext, circle: Circle) -> list[Action]:
    """Promote people from the waitlist while seats are free, telling each privately."""
    actions: list[Action] = []
    counted = await service.counts(ctx.session, circle.id)
    free = circle.capacity - counted.active
    while free > 0:
        first = await service.first_waitlisted(ctx.session, circle.id)
        if first is None:
            break
        membership, member = first
        service.seat(membership, ctx.clock.now())
        await ctx.session.flush()
        actions.append(ctx.direct(member, "circle.waitlist.promoted", circle=circle.name))
        free -= 1
    return actions


async def archive(ctx: CommandContext) -> Sequence[Action]:
    """Archive a circle: no new joins; everyone in it or waiting is told privately."""
    circle = await find_for(ctx, for_update=True)
    if circle.status == CircleStatus.ARCHIVED:
        raise UserError("circle.error.already_archived", circle=circle.name)
    circle.status = CircleStatus.ARCHIVED
    circle.archived_at = ctx.clock.now()
    people = await service.members_of(ctx.session, circle.id)
    ctx.audit("circle.archive", f"circle:{circle.id}", members=len(people))
    actions: list[Action] = [ctx.reply("circle.archive.done", circle=circle.name, told=len(people))]
    actions.extend(
        ctx.direct(member, "circle.archive.notice", circle=circle.name, list=f"{ctx.prefix}circle list")
        for _membership, member in people
        if member.id != ctx.member.id
    )
    return actions


COMMANDS = (
    Command(
        "circle create",
        create,
        options=(
            Option("name", rest=True, max_length=MAX_NAME),
            Option("topic", required=False, max_length=120),
            Option("description", required=False, max_length=1000),
            Option("capacity", OptionKind.INTEGER, required=False, min_value=2, max_value=500),
            Option("visibility", OptionKind.CHOICE, required=False, choices=Visibility.ALL),
        ),
        min_role=Role.MODERATOR,
    ),
    Command("circle list", list_circles),
    Command("circle info", info, options=(CIRCLE_NAME,)),
    Command("circle join", join, options=(CIRCLE_NAME,)),
    Command("circle leave", leave, options=(CIRCLE_NAME,)),
    Command("circle archive", archive, options=(CIRCLE_NAME,), min_role=Role.MODERATOR),
)
