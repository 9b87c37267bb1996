"""What happens around a session: reminders, the facilitator's notice and prompt, quorum, opening and closing.

Everything sent to people goes through the outbox, keyed by session and person, so nothing is sent twice. The
person last told that a session is theirs to lead is recorded on it (``facilitator_notified_id``); when the session
moves to someone else, they are told it no longer is (bot/circles/handover.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.circles import handover
from bot.circles.facilitation import LeadAtStart, choose_for, lead_at_start
from bot.circles.planning import SchedulingPolicy
from bot.circles.rotation import LapseReason
from bot.delivery.outbox import enqueue, enqueue_to_moderators
from bot.i18n import Catalogue
from bot.model import Platform
from bot.shown import shown_name
from bot.storage.models import AuditEntry, Circle, Community, Escalation, Member, Membership, MembershipStatus
from bot.storage.schedule_models import (
    Attendance,
    CircleSchedule,
    CircleSession,
    FacilitatorSource,
    SessionStatus,
)

__all__ = ["LAPSE_REASONS", "SessionFlow", "format_when", "space_id"]

LAPSE_REASONS: dict[LapseReason, str] = {
    "forgotten": "rotation.lapsed.reason.forgotten",
    "left": "rotation.lapsed.reason.left",
    "untrained": "rotation.lapsed.reason.untrained",
    "away": "rotation.lapsed.reason.away",
}
"""The catalogue phrase for each reason a moderator's choice of facilitator can lapse (``{member}`` is the person)."""


def space_id(row: CircleSession) -> str:
    """The platform-neutral name of a session's space; adapters create the thread or room behind it."""
    return f"session-{row.id}"


def format_when(messages: Catalogue, locale: str, moment: datetime, zone: ZoneInfo) -> str:
    """``Tue 2026-11-24 19:00 (Europe/Berlin)``, with the weekday in the reader's language."""
    local = moment.astimezone(zone)
    weekday = messages.t(locale, f"time.weekday.{local.weekday()}")
    return messages.t(
        locale, "time.when", weekday=weekday, date=local.date().isoformat(), time=local.strftime("%H:%M"), zone=zone.key
    )


class SessionFlow:
    """Composes and queues the messages of a session's life."""

    def __init__(
        self, messages: Catalogue, prefixes: Mapping[Platform, str], policy: SchedulingPolicy | None = None
    ) -> None:
        self.messages = messages
        self.prefixes = dict(prefixes)
        # The scheduler's policy: the facilitator notice, fired by a timer without it, needs its monthly cap.
        self.policy = policy or SchedulingPolicy()

    def prefix(self, community: Community) -> str:
        platform = Platform(community.platform)
        return self.prefixes.get(platform, "/" if platform is Platform.DISCORD else "!")

    def locale(self, community: Community, member: Member) -> str:
        return self.messages.resolve_locale(member.locale, community.locale)

    def zone_for(self, community: Community, member: Member) -> ZoneInfo:
        return ZoneInfo(member.timezone or community.timezone)

    async def active_members(self, session: AsyncSession, circle_id: int) -> list[tuple[Membership, Member]]:
        result = await session.execute(
            select(Membership, Member)
            .join(Member, Member.id == Membership.member_id)
            .where(Membership.circle_id == circle_id, Membership.status == MembershipStatus.ACTIVE)
            .order_by(Membership.joined_at, Membership.id)
        )
        return [(membership, member) for membership, member in result.all()]

    async def dm(
        self,
        session: AsyncSession,
        community: Community,
        member: Member,
        key: str,
        message: str,
        now: datetime,
        /,
        **params: object,
    ) -> None:
        """Queue a private message to ``member`` in their language."""
        await enqueue(
            session,
            key=key,
            community_id=community.id,
            platform=Platform(community.platform),
            kind="dm",
            target=member.native_id,
            text=self.messages.t(self.locale(community, member), message, **params),
            now=now,
            member_id=member.id,
        )

    async def tell_moderators(
        self, session: AsyncSession, community: Community, key: str, message: str, now: datetime, /, **params: object
    ) -> None:
        """Queue a notice to the moderators' channel, when the community has one."""
        await enqueue_to_moderators(
            session, community, key=key, text=self.messages.t(community.locale, message, **params), now=now
        )

    async def tell_members(
        self,
        session: AsyncSession,
        community: Community,
        circle: Circle,
        row: CircleSession,
        kind: str,
        message: str,
        now: datetime,
        /,
        **params: object,
    ) -> None:
        """Tell every active member privately about ``row``, with its time in their own zone."""
        for _membership, member in await self.active_members(session, circle.id):
            when = format_when(
                self.messages, self.locale(community, member), row.start_at, self.zone_for(community, member)
            )
            await self.dm(
                session,
                community,
                member,
                f"{kind}:{row.id}:{member.id}",
                message,
                now,
                circle=circle.name,
                when=when,
                **params,
            )

    async def remind(
        self,
        session: AsyncSession,
        community: Community,
        circle: Circle,
        row: CircleSession,
        minutes: int,
        now: datetime,
        zone: ZoneInfo,
    ) -> None:
        """Remind each member who wants reminders, in their own time zone."""
        for _membership, member in await self.active_members(session, circle.id):
            if not member.reminders:
                continue
            locale = self.locale(community, member)
            left = (
                self.messages.t(locale, "time.in_hours", n=minutes // 60)
                if minutes >= 60 and minutes % 60 == 0
                else self.messages.t(locale, "time.in_minutes", n=minutes)
            )
            await self.dm(
                session,
                community,
                member,
                f"reminder:{row.id}:{minutes}:{member.id}",
                "session.remind",
                now,
                circle=circle.name,
                when=format_when(self.messages, locale, row.start_at, self.zone_for(community, member)),
                left=left,
                rsvp=f"{self.prefix(community)}session rsvp {circle.name}",
                off=f"{self.prefix(community)}me reminders off",
            )

    def when_for(self, community: Community, member: Member, moment: datetime) -> str:
        """``moment`` as ``member`` reads it: in their language and time zone."""
        return format_when(self.messages, self.locale(community, member), moment, self.zone_for(community, member))

    async def notify_facilitator(
        self,
        session: AsyncSession,
        community: Community,
        circle: Circle,
        row: CircleSession,
        now: datetime,
        zone: ZoneInfo,
    ) -> None:
        """Tell the facilitator on rotation, well ahead, that the session is theirs. Whoever would not lead it at its
        start (stepped down, away then, left the circle, no longer trained) is not told: the session goes now to
        whoever the start would give it to (:meth:`_lead`, with the moderators told why a moderator's choice
        lapsed), with a backup other than them, and the notice goes to that person."""
        await _lock(session, row)  # who leads it after a ``rotation set`` or swap that committed meanwhile
        planned = row.facilitator_id
        if planned is None:
            return  # nobody was available when it was planned (or their data is gone): the start looks again
        facilitator, lead = await self._lead(
            session, community, circle, row, now, zone, self.policy.monthly_cap, moment="notice"
        )
        if facilitator is None:
            return  # nobody can lead it now: the start tries the rotation again, and says so if nobody can then
        if lead.changed:
            # Their backup is the fairest other eligible facilitator, as after a ``rotation set``: not themselves
            # (the backup took over) nor someone who cannot lead it either.
            backup = await choose_for(
                session,
                circle.id,
                row.start_at,
                now,
                self.policy.monthly_cap,
                exclude=frozenset({facilitator.id, planned}),
            )
            row.backup_id = backup.primary
        # The start is part of the key, so a notice of a new time is never taken for one already sent. (A re-planned
        # session is a new row, and ids are never reused since migration 0009, so the id alone would now do.)
        key = f"notice:{row.id}:{facilitator.id}:{row.start_at.isoformat()}"
        await handover.notice(self, session, community, circle, row, facilitator, now, key)

    async def _lead(
        self,
        session: AsyncSession,
        community: Community,
        circle: Circle,
        row: CircleSession,
        now: datetime,
        zone: ZoneInfo,
        monthly_cap: int | None,
        *,
        moment: Literal["notice", "start"],
    ) -> tuple[Member | None, LeadAtStart]:
        """Give ``row`` to whoever leads it at its start (:func:`bot.circles.facilitation.lead_at_start`): the one
        assigned, while they still lead it, else the backup or the rotation's fresh choice. Whoever was told it was
        theirs and no longer leads it is told so; when a moderator's choice lapsed, the moderators are told why
        (once for each ``moment``). Returns the facilitator (None: nobody) and the decision."""
        lead = await lead_at_start(session, row, now, monthly_cap)
        lapsed = row.facilitator_id if lead.lapsed is not None else None
        if lead.changed:
            row.facilitator_id = lead.member_id
            row.facilitator_source = FacilitatorSource.ROTATION
            row.facilitator_set_by = None
        facilitator = await session.get(Member, row.facilitator_id) if row.facilitator_id else None
        await handover.release(self, session, community, circle, row, now, keep=row.facilitator_id)
        if lead.lapsed is not None:
            # The start keeps the key it always had; a lapse found at the notice has its own, so a later choice
            # that lapses again at the start is still reported.
            key = f"lapsed:{row.id}:moderators" if moment == "start" else f"lapsed:{row.id}:{moment}:moderators"
            await self._choice_lapsed(
                session, community, circle, row, now, zone, lead.lapsed, lapsed, facilitator, key=key
            )
        return facilitator, lead

    async def confirmed(self, session: AsyncSession, row: CircleSession) -> int:
        return int(
            await session.scalar(
                select(func.count()).where(Attendance.session_id == row.id, Attendance.confirmed.is_(True))
            )
            or 0
        )

    async def check_quorum(
        self,
        session: AsyncSession,
        community: Community,
        circle: Circle,
        row: CircleSession,
        now: datetime,
        zone: ZoneInfo,
    ) -> None:
        """Postpone the session, and say so, when fewer than the quorum confirmed."""
        schedule = await session.get(CircleSchedule, circle.id)
        if row.status != SessionStatus.SCHEDULED or schedule is None or not schedule.quorum:
            return
        confirmed = await self.confirmed(session, row)
        if confirmed >= schedule.quorum:
            return
        row.status = SessionStatus.POSTPONED
        await self.tell_members(
            session, community, circle, row, "postponed", "session.postponed", now, quorum=schedule.quorum
        )
        await self.tell_moderators(
            session,
            community,
            f"postponed:{row.id}:moderators",
            "session.postponed_moderators",
            now,
            circle=circle.name,
            when=format_when(self.messages, community.locale, row.start_at, zone),
            confirmed=confirmed,
            quorum=schedule.quorum,
        )

    async def start(
        self,
        session: AsyncSession,
        community: Community,
        circle: Circle,
        row: CircleSession,
        now: datetime,
        policy: SchedulingPolicy,
        zone: ZoneInfo,
    ) -> None:
        """At start time, prompt the session's facilitator: the one assigned, while they still lead it, else the
        backup or a fresh choice (:func:`bot.circles.facilitation.lead_at_start`). A moderator's choice that lapsed
        falls back the same way, without that person, and the moderators are told why. Whoever was told the session
        was theirs and no longer leads it is told so. With nobody eligible, tell the members and the moderators
        rather than stay silent."""
        await _lock(session, row)  # a ``rotation set`` or swap that committed meanwhile counts
        facilitator, lead = await self._lead(
            session, community, circle, row, now, zone, policy.monthly_cap, moment="start"
        )
        if facilitator is None:
            row.status = SessionStatus.UNSTAFFED
            await self.tell_members(session, community, circle, row, "unstaffed", "session.unstaffed", now)
            await self.tell_moderators(
                session,
                community,
                f"unstaffed:{row.id}:moderators",
                "session.unstaffed_moderators",
                now,
                circle=circle.name,
                when=format_when(self.messages, community.locale, row.start_at, zone),
                volunteer=f"{self.prefix(community)}facilitate volunteer {circle.name}",
            )
            return
        await self.dm(
            session,
            community,
            facilitator,
            f"prompt:{row.id}:{facilitator.id}",
            "session.prompt" if lead.lapsed is None else "session.prompt_fallback",
            now,
            circle=circle.name,
            open=f"{self.prefix(community)}session open {circle.name}",
        )
        row.facilitator_notified_id = facilitator.id

    async def _choice_lapsed(
        self,
        session: AsyncSession,
        community: Community,
        circle: Circle,
        row: CircleSession,
        now: datetime,
        zone: ZoneInfo,
        reason: LapseReason,
        lapsed: int | None,
        facilitator: Member | None,
        *,
        key: str,
    ) -> None:
        """Tell the moderators that the person a moderator named cannot lead the session, why, and who leads it
        instead; and record it in the audit log (ids only, blanked if either person is later forgotten)."""
        person = await session.get(Member, lapsed) if lapsed is not None else None
        locale = community.locale
        params: dict[str, object] = {
            "circle": circle.name,
            "when": format_when(self.messages, locale, row.start_at, zone),
            "reason": self.messages.t(locale, LAPSE_REASONS[reason], member=shown_name(person) if person else ""),
        }
        if facilitator is not None:
            params["lead"] = shown_name(facilitator)
        await self.tell_moderators(
            session,
            community,
            key,
            "rotation.lapsed.moderators" if facilitator is not None else "rotation.lapsed.moderators_nobody",
            now,
            **params,
        )
        session.add(
            AuditEntry(
                community_id=community.id,
                actor_id=None,
                action="rotation.lapsed",
                target=f"session:{row.id}",
                details={"member": lapsed, "to": facilitator.id if facilitator else None, "reason": reason},
                created_at=now,
            )
        )

    async def auto_close(
        self, session: AsyncSession, community: Community, circle: Circle, row: CircleSession, now: datetime
    ) -> None:
        """Close a session left open past its end and grace; a session never opened is recorded as missed."""
        if row.status == SessionStatus.OPEN:
            row.status = SessionStatus.CLOSED
            row.closed_at = now
            await enqueue(
                session,
                key=f"autoclose:{row.id}",
                community_id=community.id,
                platform=Platform(community.platform),
                kind="close",
                target=row.space_id or space_id(row),
                text=self.messages.t(community.locale, "session.auto_closed", circle=circle.name),
                now=now,
            )
            await self.invite_feedback(session, community, circle, row, now)
            await self.debrief(session, community, circle, row, now)
        elif row.status == SessionStatus.SCHEDULED and row.end_at <= now - timedelta(0):
            row.status = SessionStatus.MISSED

    async def debrief(
        self, session: AsyncSession, community: Community, circle: Circle, row: CircleSession, now: datetime
    ) -> bool:
        """After a session in which someone was escalated, offer its facilitator a private debrief: holding such
        a moment is heavy, and facilitators need care too. Says nothing of who or what."""
        if row.facilitator_id is None or row.opened_at is None:
            return False
        circle_members = select(Membership.member_id).where(Membership.circle_id == circle.id)
        happened = await session.scalar(
            select(func.count()).where(
                Escalation.community_id == community.id,
                Escalation.created_at >= row.opened_at,
                Escalation.created_at <= now,
                or_(Escalation.room_id == (row.space_id or space_id(row)), Escalation.member_id.in_(circle_members)),
            )
        )
        facilitator = await session.get(Member, row.facilitator_id)
        if not happened or facilitator is None:
            return False
        prefix = self.prefix(community)
        await self.dm(
            session,
            community,
            facilitator,
            f"debrief:{row.id}",
            "session.debrief",
            now,
            circle=circle.name,
            support=f"{prefix}support",
            resources=f"{prefix}resources",
        )
        return True

    async def invite_feedback(
        self, session: AsyncSession, community: Community, circle: Circle, row: CircleSession, now: datetime
    ) -> int:
        """Invite each attendee, privately, to give anonymous feedback."""
        result = await session.execute(
            select(Member)
            .join(Attendance, Attendance.member_id == Member.id)
            .where(Attendance.session_id == row.id, Attendance.attended.is_(True))
        )
        people = list(result.scalars())
        for member in people:
            await self.dm(
                session,
                community,
                member,
                f"feedback:{row.id}:{member.id}",
                "session.feedback_invite",
                now,
                circle=circle.name,
                feedback=f"{self.prefix(community)}session feedback {circle.name}",
            )
        return len(people)


async def _lock(session: AsyncSession, row: CircleSession) -> None:
    """Lock the session's row for the rest of the transaction and read it afresh: on PostgreSQL a timer's batch
    loaded it before a command that changed its facilitator may have committed.

    On SQLite nothing to do: every transaction begins IMMEDIATE (bot/storage/db.py), so no other connection can have
    committed since the row was read in this one; the re-read was most of what a facilitator notice cost in a burst.
    """
    if session.get_bind().dialect.name == "sqlite":
        return
    await session.execute(
        select(CircleSession)
        .where(CircleSession.id == row.id)
        # NOWAIT: a command changing this session (a move, a cancellation) locks it before the timers its change
        # deletes, the opposite order to a timer's batch; waiting here could deadlock. The timer fails instead, its
        # savepoint is undone, and it is tried again a few seconds later.
        .with_for_update(nowait=True)
        .execution_options(populate_existing=True)
    )
