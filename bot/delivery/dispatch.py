"""Serving leased outbox items: each destination in order, several destinations at once, and moderator alerts never
waiting for a free place behind ordinary deliveries.

Items can be added while others are being sent: a crisis alert written while a slow direct chat is being created
starts at once instead of waiting for that whole batch to end.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable

from bot.storage.models import OutboxItem

__all__ = ["Dispatch", "destination", "is_alert"]

log = logging.getLogger(__name__)

Destination = tuple[str, bool, str]


def destination(item: OutboxItem) -> Destination:
    """Where an item goes: its platform, whether it is a direct message, and its target. A session space's posts and
    its closing share one destination, so it closes after what was said in it."""
    return item.platform, item.kind == "dm", item.target


def is_alert(item: OutboxItem) -> bool:
    """A moderator alert (not the private reply to the person it is about)."""
    return item.escalation_id is not None and item.kind == "room"


class Dispatch:
    """Sends items through ``deliver`` (which returns 1 when delivered, 0 when it will be retried later).

    Up to ``concurrency`` destinations are served at once, each destination's items one by one in the order they
    were added. A destination whose first item is an alert is served under a separate limit, so alerts never wait
    for a place behind direct chats being created. ``on_free`` is called each time a destination has been served.
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
        self._alert_gate = asyncio.Semaphore(concurrency)
        self._queues: dict[Destination, deque[OutboxItem]] = {}
        self._workers: dict[Destination, asyncio.Task[None]] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        self.in_flight = 0
        """Items added and not yet served (each is leased in the database until then)."""
        self.delivered = 0
        self.errors: list[BaseException] = []
        """Failures outside the platform call (the database, while marking an item): the item and those after it
        for the same destination stay leased, and are sent again when their lease ends."""

    def add(self, items: Iterable[OutboxItem]) -> None:
        """Queue ``items`` (already in urgency order) behind what each destination still has to send."""
        for item in items:
            where = destination(item)
            self._queues.setdefault(where, deque()).append(item)
            self.in_flight += 1
            if where not in self._workers:
                self._workers[where] = asyncio.create_task(self._serve(where, is_alert(item)), name="outbox")
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

    async def _serve(self, where: Destination, alert: bool) -> None:
        queue = self._queues[where]
        try:
            async with self._alert_gate if alert else self._gate:
                while queue:
                    try:
                        # Awaited before adding: ``x += await y`` would read x first and lose concurrent counts.
                        delivered = await self._deliver(queue[0])
                    except asyncio.CancelledError:
                        raise
                    except BaseException as error:  # handed to whoever waits on this dispatch
                        self.errors.append(error)
                        break
                    self.delivered += delivered
                    queue.popleft()
                    self.in_flight -= 1
                    await asyncio.sleep(0)  # long runs must not starve the platforms' heartbeats
        finally:
            self.in_flight -= len(queue)
            queue.clear()
            del self._queues[where]
            del self._workers[where]
            if not self._workers:
                self._idle.set()
            if self._on_free is not None:
                self._on_free()
