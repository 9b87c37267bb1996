"""``support``, ``resources`` and the moderators' ``alert`` commands."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select

from bot.commands import Command, Option, OptionKind
from bot.delivery.outbox import enqueue, enqueue_to_moderators
from bot.engine import CommandContext
from bot.errors import UserError
from bot.model import Action, PostToRoom, Role, RoomRef
from bot.safety.escalation import Safety
from bot.safety.resources import TOPICS, format_resources, pick
from bot.storage.models import Escalation, EscalationStatus, Member

__all__ = ["COMMANDS"]

# The support handler scans its own note (it decides the request's tier), so it is not marked free_text.
NOTE = Option("note", required=False, rest=True, max_length=1000)


def _safety(ctx: CommandContext) -> Safety:
    if ctx.safety is None:
        raise UserError("safety.error.disabled")
    return ctx.safety


async def support(ctx: CommandContext) -> Sequence[Action]:
    """A member asks, privately, for a human. Peers never see it."""
    safety = _safety(ctx)
    note = ctx.optional_text("note")
    urgent = False
    if note is not None and note.split()[0].casefold() in {"urgent", "عاجل"}:
        urgent = True
        note = note.split(maxsplit=1)[1] if len(note.split()) > 1 else None
    if not ctx.community.moderator_room:
        # Honest about what happened: nobody can be told, so point straight to the lines that can help.
        return [ctx.reply("support.no_moderators", resources=safety.crisis_lines(ctx.community, ctx.locale))]
    escalation, new = await safety.on_support(ctx.session, ctx.report(), note, urgent, ctx.clock.now(), ctx.prefix)
    ctx.extra["outbox"] = new
    key = "support.done_urgent" if escalation.tier == "urgent" else "support.done"
    if not new:
        key = "support.already"
    return [ctx.reply(key, resources=safety.crisis_lines(ctx.community, ctx.locale))]


async def resources(ctx: CommandContext) -> Sequence[Action]:
    """The community's resources on a topic (or all), for the member's country and language."""
    safety = _safety(ctx)
    topic = ctx.optional_text("topic")
    chosen = pick(safety.resources, country=ctx.community.country, language=ctx.locale, topic=topic)
    if not chosen:
        return [ctx.reply("resources.none", suggest=f"{ctx.prefix}resources suggest")]
    header = (
        ctx.t("resources.header_topic", topic=ctx.t(f"resources.topic.{topic}")) if topic else ctx.t("resources.header")
    )
    return [ctx.reply("common.lines", text=f"{header}\n{format_resources(ctx.messages, ctx.locale, chosen)}")]


async def suggest(ctx: CommandContext) -> Sequence[Action]:
    """A member suggests a resource; moderators review it (the bot never adds it by itself)."""
    if not ctx.community.moderator_room:
        raise UserError("resources.suggest_nowhere")
    now = ctx.clock.now()
    # A suggestion is not urgent: it waits for the moderators' own room rather than going to the fallback.
    await enqueue_to_moderators(
        ctx.session,
        ctx.community,
        key=f"suggestion:{ctx.member.id}:{now.isoformat()}",
        text=ctx.messages.t(
            ctx.community.locale,
            "resources.suggestion",
            author=ctx.invocation.author_display or ctx.invocation.author.native_id,
            text=ctx.text("suggestion"),
        ),
        now=now,
        use_fallback=False,
    )
    ctx.extra["outbox"] = True
    ctx.audit("resources.suggest")
    return [ctx.reply("resources.suggest_done")]


async def _alert(ctx: CommandContext) -> Escalation:
    number = ctx.optional_int("id")
    escalation = await ctx.session.get(Escalation, number, with_for_update=True) if number is not None else None
    if escalation is None or escalation.community_id != ctx.community.id:
        raise UserError("alert.error.unknown", id=number, hint="alert list")
    return escalation


def _moderators(ctx: CommandContext, key: str, /, **params: object) -> list[Action]:
    room = ctx.community.moderator_room
    if not room:
        return []
    text = ctx.messages.t(ctx.community.locale, key, **params)
    return [PostToRoom(RoomRef(ctx.invocation.community.platform, room), text)]


def _who(ctx: CommandContext) -> str:
    return ctx.invocation.author_display or ctx.invocation.author.native_id


async def alert_list(ctx: CommandContext) -> Sequence[Action]:
    """Open and claimed alerts, oldest first."""
    result = await ctx.session.execute(
        select(Escalation)
        .where(Escalation.community_id == ctx.community.id, Escalation.status != EscalationStatus.RESOLVED)
        .order_by(Escalation.created_at)
    )
    rows = list(result.scalars())
    ctx.audit("alert.list", shown=[row.id for row in rows])
    if not rows:
        return [ctx.reply("alert.list.empty")]
    claimers = {
        member.id: member.native_id
        for member in (
            await ctx.session.execute(
                select(Member).where(Member.id.in_([row.claimed_by for row in rows if row.claimed_by]))
            )
        ).scalars()
    }
    lines = [ctx.t("alert.list.header")]
    now = ctx.clock.now()
    for row in rows:
        state = (
            ctx.t("alert.list.claimed", who=claimers.get(row.claimed_by, "?"))
            if row.claimed_by
            else ctx.t("alert.list.unclaimed")
        )
        lines.append(
            ctx.t(
                "alert.list.line",
                id=row.id,
                tier=ctx.t(f"safety.tier.{row.tier}"),
                source=ctx.t(f"alert.source.{row.source}"),
                minutes=int((now - row.created_at) / timedelta(minutes=1)),
                state=state,
            )
        )
    return [ctx.reply("common.lines", text="\n".join(lines))]


async def claim(ctx: CommandContext) -> Sequence[Action]:
    """A moderator takes an alert, so others know it is in hand."""
    escalation = await _alert(ctx)
    if escalation.status == EscalationStatus.RESOLVED:
        raise UserError("alert.error.resolved", id=escalation.id)
    if escalation.claimed_by is not None and escalation.claimed_by != ctx.member.id:
        holder = await ctx.session.get(Member, escalation.claimed_by)
        raise UserError("alert.error.claimed", id=escalation.id, who=holder.native_id if holder else "?")
    escalation.status = EscalationStatus.CLAIMED
    escalation.claimed_by = ctx.member.id
    escalation.claimed_at = ctx.clock.now()
    ctx.audit("alert.claim", f"alert:{escalation.id}")
    return [
        ctx.reply("alert.claim.done", id=escalation.id, resolve=f"{ctx.prefix}alert resolve {escalation.id}"),
        *_moderators(ctx, "alert.claim.notice", id=escalation.id, who=_who(ctx)),
    ]


async def resolve(ctx: CommandContext) -> Sequence[Action]:
    """A moderator closes an alert; the person may get a gentle check-in later."""
    escalation = await _alert(ctx)
    if escalation.status == EscalationStatus.RESOLVED:
        raise UserError("alert.error.resolved", id=escalation.id)
    now = ctx.clock.now()
    escalation.status = EscalationStatus.RESOLVED
    escalation.resolved_by = ctx.member.id
    escalation.resolved_at = now
    if escalation.claimed_by is None:
        escalation.claimed_by = ctx.member.id
        escalation.claimed_at = now
    ctx.audit("alert.resolve", f"alert:{escalation.id}")
    safety = _safety(ctx)
    follow_up = safety.settings.follow_up_after
    if follow_up is not None and escalation.member_id is not None and not escalation.about_other:
        person = await ctx.session.get(Member, escalation.member_id)
        if person is not None:
            message = ctx.direct(person, "safety.follow_up", support=f"{ctx.prefix}support")
            await enqueue(
                ctx.session,
                key=f"follow-up:{escalation.id}",
                community_id=ctx.community.id,
                platform=ctx.invocation.community.platform,
                kind="dm",
                target=person.native_id,
                text=message.text,
                now=now,
                due_at=now + follow_up,
                member_id=person.id,
            )
            ctx.extra["outbox"] = True
    return [
        ctx.reply("alert.resolve.done", id=escalation.id),
        *_moderators(ctx, "alert.resolve.notice", id=escalation.id, who=_who(ctx)),
    ]


ALERT_ID = Option("id", OptionKind.INTEGER, min_value=1, max_value=2**31 - 1)

COMMANDS = (
    Command("support", support, options=(NOTE,)),
    Command(
        "resources",
        resources,
        options=(Option("topic", OptionKind.CHOICE, required=False, choices=TOPICS, help_key="option.resource_topic"),),
    ),
    Command("resources suggest", suggest, options=(Option("suggestion", rest=True, max_length=500, free_text=True),)),
    Command("alert list", alert_list, min_role=Role.MODERATOR),
    Command("alert claim", claim, options=(ALERT_ID,), min_role=Role.MODERATOR),
    Command("alert resolve", resolve, options=(ALERT_ID,), min_role=Role.MODERATOR),
)
