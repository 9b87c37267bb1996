"""Who may lead a circle's sessions, and the rotation ledger read from the sessions they led."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.circles.rotation import Candidate, Choice, LapseReason, Standing, at_start, choose, lapse
from bot.errors import UserError
from bot.model import Role
from bot.storage.models import Circle, Membership, MembershipStatus
from bot.storage.schedule_models import AwayPeriod, CircleSession, Facilitator, FacilitatorSource, SessionStatus

__all__ = [
    "FAIRNESS_WINDOW",
    "LeadAtStart",
    "candidates",
    "choose_for",
    "is_facilitator",
    "lead_at_start",
    "require_lead",
    "standing_of",
]

# Fairness counts sessions led over roughly a season, so a long-serving facilitator is not owed a break forever.
FAIRNESS_WINDOW = timedelta(days=91)
# A session assigned and not yet held counts as led: a commitment is load, and not counting it would hand the next
# session to the same person. Missed, postponed or unstaffed sessions count for nobody.
LED = (SessionStatus.SCHEDULED, SessionStatus.OPEN, SessionStatus.CLOSED)


async def is_facilitator(session: AsyncSession, circle_id: int, member_id: int) -> bool:
    """A facilitator of this circle with a seat in it: trained for it, or seated with the facilitator role.

    Someone who left the circle, or waits for a seat, keeps their facilitator record (for coming back) but no power
    over the circle meanwhile: they cannot open, close, cancel or move its sessions, nor see its check-in summary.
    """
    role = await session.scalar(
        select(Membership.role).where(
            Membership.circle_id == circle_id,
            Membership.member_id == member_id,
            Membership.status == MembershipStatus.ACTIVE,
        )
    )
    if role is None:
        return False
    return role == "facilitator" or await _trained(session, circle_id, member_id)


async def _trained(session: AsyncSession, circle_id: int, member_id: int) -> bool:
    trained = await session.scalar(
        select(Facilitator.id).where(
            Facilitator.circle_id == circle_id, Facilitator.member_id == member_id, Facilitator.trained.is_(True)
        )
    )
    return trained is not None


async def require_lead(session: AsyncSession, circle: Circle, member_id: int, role: Role) -> None:
    """Let a moderator (or admin) or one of the circle's seated facilitators (:func:`is_facilitator`) through;
    refuse anyone else, telling a trained facilitator of the circle without a seat in it that this is why."""
    if role >= Role.MODERATOR or await is_facilitator(session, circle.id, member_id):
        return
    if await _trained(session, circle.id, member_id):
        raise UserError("session.error.not_seated", circle=circle.name)
    raise UserError("session.error.not_facilitator", circle=circle.name)


async def candidates(
    session: AsyncSession, circle_id: int, now: datetime, *, include_planned: bool = True
) -> list[Candidate]:
    """Every facilitator of the circle who holds a seat in it, with their away periods and what the ledger says they
    led. Someone who left the circle, or waits for a seat, keeps their facilitator standing (for coming back) but is
    not a candidate; someone whose data was deleted has no standing left.

    ``include_planned`` counts sessions assigned but not yet started; a projection that assigns them itself
    leaves them out so they are not counted twice.
    """
    until = now if not include_planned else datetime.max.replace(tzinfo=now.tzinfo)
    rows = list(
        (
            await session.execute(
                select(Facilitator)
                .join(
                    Membership,
                    (Membership.circle_id == Facilitator.circle_id) & (Membership.member_id == Facilitator.member_id),
                )
                .where(Facilitator.circle_id == circle_id, Membership.status == MembershipStatus.ACTIVE)
                .order_by(Facilitator.id)
            )
        ).scalars()
    )
    if not rows:
        return []
    away: dict[int, list[tuple[datetime, datetime]]] = {}
    for period in (
        await session.execute(select(AwayPeriod).where(AwayPeriod.facilitator_id.in_([row.id for row in rows])))
    ).scalars():
        away.setdefault(period.facilitator_id, []).append((period.starts_at, period.ends_at))
    window = (
        select(CircleSession.facilitator_id, func.count(), func.max(CircleSession.start_at))
        .where(
            CircleSession.circle_id == circle_id,
            CircleSession.status.in_(LED),
            CircleSession.start_at >= now - FAIRNESS_WINDOW,
            CircleSession.start_at < until,
        )
        .group_by(CircleSession.facilitator_id)
    )
    led = {member_id: (count, last) for member_id, count, last in (await session.execute(window)).all()}
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    next_month = (month_start + timedelta(days=32)).replace(day=1)
    month = (
        select(CircleSession.facilitator_id, func.count())
        .where(
            CircleSession.circle_id == circle_id,
            CircleSession.status.in_(LED),
            CircleSession.start_at >= month_start,
            CircleSession.start_at < min(next_month, until),
        )
        .group_by(CircleSession.facilitator_id)
    )
    this_month: dict[int | None, int] = {row[0]: row[1] for row in (await session.execute(month)).all()}
    return [
        Candidate(
            member_id=row.member_id,
            trained=row.trained,
            volunteering=row.volunteering,
            away=tuple(away.get(row.id, ())),
            led_in_window=led.get(row.member_id, (0, None))[0],
            last_led=led.get(row.member_id, (0, None))[1],
            led_this_month=this_month.get(row.member_id, 0),
        )
        for row in rows
    ]


async def choose_for(
    session: AsyncSession,
    circle_id: int,
    start: datetime,
    now: datetime,
    load_cap: int | None,
    *,
    exclude: frozenset[int] = frozenset(),
) -> Choice:
    """The fairest facilitator and a backup for a session starting at ``start``, leaving out ``exclude``."""
    return choose(await candidates(session, circle_id, now), start, load_cap=load_cap, exclude=exclude)


async def standing_of(session: AsyncSession, circle_id: int, member_id: int | None, at: datetime) -> Standing | None:
    """What is true at ``at`` of ``member_id`` as a facilitator of the circle; None when there is no one (a session
    whose facilitator's data was deleted)."""
    if member_id is None:
        return None
    seated = await session.scalar(
        select(Membership.id).where(
            Membership.circle_id == circle_id,
            Membership.member_id == member_id,
            Membership.status == MembershipStatus.ACTIVE,
        )
    )
    row = await session.scalar(
        select(Facilitator).where(Facilitator.circle_id == circle_id, Facilitator.member_id == member_id)
    )
    away = (
        row is not None
        and await session.scalar(
            select(AwayPeriod.id)
            .where(AwayPeriod.facilitator_id == row.id, AwayPeriod.starts_at <= at, AwayPeriod.ends_at > at)
            .limit(1)
        )
        is not None
    )
    return Standing(
        in_circle=seated is not None,
        trained=row is not None and row.trained,
        volunteering=row is not None and row.volunteering,
        away=away,
    )


@dataclass(frozen=True, slots=True)
class LeadAtStart:
    """Who leads a session at its start (:func:`lead_at_start`)."""

    member_id: int | None
    """The facilitator, or ``None`` when nobody eligible is left."""
    changed: bool
    """Whether that is someone other than the facilitator assigned to the session."""
    lapsed: LapseReason | None = None
    """Why a moderator's choice lapsed, when it did (the moderators are told)."""


async def lead_at_start(session: AsyncSession, row: CircleSession, now: datetime, load_cap: int | None) -> LeadAtStart:
    """Who leads ``row`` when it starts: the facilitator assigned, while they still lead it
    (:func:`bot.circles.rotation.at_start`), else the backup if still eligible, else the rotation's fresh choice.
    A moderator's choice that lapsed falls back the same way, without that person. Reads only: the caller records
    the outcome (at the start), or shows it (``rotation show``)."""
    standing = await standing_of(session, row.circle_id, row.facilitator_id, row.start_at)
    verdict = at_start(
        standing,
        named_by_moderator=row.facilitator_source == FacilitatorSource.MODERATOR,
        swapped=row.facilitator_source == FacilitatorSource.SWAP,
    )
    if verdict == "keep":
        return LeadAtStart(row.facilitator_id, changed=False)
    reason = lapse(standing) if verdict == "lapsed" else None
    excluded = frozenset({row.facilitator_id}) if reason is not None and row.facilitator_id is not None else frozenset()
    choice = await choose_for(session, row.circle_id, row.start_at, now, load_cap, exclude=excluded)
    eligible = {choice.primary, choice.backup} - {None}
    if row.facilitator_id in eligible:
        return LeadAtStart(row.facilitator_id, changed=False, lapsed=reason)
    fallback = row.backup_id if row.backup_id in eligible else choice.primary
    return LeadAtStart(fallback, changed=True, lapsed=reason)
