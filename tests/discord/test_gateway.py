"""The real adapter, through the application, against the local emulator's REST API and gateway: it connects and
becomes ready, syncs its commands to the server, reconnects and RESUMEs when told to (op 7), and after the resume a
crisis message arriving over the gateway reaches the moderators' channel exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import discord
import pytest
from discord.gateway import DiscordWebSocket

from bot.adapters.discord import DiscordAdapter, create_adapter
from bot.app import Application
from bot.clock import ManualClock
from tests.discord.emulator import (
    APPLICATION_ID,
    GENERAL_ID,
    INTENT_MESSAGE_CONTENT,
    MOD_ROLE_ID,
    MODERATORS_ID,
    SESSION_ID,
    Emulator,
    member,
    running_emulator,
    until,
    user,
)
from tests.discord.world import GUILD_ID, TOKEN, settings_for

URGENT = "I have the pills ready and I'm doing it tonight"
AMAL = user("500000000000000002", "amal")


@pytest.fixture
async def emulator(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Emulator]:
    # The adapter points discord.py's class-level endpoints at the emulator; put them back after the test.
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", DiscordWebSocket.DEFAULT_GATEWAY)
    async with running_emulator() as running:
        running.members.append(member(AMAL))
        yield running


@pytest.fixture
async def connected(
    tmp_path: Path, sqlite_template: Path, emulator: Emulator
) -> AsyncIterator[tuple[Application, DiscordAdapter]]:
    """The application with its Discord adapter and outbox deliverer running against the emulator."""
    database = tmp_path / "peer-circles.db"
    shutil.copy(sqlite_template, database)
    settings = settings_for(
        tmp_path,
        f"sqlite+aiosqlite:///{database}",
        community={
            "moderators": {"destination": MODERATORS_ID},
            "roles": {"moderator": [MOD_ROLE_ID]},
        },
        api_base_url=emulator.base,
        gateway_url=emulator.gateway,
        message_content_intent=True,
    )
    app = Application(settings, clock=ManualClock())
    await app.prepare()
    adapter = create_adapter(app)
    adapter.client._connection.guild_ready_timeout = 0.05  # the default waits 2 s for more servers
    stop = asyncio.Event()
    running = asyncio.ensure_future(adapter.run(stop))
    delivering = asyncio.ensure_future(app.deliverer.run(stop, poll=0.1))
    try:
        await until(lambda: adapter.ready or running.done(), what="READY")
        if running.done():
            running.result()  # raises what stopped the adapter
        yield app, adapter
    finally:
        stop.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(running, delivering, return_exceptions=True), timeout=10)
        await app.database.close()


async def test_connects_syncs_resumes_and_alerts_once(
    connected: tuple[Application, DiscordAdapter], emulator: Emulator
) -> None:
    app, adapter = connected
    client = adapter.client

    # Connected: IDENTIFY with the token and the message content intent, READY, then the server's GUILD_CREATE.
    assert adapter.ready
    (identify,) = emulator.ops(2)
    assert identify["d"]["token"] == TOKEN
    assert identify["d"]["intents"] & INTENT_MESSAGE_CONTENT
    guild = client.get_guild(GUILD_ID)
    assert guild is not None
    assert not guild.unavailable
    assert {channel.name for channel in guild.text_channels} == {"general", "moderators"}
    assert guild.member_count == len(emulator.members) == 2
    assert client.user is not None
    assert client.user.id == int(APPLICATION_ID) - 1

    # Commands were synced to the configured server on start.
    synced = [
        body
        for method, path, body in emulator.requests
        if method == "PUT" and path == f"/applications/{APPLICATION_ID}/guilds/{GUILD_ID}/commands"
    ]
    assert len(synced) == 1
    assert "circle" in {command["name"] for command in synced[0]}
    assert adapter.bridge.synced == [str(GUILD_ID)]

    # Heartbeats are answered.
    await emulator.request_heartbeat()
    await until(lambda: emulator.heartbeat_acks >= 1, what="a heartbeat")

    # Op 7: the client drops the connection and RESUMEs the same session on a new one.
    sequence = emulator.sequence
    resumed = asyncio.ensure_future(client.wait_for("resumed", timeout=10))
    await emulator.request_reconnect()
    await resumed
    assert emulator.connections == 2
    (resume,) = emulator.ops(6)
    assert resume["d"] == {"token": TOKEN, "session_id": SESSION_ID, "seq": sequence}
    assert len(emulator.ops(2)) == 1  # no second IDENTIFY
    assert adapter.ready

    # After the resume, a crisis message over the gateway reaches the moderators exactly once.
    await emulator.dispatch("MESSAGE_CREATE", emulator.message(AMAL, GENERAL_ID, URGENT))
    await until(lambda: len(emulator.posts_to(MODERATORS_ID)) >= 1, what="the alert")
    await app.deliverer.drain()
    await asyncio.sleep(0.2)  # a few more deliverer polls: nothing may be sent twice
    alerts = emulator.posts_to(MODERATORS_ID)
    assert len(alerts) == 1
    assert "URGENT" in alerts[0]["content"]
    labels = [button["label"] for row in alerts[0]["components"] for button in row["components"]]
    assert labels == ["Claim", "Resolve"]
    dm_channels = [body for method, path, body in emulator.requests if path == "/users/@me/channels"]
    assert dm_channels == [{"recipient_id": int(AMAL["id"])}]  # the crisis reply went to the member by DM
