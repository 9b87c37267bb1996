"""Check-ins: ``checkin MOOD [NOTE]``, the member's own ``checkin history``, the facilitators' anonymous
``checkin summary``, the ``checkin nudges`` and ``checkin share-name`` preferences, and the queries the scheduler
uses for the quiet-member nudge.

A check-in belongs to its author: only they ever see its note, and nobody else sees that they checked in. A circle's
facilitators and the moderators see counts and a mood distribution over the circle's members, and only when at least
:data:`~bot.circles.checkin_stats.K_ANONYMITY` people are counted.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.circles import checkin_stats as stats
from bot.circles import service
from bot.circles.facilitation import is_facilitator
from bot.circles.names import MAX_NAME
from bot.commands import Command, Option, OptionKind
from bot.engine import CommandContext
from bot.errors import UserError
from bot.model import Action, Role
from bot.storage.checkin_models import CheckIn, CheckInPreference
from bot.storage.models import Circle, Member, Membership, MembershipStatus
from bot.storage.schedule_models import Attendance, CircleSession
from bot.storage.upsert import insert_ignore

__all__ = [
    "COMMANDS",
    "HISTORY_LIMIT",
    "NOTE_LIMIT",
    "QuietMember",
    "circle_points",
    "clean_note",
    "forget_member",
    "may_see_summary",
    "preference",
    "purge_before",
    "quiet_members",
]

HISTORY_LIMIT = 10
"""How many of their own check-ins ``checkin history`` lists."""
NOTE_LIMIT = 500
ON, OFF = "on", "off"


class _NoteOption(Option):
    """The note: like a text option, except that a blank note is simply no note rather than an error."""

    __slots__ = ()

    def convert(self, raw: str) -> object:
        """An empty string for a note with nothing visible in it; otherwise the usual checks."""
        return "" if clean_note(raw) is None else Option.convert(self, raw)


def clean_note(raw: str | None) -> str | None:
    """The note trimmed, or ``None`` when it holds nothing visible (spaces, invisible or control characters)."""
    if raw is None:
        return None
    note = raw.strip()
    visible = any(unicodedata.category(char)[0] not in {"Z", "C"} for char in note)
    return note if visible else None


# ---------------------------------------------------------------------------------------------------------------
# Service functions: data only, inside the caller's unit of work; they never speak to people.


@dataclass(frozen=True, slots=True)
class QuietMember:
    """A circle member who has neither checked in nor attended for a while, and accepts a nudge."""

    member_id: int
    native_id: str
    share_name: bool
    """Whether they agreed that their facilitator may be told who they are."""


async def quiet_members(
    session: AsyncSession, community_id: int, circle_id: int, now: datetime, quiet_for: timedelta
) -> list[QuietMember]:
    """Active members of the circle with nudges on who joined at least ``quiet_for`` ago and have, since then,
    neither checked in (in this community) nor attended a session of this circle. Ordered by member id."""
    since = now - quiet_for
    checked_in = exists().where(
        CheckIn.member_id == Membership.member_id,
        CheckIn.community_id == community_id,
        CheckIn.created_at >= since,
    )
    attended = exists().where(
        Attendance.member_id == Membership.member_id,
        Attendance.attended.is_(True),
        Attendance.session_id == CircleSession.id,
        CircleSession.circle_id == circle_id,
        CircleSession.start_at >= since,
    )
    statement = (
        select(Member.id, Member.native_id, CheckInPreference.share_name)
        .join(Membership, Membership.member_id == Member.id)
        .join(Circle, Circle.id == Membership.circle_id)
        .outerjoin(
            CheckInPreference,
            (CheckInPreference.member_id == Member.id) & (CheckInPreference.community_id == community_id),
        )
        .where(
            Membership.circle_id == circle_id,
            Circle.community_id == community_id,
            Membership.status == MembershipStatus.ACTIVE,
            Membership.joined_at <= since,
            or_(CheckInPreference.id.is_(None), CheckInPreference.nudges.is_(True)),
            ~checked_in,
            ~attended,
        )
        .order_by(Member.id)
    )
    result = await session.execute(statement)
    return [QuietMember(member_id, native_id, bool(share)) for member_id, native_id, share in result]


async def preference(session: AsyncSession, member_id: int, community_id: int, now: datetime) -> CheckInPreference:
    """The member's check-in preferences in the community, created with the defaults if they have none."""
    await insert_ignore(
        session, CheckInPreference, {"member_id": member_id, "community_id": community_id, "updated_at": now}
    )
    found = await session.execute(
        select(CheckInPreference).where(
            CheckInPreference.member_id == member_id, CheckInPreference.community_id == community_id
        )
    )
    return found.scalar_one()


async def may_see_summary(session: AsyncSession, member_id: int, role: Role, circle_id: int) -> bool:
    """Moderators and admins, and the circle's own facilitators with a seat in it (trained, or holding the
    facilitator seat): one who left it, or waits for a seat, sees no more of it than anyone else."""
    return role >= Role.MODERATOR or await is_facilitator(session, circle_id, member_id)


async def circle_points(session: AsyncSession, community_id: int, circle_id: int, since: datetime) -> list[stats.Point]:
    """Check-ins since ``since`` by the circle's active members, each made after they joined it."""
    result = await session.execute(
        select(CheckIn.created_at, CheckIn.mood, CheckIn.member_id)
        .join(Membership, Membership.member_id == CheckIn.member_id)
        .where(
            Membership.circle_id == circle_id,
            Membership.status == MembershipStatus.ACTIVE,
            CheckIn.community_id == community_id,
            CheckIn.created_at > since,
            CheckIn.created_at >= Membership.joined_at,
        )
    )
    return [stats.Point(at, mood, member) for at, mood, member in result]


async def forget_member(session: AsyncSession, member_id: int) -> int:
    """Delete every check-in and check-in preference of one member; returns how many check-ins went."""
    result = await session.execute(delete(CheckIn).where(CheckIn.member_id == member_id))
    await session.execute(delete(CheckInPreference).where(CheckInPreference.member_id == member_id))
    return int(getattr(result, "rowcount", 0) or 0)


async def purge_before(session: AsyncSession, before: datetime) -> int:
    """Delete check-ins older than ``before`` (the retention period); returns how many."""
    result = await session.execute(delete(CheckIn).where(CheckIn.created_at < before))
    return int(getattr(result, "rowcount", 0) or 0)


# ---------------------------------------------------------------------------------------------------------------
# Handlers.


def _zone(ctx: CommandContext) -> ZoneInfo:
    for name in (ctx.member.timezone, ctx.community.timezone):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def _label(ctx: CommandContext, mood: int) -> str:
    return ctx.t(f"checkin.mood.{mood}")


async def record(ctx: CommandContext) -> Sequence[Action]:
    """Record a private check-in and acknowledge it without judging; low moods are pointed to people and help."""
    mood = ctx.optional_int("mood")
    if mood is None:
        raise UserError("error.arg_missing", option="mood")
    ctx.session.add(
        CheckIn(
            member_id=ctx.member.id,
            community_id=ctx.community.id,
            mood=mood,
            note=clean_note(ctx.optional_text("note")),
            created_at=ctx.clock.now(),
        )
    )
    band = stats.mood_band(mood)
    return [
        ctx.reply(
            f"checkin.done.{band}",
            mood=mood,
            label=_label(ctx, mood),
            history=f"{ctx.prefix}checkin history",
            support=f"{ctx.prefix}support",
            resources=f"{ctx.prefix}resources",
        )
    ]


async def history(ctx: CommandContext) -> Sequence[Action]:
    """The member's own latest check-ins, notes included, in their time zone, with their trend."""
    now = ctx.clock.now()
    mine = (CheckIn.member_id == ctx.member.id, CheckIn.community_id == ctx.community.id)
    latest = list(
        (
            await ctx.session.execute(
                select(CheckIn).where(*mine).order_by(CheckIn.created_at.desc(), CheckIn.id.desc()).limit(HISTORY_LIMIT)
            )
        ).scalars()
    )
    if not latest:
        return [ctx.reply("checkin.history.empty", example=f"{ctx.prefix}checkin 3")]
    recent = await ctx.session.execute(
        select(CheckIn.created_at, CheckIn.mood).where(*mine, CheckIn.created_at > now - 2 * stats.TREND_WINDOW)
    )
    trend = stats.trend((stats.Point(at, mood, ctx.member.id) for at, mood in recent), now)
    zone = _zone(ctx)
    lines = [ctx.t("checkin.history.header", count=len(latest), timezone=zone.key)]
    for row in latest:
        params = {
            "when": row.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            "mood": row.mood,
            "label": _label(ctx, row.mood),
        }
        if row.note:
            lines.append(ctx.t("checkin.history.line_note", note=row.note, **params))
        else:
            lines.append(ctx.t("checkin.history.line", **params))
    lines.append(ctx.t("checkin.history.trend", trend=ctx.t(f"checkin.trend.{trend}")))
    return [ctx.reply("common.lines", text="\n".join(lines))]


async def summary(ctx: CommandContext) -> Sequence[Action]:
    """An anonymous aggregate of a circle's check-ins for its facilitators and the moderators: never notes or names."""
    circle = await service.find_circle(
        ctx.session, ctx.community.id, ctx.text("circle"), ctx.member.id, privileged=ctx.role >= Role.MODERATOR
    )
    if not await may_see_summary(ctx.session, ctx.member.id, ctx.role, circle.id):
        raise UserError("checkin.summary.not_allowed", circle=circle.name)
    now = ctx.clock.now()
    points = await circle_points(ctx.session, ctx.community.id, circle.id, now - stats.SUMMARY_PERIOD)
    result = stats.summarise(points, now)
    ctx.audit("checkin.summary", f"circle:{circle.id}", shared=result is not None)
    if result is None:
        return [ctx.reply("checkin.summary.too_few", circle=circle.name, k=stats.K_ANONYMITY)]
    moods = " · ".join(
        ctx.t("checkin.summary.mood_count", mood=mood, label=_label(ctx, mood), count=count)
        for mood, count in enumerate(result.distribution, start=stats.MIN_MOOD)
    )
    lines = [
        ctx.t("checkin.summary.header", circle=circle.name),
        ctx.t("checkin.summary.counts", checkins=result.checkins, members=result.members),
        ctx.t("checkin.summary.moods", moods=moods),
        ctx.t("checkin.summary.trend", trend=ctx.t(f"checkin.trend.{result.trend}")),
    ]
    return [ctx.reply("common.lines", text="\n".join(lines))]


async def nudges(ctx: CommandContext) -> Sequence[Action]:
    """Show, or turn on or off, the one gentle private nudge after a quiet spell."""
    chosen = ctx.optional_text("setting")
    prefs = await preference(ctx.session, ctx.member.id, ctx.community.id, ctx.clock.now())
    if chosen is None:
        state = ON if prefs.nudges else OFF
        return [ctx.reply(f"checkin.nudges.current_{state}", change=f"{ctx.prefix}checkin nudges {_flip(state)}")]
    prefs.nudges = chosen == ON
    prefs.updated_at = ctx.clock.now()
    return [ctx.reply(f"checkin.nudges.{chosen}", change=f"{ctx.prefix}checkin nudges {_flip(chosen)}")]


async def share_name(ctx: CommandContext) -> Sequence[Action]:
    """Show, or set, whether the member's facilitator may be told their name when they are quiet."""
    chosen = ctx.optional_text("setting")
    prefs = await preference(ctx.session, ctx.member.id, ctx.community.id, ctx.clock.now())
    if chosen is None:
        state = ON if prefs.share_name else OFF
        return [
            ctx.reply(f"checkin.share_name.current_{state}", change=f"{ctx.prefix}checkin share-name {_flip(state)}")
        ]
    prefs.share_name = chosen == ON
    prefs.updated_at = ctx.clock.now()
    return [ctx.reply(f"checkin.share_name.{chosen}", change=f"{ctx.prefix}checkin share-name {_flip(chosen)}")]


def _flip(state: str) -> str:
    return OFF if state == ON else ON


COMMANDS = (
    Command(
        "checkin",
        record,
        options=(
            Option(
                "mood",
                OptionKind.INTEGER,
                min_value=stats.MIN_MOOD,
                max_value=stats.MAX_MOOD,
                help_key="option.checkin_mood",
            ),
            _NoteOption(
                "note",
                required=False,
                rest=True,
                max_length=NOTE_LIMIT,
                free_text=True,
                help_key="option.checkin_note",
            ),
        ),
    ),
    Command("checkin history", history),
    Command(
        "checkin summary",
        summary,
        options=(Option("circle", rest=True, max_length=MAX_NAME, autocomplete="circle"),),
    ),
    Command(
        "checkin nudges",
        nudges,
        options=(
            Option("setting", OptionKind.CHOICE, required=False, choices=(ON, OFF), help_key="option.checkin_nudges"),
        ),
    ),
    Command(
        "checkin share-name",
        share_name,
        options=(
            Option(
                "setting", OptionKind.CHOICE, required=False, choices=(ON, OFF), help_key="option.checkin_share_name"
            ),
        ),
    ),
)
