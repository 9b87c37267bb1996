"""Work the Discord adapter repeats in the background while its client runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from discord.ext import tasks

from .context import Context

__all__ = ["every"]


def every(context: Context, seconds: float, tick: Callable[[], Awaitable[None]]) -> tasks.Loop[Any]:
    """Call ``tick`` every ``seconds`` once the client is ready, until it closes.

    A discord.py task loop rather than a sleeping task: it keeps time with the client, and test simulators can move
    it in virtual time.
    """

    async def run() -> None:
        client = context.client
        if client is None or client.is_closed():
            loop.stop()
            return
        await tick()

    async def ready() -> None:
        client = context.client
        assert client is not None
        await client.wait_until_ready()

    loop: tasks.Loop[Any] = tasks.loop(seconds=seconds)(run)
    loop.before_loop(ready)
    loop.start()
    return loop
