"""Application lifecycle paths that need a platform that misbehaves."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.adapters.base import Adapter
from bot.app import EXIT_CREDENTIALS, Application
from bot.config import default_settings
from bot.errors import PlatformCredentialsError
from bot.model import Platform


class RefusedAdapter(Adapter):
    """Stands in for a platform that rejects the token at login; the real adapters raise the same error."""

    platform = Platform.DISCORD

    async def run(self, stop: asyncio.Event) -> None:
        raise PlatformCredentialsError("401 Unauthorized: improper token")

    @property
    def ready(self) -> bool:
        return False


class ServingAdapter(Adapter):
    platform = Platform.CONSOLE

    def __init__(self) -> None:
        self.stopped = False

    async def run(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self.stopped = True

    @property
    def ready(self) -> bool:
        return not self.stopped


async def test_refused_credentials_stop_every_adapter_and_exit_3(tmp_path: Path) -> None:
    app = Application(default_settings(tmp_path))
    serving = ServingAdapter()
    app.build_adapters = lambda: [serving, RefusedAdapter()]  # type: ignore[method-assign]
    assert await app.run() == EXIT_CREDENTIALS
    assert serving.stopped
