"""Care between sessions: a check-in prompt after each session, and one gentle nudge for someone gone quiet.

A quiet member gets one private nudge per quiet stretch (the outbox key carries their last sign of life, so it is
sent once however often this runs); the circle's facilitators (those with a seat in it) are told only that someone
is quiet, by name only when the member agreed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.circles.checkins import quiet_members
from bot.circles.planning import SchedulingPolicy
from bot.circles.session_flow import SessionFlow
from bot.storage.checkin_models import CheckIn
from bot.storage.models import Circle, Community, Member, Membership, MembershipStatus
from bot.storage.schedule_models import Attendance, CircleSession, Facilitator, SessionStatus

__all__ = ["after_session"]


async def _last_sign_of_life(session: AsyncSession, community: Community, circle: Circle, member_id: int) -> str:
    checked = await session.scalar(
        select(func.max(CheckIn.created_at)).where(CheckIn.member_id == member_id, CheckIn.community_id == community.id)
    )
    attended = await session.scalar(
        select(func.max(CircleSession.start_at))
        .join(Attendance, Attendance.session_id == CircleSession.id)
        .where(CircleSession.circle_id == circle.id, Attendance.member_id == member_id, Attendance.attended.is_(True))
    )
    joined = await session.scalar(
        select(Membership.joined_at).where(Membership.circle_id == circle.id, Membership.member_id == member_id)
    )
    moments = [moment for moment in (checked, attended, joined) if moment is not None]
    return max(moments).isoformat() if moments else "never"


async def after_session(
    session: AsyncSession,
    flow: SessionFlow,
    community: Community,
    circle: Circle,
    row: CircleSession,
    now: datetime,
    policy: SchedulingPolicy,
) -> None:
    """The day after a session: invite members to check in, and look after anyone who has gone quiet."""
    prefix = flow.prefix(community)
    held = row.status in (SessionStatus.OPEN, SessionStatus.CLOSED)
    if policy.checkin_prompts and held:
        for _membership, member in await flow.active_members(session, circle.id):
            if member.reminders:
                await flow.dm(
                    session,
                    community,
                    member,
                    f"checkin-prompt:{row.id}:{member.id}",
                    "care.prompt",
                    now,
                    circle=circle.name,
                    checkin=f"{prefix}checkin",
                    off=f"{prefix}me reminders off",
                )
    quiet = await quiet_members(session, community.id, circle.id, now, policy.quiet_after)
    if not quiet:
        return
    weeks = max(1, int(policy.quiet_after.days // 7))
    facilitators = list(
        (
            await session.execute(
                select(Member)
                .join(Facilitator, Facilitator.member_id == Member.id)
                .join(
                    Membership,
                    (Membership.member_id == Member.id) & (Membership.circle_id == Facilitator.circle_id),
                )
                .where(
                    Facilitator.circle_id == circle.id,
                    Facilitator.trained.is_(True),
                    Membership.status == MembershipStatus.ACTIVE,  # one who left hears nothing of the circle
                )
            )
        ).scalars()
    )
    for person in quiet:
        marker = await _last_sign_of_life(session, community, circle, person.member_id)
        quiet_one = await session.get(Member, person.member_id)
        if quiet_one is None:
            continue
        await flow.dm(
            session,
            community,
            quiet_one,
            f"nudge:{circle.id}:{quiet_one.id}:{marker}",
            "checkin.nudge.member",
            now,
            circle=circle.name,
            checkin=f"{prefix}checkin",
            off=f"{prefix}checkin nudges off",
        )
        for facilitator in facilitators:
            if facilitator.id == quiet_one.id:
                continue
            if person.share_name:
                await flow.dm(
                    session,
                    community,
                    facilitator,
                    f"nudge:{circle.id}:{quiet_one.id}:{marker}:to:{facilitator.id}",
                    "checkin.nudge.facilitator_named",
                    now,
                    member=quiet_one.native_id,
                    circle=circle.name,
                    weeks=weeks,
                )
            else:
                await flow.dm(
                    session,
                    community,
                    facilitator,
                    f"nudge:{circle.id}:{quiet_one.id}:{marker}:to:{facilitator.id}",
                    "checkin.nudge.facilitator_someone",
                    now,
                    circle=circle.name,
                    weeks=weeks,
                )
