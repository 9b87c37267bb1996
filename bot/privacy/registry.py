"""The registry of personal data: for every table, what one member's export holds and how forgetting them works.

Each table in ``Base.metadata`` has exactly one :class:`TablePolicy`. A table with personal data names how it is
exported (a section of the JSON, with stable keys and ISO times, holding nothing about anyone else) and how one
member is forgotten (rows deleted, or anonymised where moderators need an accountable record). A table without
personal data says so explicitly. ``tests/privacy`` walks the metadata, so a new table without a policy fails CI.

Forgetting runs in :data:`POLICIES` order, inside the caller's transaction, with explicit statements rather than
relying on foreign-key cascades; the ``members`` row goes last.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.circles import checkins
from bot.storage.checkin_models import CheckIn, CheckInPreference
from bot.storage.matrix_models import PlatformState
from bot.storage.models import (
    AuditEntry,
    Circle,
    Community,
    Escalation,
    Member,
    Membership,
    MembershipStatus,
    OutboxItem,
    SafetyReply,
)
from bot.storage.schedule_models import Attendance, AwayPeriod, CircleSession, Facilitator, SwapRequest, Timer

__all__ = ["AUDIT_MEMBER_DETAILS", "POLICIES", "Exporter", "Forgetter", "TablePolicy", "iso", "policy_for"]

Exporter = Callable[[AsyncSession, Member], Awaitable[Any]]
"""Returns one section of the member's export (JSON-ready: lists, dicts, strings, numbers, booleans, None)."""
Forgetter = Callable[[AsyncSession, Member], Awaitable[int]]
"""Deletes or anonymises one member's rows; returns how many rows it touched."""

AUDIT_MEMBER_DETAILS = ("member", "to")
"""Audit ``details`` keys that may hold a member id (``facilitate.train``, ``rotation.swap``, ``rotation.set``)."""


@dataclass(frozen=True, slots=True)
class TablePolicy:
    """How one table treats personal data. ``personal=False`` tables need neither an exporter nor a forgetter."""

    table: str
    personal: bool
    description: str
    """What the table holds about a person, and what forgetting does (or why it holds nothing personal)."""
    export_key: str | None = None
    export: Exporter | None = None
    forget: Forgetter | None = None
    covered_by: str | None = None
    """Another table whose forgetter also clears this one (one shared function, not two copies)."""


def iso(value: datetime | None) -> str | None:
    """An aware datetime as an ISO 8601 string, or ``None``."""
    return None if value is None else value.isoformat()


def _count(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


# --- members ---------------------------------------------------------------------------------------------------


async def _export_member(session: AsyncSession, member: Member) -> dict[str, Any]:
    return {
        "platform": member.platform,
        "native_id": member.native_id,
        "locale": member.locale,
        "timezone": member.timezone,
        "reminders": member.reminders,
        "created_at": iso(member.created_at),
    }


async def _forget_member_row(session: AsyncSession, member: Member) -> int:
    return _count(await session.execute(delete(Member).where(Member.id == member.id)))


# --- circles and memberships -----------------------------------------------------------------------------------


async def _export_memberships(session: AsyncSession, member: Member) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(Membership, Circle.name, Community.slug)
        .join(Circle, Circle.id == Membership.circle_id)
        .join(Community, Community.id == Circle.community_id)
        .where(Membership.member_id == member.id)
        .order_by(Membership.queued_at, Membership.id)
    )
    out: list[dict[str, Any]] = []
    for membership, circle, community in rows:
        position = None
        if membership.status == MembershipStatus.WAITLISTED:
            ahead = await session.execute(
                select(Membership.id).where(
                    Membership.circle_id == membership.circle_id,
                    Membership.status == MembershipStatus.WAITLISTED,
                    or_(
                        Membership.queued_at < membership.queued_at,
                        (Membership.queued_at == membership.queued_at) & (Membership.id < membership.id),
                    ),
                )
            )
            position = len(ahead.all()) + 1
        out.append(
            {
                "community": community,
                "circle": circle,
                "role": membership.role,
                "status": membership.status,
                "queued_at": iso(membership.queued_at),
                "joined_at": iso(membership.joined_at),
                "waitlist_position": position,
            }
        )
    return out


async def _forget_memberships(session: AsyncSession, member: Member) -> int:
    return _count(await session.execute(delete(Membership).where(Membership.member_id == member.id)))


async def _export_circles_created(session: AsyncSession, member: Member) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(Circle.name, Community.slug, Circle.created_at)
        .join(Community, Community.id == Circle.community_id)
        .where(Circle.created_by == member.id)
        .order_by(Circle.created_at, Circle.id)
    )
    return [{"community": community, "circle": name, "created_at": iso(at)} for name, community, at in rows]


async def _forget_circles_created(session: AsyncSession, member: Member) -> int:
    statement = update(Circle).where(Circle.created_by == member.id).values(created_by=None)
    return _count(await session.execute(statement))


# --- check-ins (the functions in bot.circles.checkins are reused) ----------------------------------------------


async def _export_checkins(session: AsyncSession, member: Member) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(CheckIn, Community.slug)
        .join(Community, Community.id == CheckIn.community_id)
        .where(CheckIn.member_id == member.id)
        .order_by(CheckIn.created_at, CheckIn.id)
    )
    return [
        {"community": community, "mood": row.mood, "note": row.note, "created_at": iso(row.created_at)}
        for row, community in rows
    ]


async def _forget_checkins(session: AsyncSession, member: Member) -> int:
    return await checkins.forget_member(session, member.id)


async def _export_checkin_preferences(session: AsyncSession, member: Member) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(CheckInPreference, Community.slug)
        .join(Community, Community.id == CheckInPreference.community_id)
        .where(CheckInPreference.member_id == member.id)
        .order_by(Community.slug)
    )
    return [
        {"community": community, "nudges": row.nudges, "share_name": row.share_name, "updated_at": iso(row.updated_at)}
        for row, community in rows
    ]


# --- facilitation ----------------------------------------------------------------------------------------------


async def _export_facilitators(session: AsyncSession, member: Member) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(Facilitator, Circle.name, Community.slug)
        .join(Circle, Circle.id == Facilitator.circle_id)
        .join(Community, Community.id == Circle.community_id)
        .where(Facilitator.member_id == member.id)
        .order_by(Facilitator.id)
    )
    return [
        {
            "community": community,
            "circle": circle,
            "trained": row.trained,
            "volunteering": row.volunteering,
            "updated_at": iso(row.updated_at),
        }
        for row, circle, community in rows
    ]


async def _forget_facilitators(session: AsyncSession, member: Member) -> int:
    return _count(await session.execute(delete(Facilitator).where(Facilitator.member_id == member.id)))


async def _export_away(session: AsyncSession, member: Member) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(AwayPeriod, Circle.name)
        .join(Facilitator, Facilitator.id == AwayPeriod.facilitator_id)
        .join(Circle, Circle.id == Facilitator.circle_id)
        .where(Facilitator.member_id == member.id)
        .order_by(AwayPeriod.starts_at, AwayPeriod.id)
    )
    return [{"circle": circle, "starts_at": iso(row.starts_at), "ends_at": iso(row.ends_at)} for row, circle in rows]


async def _forget_away(session: AsyncSession, member: Member) -> int:
    owned = select(Facilitator.id).where(Facilitator.member_id == member.id)
    return _count(await session.execute(delete(AwayPeriod).where(AwayPeriod.facilitator_id.in_(owned))))


async def _export_sessions_led(session: AsyncSession, member: Member) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(CircleSession, Circle.name)
        .join(Circle, Circle.id == CircleSession.circle_id)
        .where(or_(CircleSession.facilitator_id == member.id, CircleSession.backup_id == member.id))
        .order_by(CircleSession.start_at, CircleSession.id)
    )
    return [
        {
            "circle": circle,
            "as": "facilitator" if row.facilitator_id == member.id else "backup",
            "start_at": iso(row.start_at),
            "end_at": iso(row.end_at),
            "status": row.status,
        }
        for row, circle in rows
    ]


async def _forget_sessions_led(session: AsyncSession, member: Member) -> int:
    led = await session.execute(
        update(CircleSession).where(CircleSession.facilitator_id == member.id).values(facilitator_id=None)
    )
    backed = await session.execute(
        update(CircleSession).where(CircleSession.backup_id == member.id).values(backup_id=None)
    )
    return _count(led) + _count(backed)


async def _export_attendance(session: AsyncSession, member: Member) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(Attendance, CircleSession.start_at, Circle.name)
        .join(CircleSession, CircleSession.id == Attendance.session_id)
        .join(Circle, Circle.id == CircleSession.circle_id)
        .where(Attendance.member_id == member.id)
        .order_by(CircleSession.start_at, Attendance.id)
    )
    return [
        {
            "circle": circle,
            "session_start": iso(start),
            "confirmed": row.confirmed,
            "attended": row.attended,
            "feedback_given": row.feedback_given,
        }
        for row, start, circle in rows
    ]


async def _forget_attendance(session: AsyncSession, member: Member) -> int:
    return _count(await session.execute(delete(Attendance).where(Attendance.member_id == member.id)))


async def _export_swaps(session: AsyncSession, member: Member) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(SwapRequest, CircleSession.start_at, Circle.name)
        .join(CircleSession, CircleSession.id == SwapRequest.session_id)
        .join(Circle, Circle.id == CircleSession.circle_id)
        .where(or_(SwapRequest.from_member == member.id, SwapRequest.to_member == member.id))
        .order_by(SwapRequest.created_at, SwapRequest.id)
    )
    # The other party is someone else: only the direction is exported, never who they are.
    return [
        {
            "circle": circle,
            "session_start": iso(start),
            "direction": "asked" if row.from_member == member.id else "asked_of_you",
            "status": row.status,
            "created_at": iso(row.created_at),
        }
        for row, start, circle in rows
    ]


async def _forget_swaps(session: AsyncSession, member: Member) -> int:
    statement = delete(SwapRequest).where(or_(SwapRequest.from_member == member.id, SwapRequest.to_member == member.id))
    return _count(await session.execute(statement))


async def _forget_timers(session: AsyncSession, member: Member) -> int:
    return _count(await session.execute(delete(Timer).where(Timer.member_id == member.id)))


# --- safety ----------------------------------------------------------------------------------------------------


async def _export_escalations(session: AsyncSession, member: Member) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(Escalation, Community.slug)
        .join(Community, Community.id == Escalation.community_id)
        .where(Escalation.member_id == member.id)
        .order_by(Escalation.created_at, Escalation.id)
    )
    # Who claimed or resolved it is a moderator's identity, so it is left out; the member's own support note is in.
    return [
        {
            "community": community,
            "source": row.source,
            "tier": row.tier,
            "status": row.status,
            "about_someone_else": row.about_other,
            "note": row.excerpt if row.source == "support" else None,
            "created_at": iso(row.created_at),
            "updated_at": iso(row.updated_at),
            "claimed_at": iso(row.claimed_at),
            "resolved_at": iso(row.resolved_at),
        }
        for row, community in rows
    ]


async def _forget_escalations(session: AsyncSession, member: Member) -> int:
    """Anonymise: tier, source, times, status and who handled it stay for accountability; who and what go."""
    about = await session.execute(
        update(Escalation)
        .where(Escalation.member_id == member.id)
        .values(member_id=None, excerpt=None, matched=[], room_id=None, link=None)
    )
    claimed = await session.execute(
        update(Escalation).where(Escalation.claimed_by == member.id).values(claimed_by=None)
    )
    resolved = await session.execute(
        update(Escalation).where(Escalation.resolved_by == member.id).values(resolved_by=None)
    )
    return _count(about) + _count(claimed) + _count(resolved)


async def _forget_outbox(session: AsyncSession, member: Member) -> int:
    """Messages to them, and alerts about them (which carry their words and name), are removed."""
    theirs = select(Escalation.id).where(Escalation.member_id == member.id)
    statement = delete(OutboxItem).where(
        or_(
            OutboxItem.member_id == member.id,
            OutboxItem.escalation_id.in_(theirs),
            (OutboxItem.kind == "dm")
            & (OutboxItem.platform == member.platform)
            & (OutboxItem.target == member.native_id),
        )
    )
    return _count(await session.execute(statement))


async def _export_safety_replies(session: AsyncSession, member: Member) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(SafetyReply, Community.slug)
        .join(Community, Community.id == SafetyReply.community_id)
        .where(SafetyReply.member_id == member.id)
        .order_by(Community.slug)
    )
    return [
        {"community": community, "last_reply_at": iso(row.last_reply_at), "last_tier": row.last_tier}
        for row, community in rows
    ]


async def _forget_safety_replies(session: AsyncSession, member: Member) -> int:
    return _count(await session.execute(delete(SafetyReply).where(SafetyReply.member_id == member.id)))


# --- audit -----------------------------------------------------------------------------------------------------


async def _export_audit(session: AsyncSession, member: Member) -> list[dict[str, Any]]:
    # Targets and details can name other people's records, so only the action and its time are exported.
    rows = await session.execute(
        select(AuditEntry.action, AuditEntry.created_at)
        .where(AuditEntry.actor_id == member.id)
        .order_by(AuditEntry.created_at, AuditEntry.id)
    )
    return [{"action": action, "at": iso(at)} for action, at in rows]


async def _forget_audit(session: AsyncSession, member: Member) -> int:
    """Actions are kept for accountability with the actor removed; member ids in details are removed too."""
    touched = _count(
        await session.execute(update(AuditEntry).where(AuditEntry.actor_id == member.id).values(actor_id=None))
    )
    rows = await session.execute(select(AuditEntry).where(AuditEntry.details.is_not(None)))
    for entry in rows.scalars():
        details = dict(entry.details or {})
        if any(details.get(key) == member.id for key in AUDIT_MEMBER_DETAILS):
            entry.details = {
                key: (None if key in AUDIT_MEMBER_DETAILS and value == member.id else value)
                for key, value in details.items()
            }
            touched += 1
    await session.flush()
    return touched


# --- platform state --------------------------------------------------------------------------------------------


def _dm_keys(member: Member) -> Any:
    return PlatformState.key.startswith(f"{member.platform}:", autoescape=True) & PlatformState.key.endswith(
        f":dm:{member.native_id}", autoescape=True
    )


async def _export_platform_state(session: AsyncSession, member: Member) -> list[dict[str, Any]]:
    rows = await session.execute(select(PlatformState.value).where(_dm_keys(member)).order_by(PlatformState.id))
    return [{"direct_room": value} for value in rows.scalars() if value]


async def _forget_platform_state(session: AsyncSession, member: Member) -> int:
    return _count(await session.execute(delete(PlatformState).where(_dm_keys(member))))


# ---------------------------------------------------------------------------------------------------------------

POLICIES: Sequence[TablePolicy] = (
    TablePolicy("communities", False, "Configured communities: names and settings, nobody's data."),
    TablePolicy("circle_schedules", False, "When circles meet: no member ids."),
    TablePolicy("feedback", False, "Anonymous by design: a rating and a note with no member id."),
    TablePolicy(
        "outbox",
        True,
        "Messages in transit: those addressed to the member and alerts about them are deleted; not exported "
        "(delivered rows hold no text, and pending ones are about to reach the member anyway).",
        forget=_forget_outbox,
    ),
    TablePolicy(
        "escalations",
        True,
        "Support requests and alerts about the member: exported (their own support note included); on forgetting, "
        "anonymised: member, excerpt, matched phrases, room and link removed; tier, times, status and who handled it "
        "kept for accountability.",
        export_key="support_requests",
        export=_export_escalations,
        forget=_forget_escalations,
    ),
    TablePolicy(
        "safety_replies",
        True,
        "The distress-reply cooldown: exported; deleted.",
        export_key="safety_replies",
        export=_export_safety_replies,
        forget=_forget_safety_replies,
    ),
    TablePolicy(
        "audit_log",
        True,
        "Actions the member took: exported as action and time; on forgetting, kept with the actor removed and member "
        "ids in details blanked.",
        export_key="audit_actions",
        export=_export_audit,
        forget=_forget_audit,
    ),
    TablePolicy(
        "checkins",
        True,
        "Check-ins with notes: exported; deleted (bot.circles.checkins.forget_member, which also clears preferences).",
        export_key="checkins",
        export=_export_checkins,
        forget=_forget_checkins,
    ),
    TablePolicy(
        "checkin_preferences",
        True,
        "Check-in nudges and name sharing: exported; deleted with the check-ins.",
        export_key="checkin_preferences",
        export=_export_checkin_preferences,
        covered_by="checkins",
    ),
    TablePolicy(
        "swap_requests",
        True,
        "Facilitation swaps asked by or of the member: exported without the other person; deleted.",
        export_key="swap_requests",
        export=_export_swaps,
        forget=_forget_swaps,
    ),
    TablePolicy(
        "attendance",
        True,
        "Confirmations and presence: exported; deleted.",
        export_key="attendance",
        export=_export_attendance,
        forget=_forget_attendance,
    ),
    TablePolicy(
        "timers",
        True,
        "Reminders and nudges due to the member: scheduler internals, not exported; deleted.",
        forget=_forget_timers,
    ),
    TablePolicy(
        "away_periods",
        True,
        "A facilitator's away periods: exported; deleted.",
        export_key="away_periods",
        export=_export_away,
        forget=_forget_away,
    ),
    TablePolicy(
        "facilitators",
        True,
        "Facilitator standing per circle: exported; deleted.",
        export_key="facilitator_roles",
        export=_export_facilitators,
        forget=_forget_facilitators,
    ),
    TablePolicy(
        "sessions",
        True,
        "Sessions the member led or backed up: exported; on forgetting the session stays (the circle's record) "
        "with the facilitator or backup removed.",
        export_key="sessions_led",
        export=_export_sessions_led,
        forget=_forget_sessions_led,
    ),
    TablePolicy(
        "memberships",
        True,
        "Seats and waitlist places: exported with the waitlist position; deleted (the caller fills freed seats).",
        export_key="memberships",
        export=_export_memberships,
        forget=_forget_memberships,
    ),
    TablePolicy(
        "circles",
        True,
        "Circles the member created: exported by name; on forgetting the circle stays with its creator removed.",
        export_key="circles_created",
        export=_export_circles_created,
        forget=_forget_circles_created,
    ),
    TablePolicy(
        "platform_state",
        True,
        "Adapter state: the member's direct-message room is exported and deleted; other keys are the bot's own.",
        export_key="direct_rooms",
        export=_export_platform_state,
        forget=_forget_platform_state,
    ),
    TablePolicy(
        "members",
        True,
        "The member record (language, time zone, reminders): exported; deleted last.",
        export_key="member",
        export=_export_member,
        forget=_forget_member_row,
    ),
)
"""Every table's policy, in the order forgetting runs (the member row last)."""

_BY_TABLE = {policy.table: policy for policy in POLICIES}


def policy_for(table: str) -> TablePolicy | None:
    """The declared policy of ``table``, if it has one."""
    return _BY_TABLE.get(table)
