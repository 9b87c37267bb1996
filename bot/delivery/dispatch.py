"""Serving leased outbox items: each destination in order, several destinations at once, and what concerns a crisis
never waiting behind ordinary deliveries.

Items can be added while others are being sent: a crisis alert written while a slow direct chat is being created
starts at once instead of waiting for that whole batch to end.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable

from bot.storage.models import OutboxItem

__all__ = ["Dispatch", "destination", "is_alert", "is_urgent"]

log = logging.getLogger(__name__)

Destination = tuple[str, bool, str]


def destination(item: OutboxItem) -> Destination:
    """Where an item goes: its platform, whether it is a direct message, and its target. A session space's posts and
    its closing share one destination, so it closes after what was said in it."""
    return item.platform, item.kind == "dm", item.target


def is_alert(item: OutboxItem) -> bool:
    """A moderator alert (not the private reply to the person it is about)."""
    return item.escalation_id is not None and item.kind == "room"


def is_urgent(item: OutboxItem) -> bool:
    """Part of a crisis: a moderator alert, or the private reply to the person it is about."""
    return item.escalation_id is not None


class Dispatch:
    """Sends items through ``deliver`` (which returns 1 when delivered, 0 when it will be retried later).

    Up to ``concurrency`` ordinary items are sent at once, to different destinations; each destination's items go one
    by one. Urgent items (:func:`is_urgent`) are sent under a limit of their own, so they never wait for a place
    behind direct chats being created, and go before the ordinary items their destination has not started yet (the
    moderators' room may have a notice queued when an alert comes). ``on_free`` is called each time a destination
    has been served. An item already queued is not queued again.
    """

    def __init__(
        self,
        deliver: Callable[[OutboxItem], Awaitable[int]],
        *,
        concurrency: int,
        on_free: Callable[[], None] | None = None,
    ) -> None:
        self._deliver = deliver
        self._on_free = on_free
        self._gate = asyncio.Semaphore(concurrency)
        self._urgent_gate = asyncio.Semaphore(concurrency)
        self._queues: dict[Destination, deque[OutboxItem]] = {}
        self._workers: dict[Destination, asyncio.Task[None]] = {}
        self._queued: dict[int, OutboxItem] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        self.delivered = 0
        self.errors: list[BaseException] = []
        """Failures outside the platform call (the database, while marking an item): the item and those after it
        for the same destination stay leased, and are sent again when their lease ends."""

    @property
    def queued_ids(self) -> set[int]:
        """The ids of the items added and not yet served: the next lease leaves them out."""
        return set(self._queued)

    @property
    def in_flight(self) -> int:
        """Items added and not yet served (each is leased in the database until then)."""
        return len(self._queued)

    def add(self, items: Iterable[OutboxItem]) -> None:
        """Queue ``items`` (already in urgency order) behind what each destination still has to send; an urgent item
        goes before the ordinary ones not started yet."""
        for item in items:
            if item.id in self._queued:
                continue  # the deliverer leaves out what is queued; drains that overlap may still bring it twice
            self._queued[item.id] = item
            where = destination(item)
            queue = self._queues.setdefault(where, deque())
            if is_urgent(item):
                ahead = 0
                while ahead < len(queue) and is_urgent(queue[ahead]):
                    ahead += 1
                queue.insert(ahead, item)
            else:
                queue.append(item)
            if where not in self._workers:
                self._workers[where] = asyncio.create_task(self._serve(where), name="outbox")
                self._idle.clear()

    async def idle(self) -> None:
        """Wait until every item added so far has been served."""
        await self._idle.wait()

    async def close(self) -> None:
        """Let what was added finish; when cancelled meanwhile, stop every send (their items stay leased)."""
        try:
            await self.idle()
        except asyncio.CancelledError:
            for worker in list(self._workers.values()):
                worker.cancel()
            await asyncio.gather(*self._workers.values(), return_exceptions=True)
            raise

    async def _serve(self, where: Destination) -> None:
        queue = self._queues[where]
        try:
            while queue:
                head = queue[0]
                gate = self._urgent_gate if is_urgent(head) else self._gate
                async with gate:
                    if queue[0] is not head:
                        continue  # an urgent item came first while this waited: it goes now, under its own limit
                    item = queue.popleft()
                    try:
                        # Awaited before adding: ``x += await y`` would read x first and lose concurrent counts.
                        delivered = await self._deliver(item)
                    except asyncio.CancelledError:
                        self._queued.pop(item.id, None)
                        raise
                    except BaseException as error:  # handed to whoever waits on this dispatch
                        self._queued.pop(item.id, None)
                        self.errors.append(error)
                        break
                    self._queued.pop(item.id, None)
                    self.delivered += delivered
                await asyncio.sleep(0)  # long runs must not starve the platforms' heartbeats
        finally:
            for left in queue:
                self._queued.pop(left.id, None)
            queue.clear()
            del self._queues[where]
            del self._workers[where]
            if not self._workers:
                self._idle.set()
            if self._on_free is not None:
                self._on_free()
