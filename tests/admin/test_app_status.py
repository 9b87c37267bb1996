"""The application's status callable: each adapter's state and the scheduler, with no secrets, reaching the engine."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.adapters.base import Adapter
from bot.app import Application
from bot.config import default_settings
from bot.model import Platform


class DownMatrix(Adapter):
    platform = Platform.MATRIX

    def __init__(self) -> None:
        self.last_error = "M_UNKNOWN_TOKEN: access_token=syt_abc invalid"

    async def run(self, stop: asyncio.Event) -> None:
        await stop.wait()

    @property
    def ready(self) -> bool:
        return False


class ReadyDiscord(Adapter):
    platform = Platform.DISCORD

    async def run(self, stop: asyncio.Event) -> None:
        await stop.wait()

    @property
    def ready(self) -> bool:
        return True


async def test_status_lines_describe_adapters_and_scheduler(tmp_path: Path) -> None:
    app = Application(default_settings(tmp_path))
    try:
        assert app.engine.status == app.status_lines
        app.adapters = [ReadyDiscord(), DownMatrix()]
        lines = await app.status_lines()
    finally:
        await app.database.close()
    assert lines[0] == "adapter discord ready intent=off"
    assert lines[1].startswith("adapter matrix down encryption=off error=M_UNKNOWN_TOKEN")
    assert "syt_abc" not in lines[1]
    assert lines[2] == "scheduler stopped"
