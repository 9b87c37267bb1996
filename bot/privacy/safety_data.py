"""Export and forgetting for escalations, the outbox, reply cooldowns, the audit log and platform state."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.privacy.common import count_rows, iso
from bot.storage.matrix_models import PlatformState
from bot.storage.models import (
    AuditEntry,
    Community,
    Escalation,
    Member,
    OutboxItem,
    SafetyReply,
)

AUDIT_MEMBER_DETAILS = ("member", "to")


# --- safety ----------------------------------------------------------------------------------------------------


async def export_escalations(session: AsyncSession, member: Member) -> list[dict[str, Any]]:
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


async def forget_escalations(session: AsyncSession, member: Member) -> int:
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
    return count_rows(about) + count_rows(claimed) + count_rows(resolved)


async def forget_outbox(session: AsyncSession, member: Member) -> int:
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
    return count_rows(await session.execute(statement))


async def export_safety_replies(session: AsyncSession, member: Member) -> list[dict[str, Any]]:
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


async def forget_safety_replies(session: AsyncSession, member: Member) -> int:
    return count_rows(await session.execute(delete(SafetyReply).where(SafetyReply.member_id == member.id)))


# --- audit -----------------------------------------------------------------------------------------------------


async def export_audit(session: AsyncSession, member: Member) -> list[dict[str, Any]]:
    # Targets and details can name other people's records, so only the action and its time are exported.
    rows = await session.execute(
        select(AuditEntry.action, AuditEntry.created_at)
        .where(AuditEntry.actor_id == member.id)
        .order_by(AuditEntry.created_at, AuditEntry.id)
    )
    return [{"action": action, "at": iso(at)} for action, at in rows]


async def forget_audit(session: AsyncSession, member: Member) -> int:
    """Actions are kept for accountability with the actor removed; member ids in details are removed too."""
    touched = count_rows(
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


async def export_platform_state(session: AsyncSession, member: Member) -> list[dict[str, Any]]:
    rows = await session.execute(select(PlatformState.value).where(_dm_keys(member)).order_by(PlatformState.id))
    return [{"direct_room": value} for value in rows.scalars() if value]


async def forget_platform_state(session: AsyncSession, member: Member) -> int:
    return count_rows(await session.execute(delete(PlatformState).where(_dm_keys(member))))
