"""Rows in every personal table for one member, marked with their name so leaks are easy to find."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.storage.checkin_models import CheckIn, CheckInPreference
from bot.storage.matrix_models import PlatformState
from bot.storage.models import (
    AuditEntry,
    Circle,
    Community,
    Escalation,
    Member,
    OutboxItem,
    SafetyReply,
)
from bot.storage.schedule_models import (
    Attendance,
    AwayPeriod,
    CircleSession,
    Facilitator,
    FacilitatorSource,
    Feedback,
    SessionStatus,
    SwapRequest,
    Timer,
)
from tests.storage.factories import add_circle, add_member, add_membership


@dataclass(frozen=True, slots=True)
class Seeded:
    """One member's rows."""

    member: Member
    circle: Circle
    escalation: Escalation


async def seed_member(
    session: AsyncSession,
    clock: Clock,
    community: Community,
    name: str,
    *,
    moderator: Member,
    other: Member | None = None,
    timezone: str = "UTC",
    circle_name: str = "Monday circle",
) -> Seeded:
    """``name`` in every table that can hold a member: a circle of their own, a seat, a check-in, preferences,
    facilitation (with an away period and a session led, which ``moderator`` named them to lead), attendance, a swap
    request, a timer, a support request handled by ``moderator``, a safety reply, audit entries, outbox messages and a
    Matrix DM room."""
    now = clock.now()
    member = await add_member(session, clock, name)
    member.timezone = timezone
    member.locale = "en"
    circle = await add_circle(session, clock, community, circle_name, created_by=member)
    await add_membership(session, circle, member, queued_at=now)
    session.add(CheckIn(member_id=member.id, community_id=community.id, mood=2, note=f"{name}-note", created_at=now))
    session.add(CheckInPreference(member_id=member.id, community_id=community.id, share_name=True, updated_at=now))
    facilitator = Facilitator(circle_id=circle.id, member_id=member.id, trained=True, updated_at=now)
    session.add(facilitator)
    await session.flush()
    session.add(AwayPeriod(facilitator_id=facilitator.id, starts_at=now, ends_at=now + timedelta(days=7)))
    start = now - timedelta(days=2)
    row = CircleSession(
        circle_id=circle.id,
        key=f"session:{circle.id}:{start.isoformat()}",
        original_start=start,
        start_at=start,
        end_at=start + timedelta(hours=1),
        status=SessionStatus.CLOSED,
        facilitator_id=member.id,
        backup_id=other.id if other else None,
        facilitator_source=FacilitatorSource.MODERATOR,
        facilitator_set_by=moderator.id,
        facilitator_notified_id=member.id,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    session.add(Attendance(session_id=row.id, member_id=member.id, confirmed=True, attended=True))
    session.add(Feedback(session_id=row.id, rating=5, note="anonymous feedback", created_at=now))
    if other is not None:
        session.add(SwapRequest(session_id=row.id, from_member=member.id, to_member=other.id, created_at=now))
    session.add(Timer(key=f"reminder:{name}", kind="reminder", member_id=member.id, due_at=now, created_at=now))
    escalation = Escalation(
        community_id=community.id,
        member_id=member.id,
        source="support",
        tier="concern",
        excerpt=f"{name}-support-note",
        matched=[[f"{name}-phrase", "concern"]],
        room_id=f"room-{name}",
        link=f"https://chat.example/{name}",
        status="resolved",
        claimed_by=moderator.id,
        claimed_at=now,
        resolved_by=moderator.id,
        resolved_at=now,
        last_alert_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(escalation)
    await session.flush()
    session.add(SafetyReply(community_id=community.id, member_id=member.id, last_reply_at=now, last_tier=1))
    session.add(AuditEntry(community_id=community.id, actor_id=member.id, action="circle.create", created_at=now))
    session.add(
        AuditEntry(
            community_id=community.id,
            actor_id=moderator.id,
            action="facilitate.train",
            target=f"circle:{circle.id}",
            details={"member": member.id},
            created_at=now,
        )
    )
    for key, extra in (
        (f"dm:{name}", {"member_id": member.id}),
        (f"alert:{name}", {"escalation_id": escalation.id, "kind": "room", "target": "#moderators"}),
        (f"raw-dm:{name}", {}),
    ):
        session.add(
            OutboxItem(
                key=key,
                community_id=community.id,
                platform="console",
                kind=str(extra.pop("kind", "dm")),
                target=str(extra.pop("target", name)),
                text=f"message about {name}",
                due_at=now,
                created_at=now,
                **extra,
            )
        )
    session.add(PlatformState(key=f"console:@bot:dm:{name}", value=f"!dm-room-{name}", updated_at=now))
    await session.flush()
    return Seeded(member, circle, escalation)
