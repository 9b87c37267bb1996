"""What every adapter provides to the application."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from typing import ClassVar

from bot.model import Platform

__all__ = ["Adapter"]


class Adapter(ABC):
    """A connection to one platform, run by the application until it is told to stop.

    ``run`` connects, serves events until ``stop`` is set (or, for the console, until its input ends), finishes the
    event in hand, and returns. It raises :class:`~bot.errors.PlatformCredentialsError` when the platform refuses
    the bot's credentials.
    """

    platform: ClassVar[Platform]

    @abstractmethod
    async def run(self, stop: asyncio.Event) -> None:
        """Serve until ``stop`` is set."""

    @property
    @abstractmethod
    def ready(self) -> bool:
        """Whether the adapter is connected and serving."""
