"""The deliverer: drains the outbox through each platform's sender, with backoff, leases and a fallback.

An item is leased before the platform call, so two processes never send it at once, and marked delivered after.
A crash between the call and the mark leaves it leased; when the lease ends it is sent again under the same key,
which platforms with idempotent sends (Matrix transaction ids) show once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.delivery.dispatch import Dispatch, is_alert
from bot.delivery.outbox import Delivery, enqueue, enqueue_to_moderators
from bot.errors import DeliveryRefused, PlatformError
from bot.i18n import Catalogue, catalogue
from bot.model import Platform
from bot.observability.metrics import Metrics
from bot.storage import Database
from bot.storage.models import Community, OutboxItem, OutboxStatus

__all__ = ["Deliverer", "Sender"]

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
MAX_BACKOFF = timedelta(minutes=5)
FALLBACK_AFTER_ATTEMPTS = 3
BATCH = 50
GAUGE_EVERY = 10.0
CONCURRENCY = 8
"""Destinations served at once. Each destination's items still go one by one, in order; a slow destination (a direct
chat being created, a rate-limited channel) holds up only its own items."""

URGENCY = case(
    (and_(OutboxItem.escalation_id.is_not(None), OutboxItem.kind == "room"), 0),
    (OutboxItem.escalation_id.is_not(None), 1),
    else_=2,
)
"""Moderator alerts first, then the private replies to the people they are about, then everything else: under load
the people waiting on an alert must not wait behind reminders and notices."""


class Sender(Protocol):
    """What an adapter provides to deliver outbox items on its platform."""

    async def send(self, delivery: Delivery) -> None:
        """Deliver, or raise :class:`PlatformError` (try again) or :class:`DeliveryRefused` (never possible)."""
        ...


def backoff(attempts: int, retry_after: float | None) -> timedelta:
    """Exponential from 2 s, capped at 5 minutes; a platform's retry-after wins when it is longer."""
    delay = min(timedelta(seconds=2 ** min(attempts, 12)), MAX_BACKOFF)
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=retry_after))
    return delay


class Deliverer:
    """Delivers due outbox items; :meth:`run` loops until stopped, :meth:`drain` delivers what is due now."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        senders: Mapping[Platform, Sender] | None = None,
        metrics: Metrics | None = None,
        messages: Catalogue | None = None,
        lease: timedelta = LEASE,
    ) -> None:
        self.database = database
        self.clock = clock
        self.lease = lease
        self.messages = messages or catalogue()
        self.metrics = metrics or Metrics()
        self.senders: dict[Platform, Sender] = dict(senders or {})
        self._wake = asyncio.Event()

    def register(self, platform: Platform, sender: Sender) -> None:
        """Route ``platform``'s items to ``sender``."""
        self.senders[platform] = sender

    def wake(self) -> None:
        """Something was enqueued: deliver it now rather than at the next poll."""
        self._wake.set()

    async def _lease(
        self, now: datetime, limit: int = BATCH, *, urgent_only: bool = False, exclude: Collection[int] = ()
    ) -> list[OutboxItem]:
        platforms = [platform.value for platform in self.senders]
        async with self.database.transaction() as session:
            statement = (
                select(OutboxItem)
                .where(
                    OutboxItem.status == OutboxStatus.PENDING,
                    OutboxItem.due_at <= now,
                    OutboxItem.platform.in_(platforms),
                    or_(OutboxItem.leased_until.is_(None), OutboxItem.leased_until <= now),
                    *([OutboxItem.escalation_id.is_not(None)] if urgent_only else []),
                    # Still waiting in this process (its lease may have run out behind slow sends): not again.
                    *([OutboxItem.id.not_in(exclude)] if exclude else []),
                )
                .order_by(URGENCY, OutboxItem.due_at, OutboxItem.id)
                .limit(limit)
                # Another process may be draining too: each takes rows the other has not locked.
                .with_for_update(skip_locked=True)
            )
            items = list((await session.execute(statement)).scalars())
            for item in items:
                item.leased_until = now + self.lease
                item.attempts += 1
        return items

    async def pending_alerts(self) -> int:
        """Moderator alerts written and not yet delivered."""
        async with self.database.transaction() as session:
            count = await session.scalar(
                select(func.count()).where(
                    OutboxItem.status == OutboxStatus.PENDING,
                    OutboxItem.escalation_id.is_not(None),
                    OutboxItem.kind == "room",
                )
            )
        return int(count or 0)

    async def drain(self) -> int:
        """Deliver every item due now, a batch at a time; returns how many were delivered.

        Up to :data:`CONCURRENCY` destinations are served at once, each destination's items in order (see
        :class:`Dispatch`). A database failure while marking an item is raised once every destination has finished.
        """
        dispatch = Dispatch(self._deliver, concurrency=CONCURRENCY)
        while True:
            items = await self._lease(self.clock.now())
            if not items:
                return dispatch.delivered
            dispatch.add(items)
            await dispatch.idle()
            if dispatch.errors:
                raise dispatch.errors[0]

    async def _still_ours(self, item: OutboxItem) -> bool:
        """Whether ``item``, leased some time ago, is still this process's to send: if half its lease has gone by (it
        waited behind slow sends to its destination), the lease is renewed, unless it ended and another process took
        the item meanwhile, which then sends it instead (this process never leases an item it still holds)."""
        now = self.clock.now()
        held = item.leased_until
        if held is None or now < held - self.lease / 2:
            return True
        renewed = now + self.lease
        async with self.database.transaction() as session:
            result = await session.execute(
                update(OutboxItem)
                .where(
                    OutboxItem.id == item.id,
                    OutboxItem.status == OutboxStatus.PENDING,
                    OutboxItem.leased_until == held,
                )
                .values(leased_until=renewed)
            )
        if getattr(result, "rowcount", 0) != 1:
            log.info("outbox item %s was taken again after its lease ended; not sending it here", item.id)
            return False
        item.leased_until = renewed
        return True

    async def _deliver(self, item: OutboxItem) -> int:
        if not await self._still_ours(item):
            return 0
        sender = self.senders[Platform(item.platform)]
        delivery = Delivery(
            key=item.key,
            platform=Platform(item.platform),
            kind="dm" if item.kind == "dm" else "close" if item.kind == "close" else "room",
            target=item.target,
            text=item.text,
            ping=item.ping,
            escalation_id=item.escalation_id,
        )
        try:
            await sender.send(delivery)
        except DeliveryRefused as error:
            await self._refused(item, str(error))
            return 0
        except PlatformError as error:
            await self._retry(item, str(error), error.retry_after)
            return 0
        except Exception as error:  # an adapter bug must not lose the item: retry it like a platform error
            log.exception("sender for %s failed on outbox item %s", item.platform, item.id)
            await self._retry(item, type(error).__name__, None)
            return 0
        now = self.clock.now()
        async with self.database.transaction() as session:
            await session.execute(
                update(OutboxItem)
                .where(OutboxItem.id == item.id)
                .values(status=OutboxStatus.DELIVERED, delivered_at=now, text="", leased_until=None, last_error=None)
            )
        kind = "alert" if is_alert(item) else item.kind
        self.metrics.deliveries.labels(kind).inc()
        self.metrics.delivery_latency.labels(kind).observe(max(0.0, (now - item.created_at).total_seconds()))
        log.info("delivered outbox item %s (%s) after %d attempt(s)", item.id, item.kind, item.attempts)
        return 1

    async def _retry(self, item: OutboxItem, error: str, retry_after: float | None) -> None:
        self.metrics.delivery_failures.labels("retry").inc()
        now = self.clock.now()
        async with self.database.transaction() as session:
            await session.execute(
                update(OutboxItem)
                .where(OutboxItem.id == item.id)
                .values(due_at=now + backoff(item.attempts, retry_after), leased_until=None, last_error=error[:300])
            )
            if item.fallback and item.attempts == FALLBACK_AFTER_ATTEMPTS:
                await self._to_fallback(session, item, now)
        level = logging.ERROR if item.escalation_id is not None else logging.WARNING
        log.log(level, "outbox item %s not delivered (attempt %d): %s; will retry", item.id, item.attempts, error)

    async def _refused(self, item: OutboxItem, error: str) -> None:
        self.metrics.delivery_failures.labels("refused").inc()
        now = self.clock.now()
        async with self.database.transaction() as session:
            if item.kind == "dm" and item.escalation_id is not None:
                await self._tell_moderators_unreachable(session, item, now)
            if item.fallback:
                await self._to_fallback(session, item, now)
                status = OutboxStatus.FAILED
            elif is_alert(item):
                # An alert with nowhere else to go is never dropped: keep trying, loudly.
                status = OutboxStatus.PENDING
            else:
                status = OutboxStatus.FAILED
            await session.execute(
                update(OutboxItem)
                .where(OutboxItem.id == item.id)
                .values(
                    status=status,
                    leased_until=None,
                    last_error=error[:300],
                    due_at=now + backoff(item.attempts, None),
                )
            )
        log.error("outbox item %s (%s) refused by %s: %s", item.id, item.kind, item.platform, error)

    async def _tell_moderators_unreachable(self, session: AsyncSession, item: OutboxItem, now: datetime) -> None:
        """A private reply about an alert could not reach the person (DMs closed): the moderators must know, so a
        human can reach them another way."""
        community = await session.get(Community, item.community_id)
        text = (
            self.messages.t(
                community.locale, "safety.alert.reply_undeliverable", id=item.escalation_id, member=item.target
            )
            if community is not None
            else ""
        )
        if community is None or not await enqueue_to_moderators(
            session,
            community,
            key=f"{item.key}:undeliverable",
            text=text,
            now=now,
            escalation_id=item.escalation_id,
        ):
            log.error(
                "private reply for alert %s undeliverable and no moderators' channel to say so", item.escalation_id
            )

    async def _to_fallback(self, session: AsyncSession, item: OutboxItem, now: datetime) -> None:
        added = await enqueue(
            session,
            key=f"{item.key}:fallback",
            community_id=item.community_id,
            platform=Platform(item.platform),
            kind="room",
            target=item.fallback or "",
            text=item.text,
            now=now,
            escalation_id=item.escalation_id,
        )
        if added:
            log.error(
                "moderator destination %s unreachable for outbox item %s: sent to the fallback", item.target, item.id
            )

    async def run(self, stop: asyncio.Event, poll: float = 1.0) -> None:
        """Deliver until ``stop`` is set, waking when told and at least every ``poll`` seconds for retries.

        New items are leased as soon as they are written, while earlier ones are still being sent: an alert never
        waits for a batch of slow deliveries to end. At most :data:`BATCH` items are leased and not yet served.
        """
        full = False

        def freed() -> None:
            if full:  # items may be waiting that did not fit: lease again now rather than at the next poll
                self._wake.set()

        dispatch = Dispatch(self._deliver, concurrency=CONCURRENCY, on_free=freed)
        gauge_due = 0.0
        try:
            while not stop.is_set():
                # Cleared before leasing, so an item written while the lease runs wakes the next pass.
                self._wake.clear()
                try:
                    room = BATCH - dispatch.in_flight
                    if room > 0:
                        items = await self._lease(self.clock.now(), room, exclude=dispatch.queued_ids)
                        full = len(items) == room
                    else:
                        # Full of ordinary items: what concerns a crisis is still taken at once, beyond the cap.
                        items = await self._lease(
                            self.clock.now(), BATCH, urgent_only=True, exclude=dispatch.queued_ids
                        )
                        full = True
                    dispatch.add(items)
                    for error in dispatch.errors:
                        log.error("outbox delivery failed; its items are sent again when their lease ends: %r", error)
                    dispatch.errors.clear()
                    # The pending-alerts gauge costs a count query: refreshed every few seconds, not on every pass.
                    if time.monotonic() >= gauge_due:
                        self.metrics.alerts_pending.set(await self.pending_alerts())
                        gauge_due = time.monotonic() + GAUGE_EVERY
                except Exception:
                    # The database may be briefly unreachable; nothing is lost, the items stay in the outbox.
                    log.exception("outbox pass failed; will try again")
                waiter = asyncio.ensure_future(self._wake.wait())
                stopper = asyncio.ensure_future(stop.wait())
                await asyncio.wait({waiter, stopper}, timeout=poll, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                stopper.cancel()
        finally:
            await dispatch.close()
