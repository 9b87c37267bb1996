"""When a session changes hands: the person who was told it is theirs to lead hears that it no longer is.

A session records the person last told that it is theirs to lead (``sessions.facilitator_notified_id``): by the
facilitator notice (``scheduling.facilitator_notice`` ahead), a moderator's ``rotation set``, taking it in an accepted
swap, or the prompt at its start. Whenever the session then goes to someone else (a moderator names another person, a
swap is accepted, the start-time check hands it to the backup or the rotation, a re-plan gives it to someone else),
that person is told privately, so nobody prepares for and turns up to a session that is no longer theirs. Someone
the rotation picked who had not been told yet hears nothing: the facilitator notice makes the start-time check
first, so whoever would not lead the session at its start is never told it is theirs. The new facilitator gets the
facilitator notice at once when it would otherwise never come to them (its time passed before the session became
theirs).

Everything goes through the outbox in the caller's transaction, keyed by session, person and moment: a decision that
is retried after a crash was rolled back with its messages, so each is queued once.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.circles import planning
from bot.circles.planning import SchedulingPolicy
from bot.shown import shown_name
from bot.storage.models import Circle, Community, Member
from bot.storage.schedule_models import CircleSession, SessionStatus, Timer, TimerStatus

if TYPE_CHECKING:
    from bot.circles.session_flow import SessionFlow

__all__ = ["hand_to", "notice", "notice_will_come", "release", "replan"]


async def notice(
    flow: SessionFlow,
    session: AsyncSession,
    community: Community,
    circle: Circle,
    row: CircleSession,
    facilitator: Member,
    now: datetime,
    key: str,
    message: str = "session.notice",
) -> None:
    """Queue the facilitator notice (when, the backup, how to open the session or swap it) under ``key``, and
    record that ``facilitator`` was told the session is theirs."""
    backup = await session.get(Member, row.backup_id) if row.backup_id else None
    prefix = flow.prefix(community)
    await flow.dm(
        session,
        community,
        facilitator,
        key,
        message,
        now,
        circle=circle.name,
        when=flow.when_for(community, facilitator, row.start_at),
        backup=shown_name(backup)
        if backup
        else flow.messages.t(flow.locale(community, facilitator), "session.no_backup"),
        open=f"{prefix}session open {circle.name}",
        swap=f"{prefix}rotation swap {circle.name}",
    )
    row.facilitator_notified_id = facilitator.id


async def notice_will_come(session: AsyncSession, row: CircleSession) -> bool:
    """Whether the session's facilitator notice is still to be sent (its timer pending): it goes to whoever leads
    the session then. Once sent, or skipped under the misfire policy, a new facilitator would never get it."""
    pending = await session.scalar(
        select(Timer.id)
        .where(
            Timer.session_id == row.id,
            Timer.kind == "facilitator_notice",
            Timer.status == TimerStatus.PENDING,
        )
        .limit(1)
    )
    return pending is not None


async def release(
    flow: SessionFlow,
    session: AsyncSession,
    community: Community,
    circle: Circle,
    row: CircleSession,
    now: datetime,
    *,
    keep: int | None,
    told_otherwise: int | None = None,
) -> None:
    """The session now goes to ``keep`` (None: to nobody): if someone else was told it was theirs to lead, tell
    them privately that it no longer is, and forget that they were told. ``told_otherwise`` hears it another way
    (the one who asked for an accepted swap)."""
    told = row.facilitator_notified_id
    if told is None or told == keep:
        return
    row.facilitator_notified_id = None
    if told != told_otherwise:
        await _released(flow, session, community, circle, row.id, told, row.start_at, now)


async def _released(
    flow: SessionFlow,
    session: AsyncSession,
    community: Community,
    circle: Circle,
    row_id: int,
    member_id: int,
    start: datetime,
    now: datetime,
) -> None:
    person = await session.get(Member, member_id)
    if person is None:  # their data was deleted meanwhile
        return
    await flow.dm(
        session,
        community,
        person,
        # The moment keeps a later release of the same person from the same session (named again, then replaced
        # again) apart from this one.
        f"released:{row_id}:{person.id}:{now.isoformat()}",
        "session.released",
        now,
        circle=circle.name,
        when=flow.when_for(community, person, start),
    )


async def hand_to(
    flow: SessionFlow,
    session: AsyncSession,
    community: Community,
    circle: Circle,
    row: CircleSession,
    member: Member,
    now: datetime,
    *,
    told: str | None,
    notice_now: str,
) -> None:
    """``member`` was just given the session by a person's decision (``row.facilitator_id`` is theirs already):
    tell whoever was told it was theirs that it no longer is (:func:`release`), then tell ``member``. While the
    facilitator notice is still to come, or they were told already, ``told`` says it (None: they know, having
    accepted a swap), and the notice follows in its time; once its time passed, ``notice_now`` carries the whole
    notice instead."""
    already = row.facilitator_notified_id == member.id
    await release(flow, session, community, circle, row, now, keep=member.id)
    stamp = now.isoformat()
    if already or await notice_will_come(session, row):
        if told is not None:
            await flow.dm(
                session,
                community,
                member,
                f"told:{row.id}:{member.id}:{stamp}",
                told,
                now,
                circle=circle.name,
                when=flow.when_for(community, member, row.start_at),
                open=f"{flow.prefix(community)}session open {circle.name}",
            )
        row.facilitator_notified_id = member.id
        return
    await notice(flow, session, community, circle, row, member, now, f"notice:{row.id}:{member.id}:{stamp}", notice_now)


async def replan(
    flow: SessionFlow,
    session: AsyncSession,
    community: Community,
    circle: Circle,
    now: datetime,
    policy: SchedulingPolicy,
    *,
    cancelled: datetime | None = None,
) -> CircleSession | None:
    """:func:`bot.circles.planning.replan`, then tell the person who had been told the planned session was theirs
    if it no longer is: the rotation chose someone else for the same occurrence (moved, say), or the schedule no
    longer has it. Whoever keeps the same occurrence stays told, and its facilitator notice, planned afresh, tells
    them the new time when it is due. The occurrence ``cancelled`` (its original start) is left out: its
    cancellation tells every member."""
    told = list(
        (
            await session.execute(
                select(
                    CircleSession.facilitator_notified_id, CircleSession.original_start, CircleSession.start_at
                ).where(
                    CircleSession.circle_id == circle.id,
                    CircleSession.status == SessionStatus.SCHEDULED,
                    CircleSession.start_at > now,
                    CircleSession.facilitator_notified_id.is_not(None),
                )
            )
        ).all()
    )
    row = await planning.replan(session, circle.id, now, policy)
    for member_id, original, start in told:
        if member_id is None or original == cancelled:
            continue
        if row is not None and row.original_start == original:
            if row.facilitator_id == member_id:
                row.facilitator_notified_id = member_id  # still theirs; the notice tells the new time when it is due
                continue
            start = row.start_at  # the same occurrence, at its new time (members heard of the move), is not theirs
        # Otherwise the one they were told of is no longer in the schedule: a later one is not theirs until its own
        # notice says so.
        await _released(flow, session, community, circle, row.id if row else 0, member_id, start, now)
    return row
