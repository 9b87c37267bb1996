"""The real discord.py HTTP client against a small Discord REST emulator on 127.0.0.1: the REST base URL setting,
a refused token, and a long rate limit handed to the outbox with Discord's retry-after."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import pytest
from aiohttp import web

from bot.adapters.discord import create_adapter
from bot.app import Application
from bot.delivery.outbox import Delivery
from bot.errors import PlatformCredentialsError, PlatformError
from bot.model import Platform
from tests.discord.world import TOKEN, settings_for

BOT_USER = {"id": "900000000000000001", "username": "peer-circles", "discriminator": "0", "avatar": None, "bot": True}


def _json(payload: Any, status: int = 200, **headers: str) -> web.Response:
    # Exactly application/json: discord.py compares the header, and a charset suffix breaks it.
    return web.Response(
        body=json.dumps(payload).encode(), status=status, headers={"Content-Type": "application/json", **headers}
    )


@pytest.fixture
async def emulator(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)  # restored after the test
    state: dict[str, Any] = {"token_ok": True, "posts": 0}

    async def me(request: web.Request) -> web.Response:
        if not state["token_ok"]:
            return _json({"message": "401: Unauthorized", "code": 0}, status=401)
        return _json(BOT_USER)

    async def post(request: web.Request) -> web.Response:
        state["posts"] += 1
        limited = {"message": "You are being rate limited.", "retry_after": 42.0, "global": False}
        return _json(limited, status=429, **{"Retry-After": "42", "Via": "1.1 google"})

    app = web.Application()
    app.router.add_get("/api/v10/users/@me", me)
    app.router.add_post("/api/v10/channels/{channel}/messages", post)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/api/v10", state
    finally:
        await runner.cleanup()


def _app(tmp_path: Path, base: str) -> Application:
    url = f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}"
    return Application(settings_for(tmp_path, url, api_base_url=base, gateway_url="ws://127.0.0.1:9/"), clock=None)


async def test_a_refused_token_is_a_credentials_error(tmp_path: Path, emulator: tuple[str, dict[str, Any]]) -> None:
    base, state = emulator
    state["token_ok"] = False
    app = _app(tmp_path, base)
    adapter = create_adapter(app)
    with pytest.raises(PlatformCredentialsError):
        await asyncio.wait_for(adapter.run(asyncio.Event()), timeout=10)
    assert base == discord.http.Route.BASE
    await app.database.close()


async def test_a_long_rate_limit_becomes_a_retry_with_discords_advice(
    tmp_path: Path, emulator: tuple[str, dict[str, Any]]
) -> None:
    base, state = emulator
    app = _app(tmp_path, base)
    adapter = create_adapter(app)
    from bot.adapters.discord import apply_endpoints

    apply_endpoints(app.settings.platforms.discord)
    await adapter.client.http.static_login(TOKEN)
    try:
        sender = adapter.bridge.sender
        assert sender is not None
        with pytest.raises(PlatformError) as raised:
            await sender.send(Delivery("alert:1:first", Platform.DISCORD, "room", "123456789012345678", "alert"))
        assert raised.value.retry_after == pytest.approx(42.0)
        assert state["posts"] == 1
    finally:
        await adapter.client.http.close()
        await app.database.close()
