"""Escalation: from a detection (or a request for a human) to a durable alert for moderators and a warm reply.

Everything that must reach someone is written to the outbox in the caller's transaction, so a crash or a platform
error never loses it, and its idempotency key means a retry never doubles it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Resource, SafetySettings
from bot.delivery.outbox import enqueue, enqueue_to_moderators
from bot.i18n import Catalogue
from bot.model import Platform
from bot.safety.detector import Detection, Detector, Tier
from bot.safety.resources import format_resources, pick
from bot.shown import shown_room
from bot.storage.models import Community, Escalation, EscalationStatus, Member, SafetyReply

__all__ = ["EXCERPT_LENGTH", "Report", "Safety"]

log = logging.getLogger(__name__)

EXCERPT_LENGTH = 280
MAX_RESENDS = 5


@dataclass(frozen=True, slots=True)
class Report:
    """What happened to a person's words, described without the words themselves."""

    community: Community
    member: Member
    platform: Platform
    author: str
    """How moderators will recognise the person: a display name and the platform id."""
    event_key: str
    """A key unique to the platform event, so a replayed event is never answered twice."""
    room: str | None = None
    link: str | None = None


def _explanation(detection: Detection) -> list[dict[str, str]]:
    """What matched, for moderators: lexicon phrases and tiers, never the message around them."""
    return [{"phrase": m.phrase, "tier": m.tier.label, "lexicon": m.lexicon} for m in detection.matches]


def excerpt_of(text: str) -> str:
    """The first words of a message, on one line, for the moderators' alert."""
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT_LENGTH else flat[: EXCERPT_LENGTH - 1] + "…"


class Safety:
    """Detection settings, resources and the escalation rules of one bot."""

    def __init__(
        self,
        detector: Detector,
        settings: SafetySettings,
        resources: Sequence[Resource],
        messages: Catalogue,
    ) -> None:
        self.detector = detector
        self.settings = settings
        self.resources = tuple(resources)
        self.messages = messages

    # -- what the member reads -------------------------------------------------------------------------------

    def member_locale(self, community: Community, member: Member) -> str:
        """The language the member reads."""
        return self.messages.resolve_locale(member.locale, community.locale)

    def crisis_lines(self, community: Community, locale: str) -> str:
        """The crisis resources for the community's country in the member's language."""
        chosen = pick(self.resources, country=community.country, language=locale, topic="crisis")
        if not chosen:
            return self.messages.t(locale, "safety.no_resources")
        return format_resources(self.messages, locale, chosen)

    def reply_text(self, community: Community, member: Member, tier: Tier, about_other: bool, prefix: str) -> str:
        """A warm, private reply following safe messaging practice: no judgment, no method details, never a
        promise of secrecy, never a claim to be a professional, and the truth about whether a human was told."""
        locale = self.member_locale(community, member)
        if tier is Tier.DISTRESS:
            key = "safety.reply.distress"
        elif about_other:
            key = "safety.reply.other"
        elif tier is Tier.URGENT:
            key = "safety.reply.urgent"
        else:
            key = "safety.reply.concern"
        # Say a moderator was told only when one was: honesty matters more here than reassurance.
        told = self.messages.t(locale, "safety.reply.told") if community.moderator_room else ""
        return self.messages.t(
            locale,
            key,
            told=told,
            resources=self.crisis_lines(community, locale),
            support=f"{prefix}support",
        )

    # -- what moderators read --------------------------------------------------------------------------------

    def alert_text(self, escalation: Escalation, community: Community, author: str, key: str, prefix: str) -> str:
        """An alert in the community's language: tier, who, where, an excerpt, what matched, how to claim."""
        locale = community.locale
        tier = self.messages.t(locale, f"safety.tier.{escalation.tier}")
        where = (
            shown_room(community.platform, escalation.room_id)
            if escalation.room_id
            else self.messages.t(locale, "safety.alert.private_place")
        )
        matched = ", ".join(str(m.get("phrase", "")) for m in escalation.matched) or "-"
        text = self.messages.t(
            locale,
            key,
            id=escalation.id,
            tier=tier,
            author=author,
            where=where,
            link=f" {escalation.link}" if escalation.link else "",
            excerpt=escalation.excerpt or self.messages.t(locale, "safety.alert.no_excerpt"),
            matched=matched,
            count=escalation.message_count,
            claim=f"{prefix}alert claim {escalation.id}",
            about=self.messages.t(locale, "safety.alert.about_other") if escalation.about_other else "",
        )
        if self.settings.dry_run:
            text = self.messages.t(locale, "safety.alert.dry_run", text=text)
        return text

    # -- decisions -------------------------------------------------------------------------------------------

    async def _open_for(self, session: AsyncSession, report: Report, now: datetime, source: str) -> Escalation | None:
        window_start = now - self.settings.merge_window
        result = await session.execute(
            select(Escalation)
            .where(
                Escalation.community_id == report.community.id,
                Escalation.member_id == report.member.id,
                Escalation.source == source,
                Escalation.status != EscalationStatus.RESOLVED,
                Escalation.updated_at >= window_start,
            )
            .order_by(Escalation.id.desc())
            .limit(1)
        )
        return result.scalar_one_or_none()

    async def _cooled_down(self, session: AsyncSession, report: Report, tier: Tier, now: datetime) -> bool:
        """Whether a private reply may go now, recording it if so: one reply per cooldown, not one per message,
        except that a more serious tier is always answered."""
        row = await session.scalar(
            select(SafetyReply).where(
                SafetyReply.community_id == report.community.id, SafetyReply.member_id == report.member.id
            )
        )
        if row is None:
            session.add(
                SafetyReply(
                    community_id=report.community.id, member_id=report.member.id, last_reply_at=now, last_tier=tier
                )
            )
            return True
        cooling = row.last_reply_at + self.settings.reply_cooldown > now
        if cooling and tier <= row.last_tier:
            return False
        row.last_reply_at = now
        row.last_tier = tier
        return True

    async def _reply(
        self,
        session: AsyncSession,
        report: Report,
        tier: Tier,
        about_other: bool,
        now: datetime,
        prefix: str,
        escalation: Escalation | None = None,
    ) -> bool:
        if self.settings.dry_run or not await self._cooled_down(session, report, tier, now):
            return False
        await enqueue(
            session,
            key=f"reply:{report.event_key}",
            community_id=report.community.id,
            platform=report.platform,
            kind="dm",
            target=report.member.native_id,
            text=self.reply_text(report.community, report.member, tier, about_other, prefix),
            now=now,
            member_id=report.member.id,
            # Linked to the alert, so moderators hear if the person cannot be reached privately.
            escalation_id=escalation.id if escalation is not None else None,
        )
        return True

    async def _alert(
        self,
        session: AsyncSession,
        escalation: Escalation,
        report: Report,
        key: str,
        suffix: str,
        now: datetime,
        prefix: str,
    ) -> None:
        community = report.community
        sent = await enqueue_to_moderators(
            session,
            community,
            key=f"alert:{escalation.id}:{suffix}",
            text=self.alert_text(escalation, community, report.author, key, prefix),
            now=now,
            escalation_id=escalation.id,
            ping=community.on_call_role if escalation.tier == Tier.URGENT.label else None,
        )
        if not sent:
            # Never silent: the alert stays listed for `alert list` and `admin status`, and the log says why.
            log.error("alert %s: community %s has no moderator destination configured", escalation.id, community.slug)
            return
        escalation.last_alert_at = now

    async def _open(
        self,
        session: AsyncSession,
        report: Report,
        source: str,
        tier: Tier,
        about_other: bool,
        excerpt: str | None,
        matched: list[dict[str, str]],
        now: datetime,
    ) -> Escalation:
        escalation = Escalation(
            community_id=report.community.id,
            member_id=report.member.id,
            source=source,
            tier=tier.label,
            about_other=about_other,
            excerpt=excerpt,
            matched=matched,
            room_id=report.room,
            link=report.link,
            status=EscalationStatus.OPEN,
            message_count=1,
            resend_count=0,
            last_alert_at=now,
            created_at=now,
            updated_at=now,
        )
        session.add(escalation)
        await session.flush()
        return escalation

    async def on_detection(
        self, session: AsyncSession, report: Report, detection: Detection, text: str, now: datetime, prefix: str
    ) -> Escalation | None:
        """Act on a detection: a distress reply, or an alert (new, or an update of the person's open one)."""
        # Tier and lexicons only: even a lexicon phrase would repeat the person's words into the log.
        log.info(
            "detection in community %s: tier=%s lexicons=%s matches=%d",
            report.community.slug,
            detection.tier.label,
            ",".join(sorted({m.lexicon for m in detection.matches})),
            len(detection.matches),
        )
        if detection.tier is Tier.DISTRESS:
            if self.settings.distress_replies:
                await self._reply(session, report, Tier.DISTRESS, False, now, prefix)
            return None
        if detection.tier < Tier.CONCERN:
            return None
        matched = _explanation(detection)
        escalation = await self._open_for(session, report, now, "message")
        if escalation is None:
            escalation = await self._open(
                session, report, "message", detection.tier, detection.about_other, excerpt_of(text), matched, now
            )
            await self._alert(session, escalation, report, "safety.alert.new", "new", now, prefix)
        else:
            # A flood updates one alert: moderators hear again only when the tier rises.
            escalation.message_count += 1
            escalation.updated_at = now
            if Tier[escalation.tier.upper()] < detection.tier:
                escalation.tier = detection.tier.label
                escalation.excerpt = excerpt_of(text)
                escalation.matched = matched
                escalation.about_other = detection.about_other
                await self._alert(
                    session, escalation, report, "safety.alert.raised", f"raised:{detection.tier.label}", now, prefix
                )
        await self._reply(session, report, detection.tier, detection.about_other, now, prefix, escalation)
        return escalation

    async def on_support(
        self, session: AsyncSession, report: Report, note: str | None, urgent: bool, now: datetime, prefix: str
    ) -> tuple[Escalation, bool]:
        """A member asked for a human. Returns the escalation and whether it is new (not a repeat)."""
        detection = self.detector.scan(note) if note else None
        tier = Tier.URGENT if urgent or (detection is not None and detection.tier is Tier.URGENT) else Tier.CONCERN
        existing = await self._open_for(session, report, now, "support")
        if existing is not None:
            existing.message_count += 1
            existing.updated_at = now
            return existing, False
        matched = _explanation(detection) if detection else []
        escalation = await self._open(
            session, report, "support", tier, False, excerpt_of(note) if note else None, matched, now
        )
        await self._alert(session, escalation, report, "safety.alert.support", "new", now, prefix)
        return escalation, True

    async def resend_unclaimed(self, session: AsyncSession, now: datetime, prefixes: dict[Platform, str]) -> int:
        """Re-send alerts nobody claimed within ``alert_resend_after``, to the fallback destination too."""
        cutoff = now - self.settings.alert_resend_after
        result = await session.execute(
            select(Escalation, Community, Member)
            .join(Community, Community.id == Escalation.community_id)
            .outerjoin(Member, Member.id == Escalation.member_id)
            .where(
                Escalation.status == EscalationStatus.OPEN,
                Escalation.last_alert_at <= cutoff,
                Escalation.resend_count < MAX_RESENDS,
            )
            .order_by(Escalation.id)
        )
        count = 0
        for escalation, community, member in result:
            platform = Platform(community.platform)
            escalation.resend_count += 1
            escalation.last_alert_at = now
            minutes = int((now - escalation.created_at) / timedelta(minutes=1))
            # Display names are never stored, so a re-sent alert names the person by platform id.
            author = member.native_id if member is not None else "?"
            original = self.alert_text(escalation, community, author, "safety.alert.new", prefixes.get(platform, "!"))
            text = self.messages.t(community.locale, "safety.alert.resend", minutes=minutes, alert=original)
            for target, suffix in ((community.moderator_room, "primary"), (community.fallback_room, "fallback")):
                if target:
                    await enqueue(
                        session,
                        key=f"alert:{escalation.id}:resend:{escalation.resend_count}:{suffix}",
                        community_id=community.id,
                        platform=platform,
                        kind="room",
                        target=target,
                        text=text,
                        now=now,
                        escalation_id=escalation.id,
                        ping=community.on_call_role,
                    )
            log.warning("alert %s unclaimed for %d min: re-sent (%d)", escalation.id, minutes, escalation.resend_count)
            count += 1
        return count
