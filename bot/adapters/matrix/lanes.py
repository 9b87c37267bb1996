"""Work done beside the sync loop, in order per person.

Answering a command can take a second or more on a busy homeserver (a direct-message room is created, a session
room is opened). Done inside the sync loop, that delay holds up every later event, crisis messages included. The
engine still decides each command in sync order (so its state changes keep that order); only carrying out the answer
runs here, one lane per person so that person's answers arrive in the order they asked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

__all__ = ["Lanes"]

log = logging.getLogger(__name__)


class Lanes:
    """Background work queued per key: each key's work runs in order, different keys at once."""

    def __init__(self) -> None:
        self._last: dict[str, asyncio.Task[None]] = {}

    def __len__(self) -> int:
        return len(self._last)

    def add(self, key: str, work: Coroutine[Any, Any, None], what: str) -> None:
        """Run ``work`` after the work already queued under ``key``; a failure is logged, never raised."""
        previous = self._last.get(key)
        task = asyncio.ensure_future(self._run(previous, work, what))
        self._last[key] = task
        task.add_done_callback(lambda done: self._finished(key, done))

    async def _run(self, previous: asyncio.Task[None] | None, work: Coroutine[Any, Any, None], what: str) -> None:
        if previous is not None:
            with contextlib.suppress(BaseException):
                await asyncio.shield(previous)
        try:
            await work
        except Exception:
            log.exception("Matrix: could not carry out %s", what)

    def _finished(self, key: str, task: asyncio.Task[None]) -> None:
        if self._last.get(key) is task:
            del self._last[key]

    async def drain(self, within: float) -> int:
        """Wait, at most ``within`` seconds, for the queued work to finish; returns how much was left unfinished."""
        pending = set(self._last.values())
        if not pending:
            return 0
        _, unfinished = await asyncio.wait(pending, timeout=within)
        for task in unfinished:
            task.cancel()
        return len(unfinished)
