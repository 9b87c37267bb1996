"""The health endpoint and the metrics, through a running application."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from pathlib import Path

from bot.app import Application
from bot.config import default_settings


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


async def _fetch(port: int, path: str) -> tuple[int, str]:
    return await asyncio.to_thread(_get, port, path)


async def _until(condition, limit: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    """Wait, bounded, for the running app to reach a state (not a schedule: the app's own start-up)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not await condition():
        assert loop.time() < deadline, "the application did not get there in time"
        await asyncio.sleep(0.05)


async def test_healthz_and_metrics_follow_the_running_bot(tmp_path: Path) -> None:
    settings = default_settings(tmp_path).model_copy(
        update={
            "observability": default_settings(tmp_path).observability.model_copy(update={"enabled": True, "port": 0})
        }
    )
    lines: asyncio.Queue[str | None] = asyncio.Queue()

    async def feed():  # type: ignore[no-untyped-def]
        while (line := await lines.get()) is not None:
            yield line

    import io

    app = Application(settings, console_lines=feed(), console_output=io.StringIO(), console_echo=False)
    running = asyncio.create_task(app.run())

    async def serving() -> bool:
        return app.observability_port is not None

    await _until(serving)
    port = app.observability_port
    assert port is not None

    async def ready() -> bool:
        status, _ = await _fetch(port, "/healthz")
        return status == 200

    await _until(ready)
    status, body = await _fetch(port, "/healthz")
    assert status == 200
    assert json.loads(body) == {
        "ready": True,
        "parts": {"storage": True, "scheduler": True, "adapter:console": True},
    }
    _, before = await _fetch(port, "/metrics")
    assert "peer_circles_messages_scanned_total 0.0" in before
    await lines.put("hello everyone")
    await lines.put("honestly I want to kill myself")
    await lines.put("!circle list")

    async def moved() -> bool:
        _, text = await _fetch(port, "/metrics")
        return 'peer_circles_commands_total{command="circle list"} 1.0' in text

    await _until(moved)
    _, after = await _fetch(port, "/metrics")
    assert "peer_circles_messages_scanned_total 2.0" in after
    assert 'peer_circles_detections_total{tier="concern"} 1.0' in after
    assert 'peer_circles_deliveries_total{kind="alert"} 1.0' in after
    assert "peer_circles_alerts_pending 0.0" in after  # refreshed by the delivery loop, not on every drain
    assert "kill myself" not in after

    # A part that stops makes the bot unready, and says which.
    app._scheduler_task.cancel()  # type: ignore[union-attr]

    async def unready() -> bool:
        status, _ = await _fetch(port, "/healthz")
        return status == 503

    await _until(unready)
    _, body = await _fetch(port, "/healthz")
    assert json.loads(body)["parts"]["scheduler"] is False
    await lines.put(None)
    assert await asyncio.wait_for(running, 30) == 0
