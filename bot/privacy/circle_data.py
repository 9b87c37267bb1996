"""Export and forgetting for members, circles, check-ins and facilitation."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.circles import checkins
from bot.privacy.common import count_rows, iso
from bot.storage.checkin_models import CheckIn, CheckInPreference
from bot.storage.models import (
    Circle,
    Community,
    Member,
    Membership,
    MembershipStatus,
)
from bot.storage.schedule_models import Attendance, AwayPeriod, CircleSession, Facilitator, SwapRequest, Timer

# --- members ---------------------------------------------------------------------------------------------------


async def export_member(session: AsyncSession, member: Member) -> dict[str, Any]:
    return {
        "platform": member.platform,
        "native_id": member.native_id,
        "locale": member.locale,
        "timezone": member.timezone,
        "reminders": member.reminders,
        "created_at": iso(member.created_at),
    }


async def forget_member_row(session: AsyncSession, member: Member) -> int:
    return count_rows(await session.execute(delete(Member).where(Member.id == member.id)))


# --- circles and memberships -----------------------------------------------------------------------------------


async def export_memberships(session: AsyncSession, member: Member) -> list[dict[str, Any]]:
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


async def forget_memberships(session: AsyncSession, member: Member) -> int:
    return count_rows(await session.execute(delete(Membership).where(Membership.member_id == member.id)))


async def export_circles_created(session: AsyncSession, member: Member) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(Circle.name, Community.slug, Circle.created_at)
        .join(Community, Community.id == Circle.community_id)
        .where(Circle.created_by == member.id)
        .order_by(Circle.created_at, Circle.id)
    )
    return [{"community": community, "circle": name, "created_at": iso(at)} for name, community, at in rows]


async def forget_circles_created(session: AsyncSession, member: Member) -> int:
    statement = update(Circle).where(Circle.created_by == member.id).values(created_by=None)
    return count_rows(await session.execute(statement))


# --- check-ins (the functions in bot.circles.checkins are reused) ----------------------------------------------


async def export_checkins(session: AsyncSession, member: Member) -> list[dict[str, Any]]:
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


async def forget_checkins(session: AsyncSession, member: Member) -> int:
    return await checkins.forget_member(session, member.id)


async def export_checkin_preferences(session: AsyncSession, member: Member) -> list[dict[str, Any]]:
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


async def export_facilitators(session: AsyncSession, member: Member) -> list[dict[str, Any]]:
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


async def forget_facilitators(session: AsyncSession, member: Member) -> int:
    return count_rows(await session.execute(delete(Facilitator).where(Facilitator.member_id == member.id)))


async def export_away(session: AsyncSession, member: Member) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(AwayPeriod, Circle.name)
        .join(Facilitator, Facilitator.id == AwayPeriod.facilitator_id)
        .join(Circle, Circle.id == Facilitator.circle_id)
        .where(Facilitator.member_id == member.id)
        .order_by(AwayPeriod.starts_at, AwayPeriod.id)
    )
    return [{"circle": circle, "starts_at": iso(row.starts_at), "ends_at": iso(row.ends_at)} for row, circle in rows]


async def forget_away(session: AsyncSession, member: Member) -> int:
    owned = select(Facilitator.id).where(Facilitator.member_id == member.id)
    return count_rows(await session.execute(delete(AwayPeriod).where(AwayPeriod.facilitator_id.in_(owned))))


async def export_sessions_led(session: AsyncSession, member: Member) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(CircleSession, Circle.name)
        .join(Circle, Circle.id == CircleSession.circle_id)
        .where(
            or_(
                CircleSession.facilitator_id == member.id,
                CircleSession.backup_id == member.id,
                CircleSession.facilitator_notified_id == member.id,
            )
        )
        .order_by(CircleSession.start_at, CircleSession.id)
    )
    return [
        {
            "circle": circle,
            # "told": they were told it was theirs to lead, and someone else took it when it opened.
            "as": (
                "facilitator" if row.facilitator_id == member.id else "backup" if row.backup_id == member.id else "told"
            ),
            # How they came to lead it (rotation, swap, moderator, stand_in); never which moderator named them.
            "assigned_by": row.facilitator_source if row.facilitator_id == member.id else None,
            "start_at": iso(row.start_at),
            "end_at": iso(row.end_at),
            "status": row.status,
        }
        for row, circle in rows
    ]


async def forget_sessions_led(session: AsyncSession, member: Member) -> int:
    led = await session.execute(
        update(CircleSession).where(CircleSession.facilitator_id == member.id).values(facilitator_id=None)
    )
    backed = await session.execute(
        update(CircleSession).where(CircleSession.backup_id == member.id).values(backup_id=None)
    )
    # A moderator who named a session's facilitator: the choice stays (it still holds at the start), not who made it.
    named = await session.execute(
        update(CircleSession).where(CircleSession.facilitator_set_by == member.id).values(facilitator_set_by=None)
    )
    # Who was told the session was theirs: only to tell them if it moves to someone else; a forgotten person is not.
    told = await session.execute(
        update(CircleSession)
        .where(CircleSession.facilitator_notified_id == member.id)
        .values(facilitator_notified_id=None)
    )
    return count_rows(led) + count_rows(backed) + count_rows(named) + count_rows(told)


async def export_attendance(session: AsyncSession, member: Member) -> list[dict[str, Any]]:
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


async def forget_attendance(session: AsyncSession, member: Member) -> int:
    return count_rows(await session.execute(delete(Attendance).where(Attendance.member_id == member.id)))


async def export_swaps(session: AsyncSession, member: Member) -> list[dict[str, Any]]:
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


async def forget_swaps(session: AsyncSession, member: Member) -> int:
    statement = delete(SwapRequest).where(or_(SwapRequest.from_member == member.id, SwapRequest.to_member == member.id))
    return count_rows(await session.execute(statement))


async def forget_timers(session: AsyncSession, member: Member) -> int:
    return count_rows(await session.execute(delete(Timer).where(Timer.member_id == member.id)))
