"""The real adapter, through the application, against the local emulator's REST API and gateway: it connects and
becomes ready, syncs its commands to the server, reconnects and RESUMEs when told to (op 7), and after the resume a
crisis message arriving over the gateway reaches the moderators' channel exactly once.

With a circle session open in its private thread, the gateway is then dropped (abruptly, or with close code 4000 or
1001): the bot reports itself not ready while it is away, RESUMEs, gets what it missed replayed, and carries on; when
Discord refuses the RESUME (op 9) it IDENTIFYs again and reads back what was written meanwhile; when the gateway
refuses connections for a while it backs off, logs, and recovers; a token revoked while running stops it with a
credentials error. discord.py's own waits are recorded and skipped (``Clockwork``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import discord
import pytest
from discord.gateway import DiscordWebSocket
from sqlalchemy import select

from bot.adapters.discord import DiscordAdapter
from bot.adapters.discord.client import GatewayWatch
from bot.adapters.discord.render import nonce_for
from bot.app import Application
from bot.clock import ManualClock
from bot.errors import PlatformCredentialsError
from bot.storage.models import Member, OutboxItem
from bot.storage.schedule_models import Attendance
from tests.discord.emulator import (
    APPLICATION_ID,
    GENERAL_ID,
    INTENT_MESSAGE_CONTENT,
    MOD_ROLE_ID,
    MODERATORS_ID,
    SESSION_ID,
    Clockwork,
    Emulator,
    member,
    running_app,
    running_emulator,
    until,
    user,
)
from tests.discord.world import GUILD_ID, TOKEN

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
    async with running_app(tmp_path, sqlite_template, emulator) as running:
        yield running


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
    assert {channel.name for channel in guild.text_channels} == {"general", "moderators", "moderators-fallback"}
    assert guild.member_count == len(emulator.members) + 1 == 3  # Amal, the owner and the bot
    assert guild.me is not None
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


# -- dropping the gateway mid-session -------------------------------------------------------------------------------

CIRCLE = "Evening circle"
MONA = user("500000000000000003", "mona")
SAM = user("500000000000000004", "sam")
LINA = user("500000000000000005", "lina")
GREETING = "hello everyone, glad to be here"


@pytest.fixture
async def in_session(
    tmp_path: Path, sqlite_template: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Session]:
    """A circle with a session open in its private thread, run over the gateway by a moderator (Mona); Amal, Sam
    and Lina are members. discord.py's own waits (reconnection backoff, the 5 s before IDENTIFYing again) are
    recorded and skipped."""
    clockwork = Clockwork()
    monkeypatch.setattr(discord.client, "asyncio", clockwork)
    emulator.members.extend([member(MONA, MOD_ROLE_ID), member(SAM), member(LINA)])
    async with running_app(tmp_path, sqlite_template, emulator) as (app, adapter):
        session = Session(app, adapter, emulator, clockwork)
        await session.command(MONA, "circle create", name=CIRCLE)
        await session.command(MONA, "circle schedule-set", circle=CIRCLE, rule="weekly tue 19:00 Europe/Berlin 90m")
        for person in (MONA, AMAL, SAM, LINA):
            await session.command(person, "circle join", circle=CIRCLE)
        clock = app.clock
        assert isinstance(clock, ManualClock)
        clock.advance(timedelta(hours=30))  # Tuesday 19:00 in Berlin
        await app.scheduler.run_due()
        await session.command(MONA, "session open", circle=CIRCLE)  # answered first, then the thread is opened
        everyone = {MONA["id"], AMAL["id"], SAM["id"], LINA["id"]}
        await until(
            lambda: any(set(added) == everyone for added in emulator.thread_members.values()),
            what="the session's thread with its members",
        )
        (thread,) = emulator.threads.values()
        session.thread = thread["id"]
        assert thread["type"] == 12  # a private thread
        assert thread["name"].startswith(CIRCLE)
        assert thread["parent_id"] == GENERAL_ID
        await until(lambda: adapter.client.get_channel(int(session.thread)) is not None, what="THREAD_CREATE")
        yield session


class Session:
    """The running bot with a session open, and what a test does with it."""

    def __init__(self, app: Application, adapter: DiscordAdapter, emulator: Emulator, clockwork: Clockwork) -> None:
        self.app = app
        self.adapter = adapter
        self.emulator = emulator
        self.clockwork = clockwork
        self.thread = ""

    async def command(self, who: dict[str, Any], command: str, **options: str | int) -> str:
        """Run a slash command as ``who`` in the general channel and return the first answer."""
        roles = (MOD_ROLE_ID,) if who is MONA else ()
        interaction = await self.emulator.interact(who, GENERAL_ID, command, *roles, **options)
        await until(lambda: bool(self.emulator.replies_to(interaction)), what=f"the answer to /{command}")
        return self.emulator.replies_to(interaction)[0]

    async def crisis_replies(self, person: dict[str, Any]) -> list[dict[str, Any]]:
        """The private replies to ``person``'s crisis messages that reached their DMs (told apart from the session's
        other direct messages by the nonce of their outbox items)."""
        async with self.app.database.transaction() as session:
            keys = await session.scalars(
                select(OutboxItem.key).where(
                    OutboxItem.kind == "dm", OutboxItem.escalation_id.is_not(None), OutboxItem.target == person["id"]
                )
            )
            nonces = {nonce_for(key) for key in keys}
        channel = self.emulator.dm_channel(person["id"])
        dms = self.emulator.messages_in(channel) if channel is not None else []
        return [message for message in dms if message["nonce"] in nonces]

    async def attended(self, person: dict[str, Any]) -> bool:
        async with self.app.database.transaction() as session:
            row = await session.scalar(
                select(Attendance.attended)
                .join(Member, Member.id == Attendance.member_id)
                .where(Member.native_id == person["id"])
            )
        return bool(row)

    def alerts(self) -> list[dict[str, Any]]:
        """The crisis alerts in the moderators' channel (which also gets the session's notices)."""
        return [message for message in self.emulator.messages_in(MODERATORS_ID) if "URGENT" in message["content"]]

    async def alerted_once(self, before: int) -> None:
        """One more crisis alert reaches the moderators' channel, and nothing after it is sent twice."""
        await until(lambda: len(self.alerts()) > before, what="the alert")
        await self.app.deliverer.drain()
        await asyncio.sleep(0.3)  # three more deliverer polls: nothing may be sent twice
        assert len(self.alerts()) == before + 1

    async def close_session(self) -> None:
        """The session is still open after the outage, and closing it archives and locks its thread."""
        thread = self.emulator.threads[self.thread]
        assert thread["thread_metadata"] == {**thread["thread_metadata"], "archived": False, "locked": False}
        closed = await self.command(MONA, "session close", circle=CIRCLE)
        assert CIRCLE in closed
        await until(lambda: thread["thread_metadata"]["archived"], what="the thread archived")
        assert thread["thread_metadata"]["locked"] is True
        patches = [
            body
            for method, path, body in self.emulator.requests
            if (method, path) == ("PATCH", f"/channels/{self.thread}")
        ]
        assert patches == [{"archived": True, "locked": True}]

    async def drop(self, code: int | None) -> None:
        """Drop the connection and hold the client's reconnection until the test opens the gate: down, not ready."""
        self.emulator.hold_connections()
        await self.emulator.drop(code)
        await until(lambda: not self.adapter.ready, what="the adapter to report the outage")
        assert (await self.app.health())["adapter:discord"] is False
        assert self.adapter.last_error is not None
        assert "gateway connection lost" in self.adapter.last_error
        status = "\n".join(await self.app.status_lines())
        assert "gateway connection lost" in status


@pytest.mark.parametrize("code", [None, 4000, 1001], ids=["abort-1006", "close-4000", "close-1001"])
async def test_a_dropped_gateway_resumes_and_replays_what_was_missed(
    in_session: Session, emulator: Emulator, code: int | None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    session, app, adapter = in_session, in_session.app, in_session.adapter
    assert adapter.ready
    sequence = emulator.sequence
    alerts_before = len(session.alerts())
    assert alerts_before == 0

    await session.drop(code)
    # While the bot is away, Discord keeps the session's events: a crisis message, a member speaking in the session
    # thread, and a slash command.
    await emulator.dispatch("MESSAGE_CREATE", emulator.message(AMAL, GENERAL_ID, URGENT))
    await emulator.dispatch("MESSAGE_CREATE", emulator.message(SAM, session.thread, GREETING))
    asked = await emulator.interact(LINA, GENERAL_ID, "circle list")
    assert emulator.connections == 1
    assert not await session.attended(SAM)

    resumed = asyncio.ensure_future(adapter.client.wait_for("resumed", timeout=10))
    emulator.open_connections()
    await resumed
    await until(lambda: adapter.ready, what="ready again")
    assert (await app.health())["adapter:discord"] is True
    assert adapter.last_error is None
    # RESUMEd the same session from the last event it had seen; no second IDENTIFY.
    assert emulator.connections == 2
    (resume,) = emulator.ops(6)
    assert resume["d"] == {"token": TOKEN, "session_id": SESSION_ID, "seq": sequence}
    assert len(emulator.ops(2)) == 1
    # Nothing sent during the outage was lost: the replayed crisis message is alerted once (and its author answered
    # privately once), the member who spoke in the thread is marked present, the command is answered.
    await session.alerted_once(alerts_before)
    assert len(await session.crisis_replies(AMAL)) == 1
    assert await session.attended(SAM)
    assert not [path for method, path, _ in emulator.requests if method == "GET" and path.endswith("/messages")]
    await until(lambda: bool(emulator.replies_to(asked)), what="the answer to /circle list")
    assert CIRCLE in emulator.replies_to(asked)[0]

    # After the reconnection a new crisis message is alerted exactly once.
    crisis = emulator.message(LINA, GENERAL_ID, URGENT)
    await emulator.dispatch("MESSAGE_CREATE", crisis)
    await session.alerted_once(alerts_before + 1)
    # Discord delivers events at least once: the same message arriving again is not alerted again.
    await emulator.dispatch("MESSAGE_CREATE", crisis)
    await asyncio.sleep(0.3)  # three deliverer polls
    assert len(session.alerts()) == alerts_before + 2
    assert len(await session.crisis_replies(LINA)) == 1
    await session.close_session()
    assert adapter.ready
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.adapters.discord.client"]
    assert lines[0] == "Discord gateway connection lost; reconnecting and resuming"
    assert lines[-1].startswith("Discord gateway resumed after ")
    assert lines[-1].endswith("s down (0 failed attempt(s))")
    (recovered,) = [r for r in caplog.records if r.getMessage() == lines[-1]]
    assert recovered.levelno == logging.INFO  # a resume at the first try is routine


async def test_an_invalidated_session_identifies_again_reads_back_what_it_missed_and_keeps_the_circle_session(
    in_session: Session, emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    session, adapter = in_session, in_session.adapter
    seen = emulator.message(LINA, GENERAL_ID, URGENT)  # before the outage: alerted as usual
    await emulator.dispatch("MESSAGE_CREATE", seen)
    await session.alerted_once(0)
    await session.drop(None)
    emulator.invalidate_resumes = 1  # Discord answers the RESUME with op 9: the session cannot be resumed
    # Written during the outage; Discord drops the invalidated session's events, so the gateway never replays it.
    missed = emulator.message(AMAL, session.thread, URGENT)
    await emulator.dispatch("MESSAGE_CREATE", missed)
    ready = asyncio.ensure_future(adapter.client.wait_for("ready", timeout=10))
    emulator.open_connections()
    await ready
    await until(lambda: adapter.ready, what="ready again")
    # RESUME refused, then a fresh IDENTIFY on a new connection after discord.py's 5 s wait, and a new session.
    assert len(emulator.ops(6)) == 1
    assert len(emulator.ops(2)) == 2
    assert emulator.connections == 3
    assert emulator.session_id != SESSION_ID
    assert all(event["d"].get("id") != missed["id"] for event in emulator.history)
    assert 5.0 in session.clockwork.sleeps
    assert adapter.last_error is None
    # The bot read back what was written while it was away, in every channel and active thread it may read: the
    # crisis written during the outage is alerted once; the one seen before it, read back too, is not alerted again.
    await session.alerted_once(1)
    assert len(await session.crisis_replies(AMAL)) == 1
    assert len(await session.crisis_replies(LINA)) == 1
    reads = {path for method, path, _ in emulator.requests if method == "GET" and path.endswith("/messages")}
    assert reads >= {f"/channels/{GENERAL_ID}/messages", f"/channels/{session.thread}/messages"}
    assert any(r.getMessage().startswith("read back ") for r in caplog.records)
    # discord.py cleared its caches on READY; the session's thread came back with the server (GUILD_CREATE), and the
    # bot still knows it as the circle's session: a member speaking there is marked present.
    await until(lambda: adapter.client.get_channel(int(session.thread)) is not None, what="the thread again")
    await emulator.dispatch("MESSAGE_CREATE", emulator.message(SAM, session.thread, GREETING))
    await eventually_attended(session, SAM)
    # A crisis message on the new session is alerted exactly once, and the session closes as usual.
    await emulator.dispatch("MESSAGE_CREATE", emulator.message(MONA, session.thread, URGENT))
    await session.alerted_once(2)
    await session.close_session()
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.adapters.discord.client"]
    assert any(line.startswith("Discord gateway reconnected with a new session after ") for line in lines)


async def test_a_gateway_refusing_connections_is_retried_with_backoff_until_it_answers(
    in_session: Session, emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    session, app, adapter = in_session, in_session.app, in_session.adapter
    attempts = emulator.attempts
    await session.drop(None)
    emulator.refuse_connections = 4  # Discord's gateway answers 503 four times
    await emulator.dispatch("MESSAGE_CREATE", emulator.message(AMAL, GENERAL_ID, URGENT))
    resumed = asyncio.ensure_future(adapter.client.wait_for("resumed", timeout=10))
    emulator.open_connections()
    await resumed
    await until(lambda: adapter.ready, what="ready again")
    # Four refusals, then the fifth attempt: no crash, no tight loop. discord.py waited between attempts with its
    # exponential backoff (random, at most 2, 4, 8, 16 s), and each failure was logged.
    assert emulator.attempts - attempts == 5
    assert emulator.connections == 2
    waits = session.clockwork.waits
    assert len(waits) == 4
    assert all(0 < wait <= 2 ** (index + 1) for index, wait in enumerate(waits))
    assert emulator.ops(6)[-1]["d"]["session_id"] == SESSION_ID  # resumed, not a new session
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.adapters.discord.client"]
    assert lines[0] == "Discord gateway connection lost; reconnecting and resuming"
    unreachable = [line for line in lines if line.startswith("Discord gateway still unreachable")]
    assert [line.split(": ")[1].split(" failed")[0] for line in unreachable] == ["1", "2", "3", "4"]
    assert lines[-1].endswith("s down (4 failed attempt(s))")
    watched = [r for r in caplog.records if r.name == "bot.adapters.discord.client"]
    assert all(r.levelno == logging.WARNING for r in watched)  # an outage and its end are warnings
    reconnects = [
        r for r in caplog.records if r.name == "discord.client" and "Attempting a reconnect" in r.getMessage()
    ]
    assert len(reconnects) == 4
    # The crisis message sent while the gateway was away is replayed and alerted once; the session closes.
    await session.alerted_once(0)
    assert (await app.health())["adapter:discord"] is True
    await session.close_session()


async def eventually_attended(session: Session, person: dict[str, Any]) -> None:
    for _ in range(250):
        if await session.attended(person):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{person['username']} was not marked present")


def test_the_gateway_watch_counts_each_shard_down_until_it_is_back(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    now = [100.0]
    watch = GatewayWatch(clock=lambda: now[0])
    assert watch.connected
    assert watch.last_error is None
    watch.lost(0)
    watch.lost(1)
    now[0] += 3
    watch.lost(1)  # shard 1's reconnection failed once
    assert not watch.connected
    watch.back(0, "resumed")
    assert not watch.connected  # shard 1 is still down
    assert watch.last_error == "gateway connection lost (shard 1); reconnecting"
    now[0] += 2
    watch.back(1, "reconnected with a new session")
    assert watch.connected
    assert watch.last_error is None
    watch.back(0, "resumed")  # a READY or RESUMED with nothing down (the first READY) says nothing
    assert [r.getMessage() for r in caplog.records] == [
        "Discord gateway connection lost (shard 0); reconnecting and resuming",
        "Discord gateway connection lost (shard 1); reconnecting and resuming",
        "Discord gateway still unreachable (shard 1): 1 failed attempt(s) in 3.0 s; retrying with backoff",
        "Discord gateway resumed (shard 0) after 3.0 s down (0 failed attempt(s))",
        "Discord gateway reconnected with a new session (shard 1) after 5.0 s down (1 failed attempt(s))",
    ]


async def test_a_token_revoked_while_running_stops_the_adapter_with_a_credentials_error(
    tmp_path: Path, sqlite_template: Path, emulator: Emulator
) -> None:
    tasks: list[asyncio.Future[None]] = []
    async with running_app(tmp_path, sqlite_template, emulator, tasks=tasks) as (_, adapter):
        (running,) = tasks
        await emulator.drop(4004)  # Discord: authentication failed (the token was reset)
        await asyncio.wait({running}, timeout=10)
    with pytest.raises(PlatformCredentialsError, match="4004"):
        running.result()
    assert emulator.connections == 1  # not retried: a new token is needed
    assert not adapter.ready


async def test_a_crisis_written_while_the_bot_was_stopped_is_read_back_and_alerted_once_at_start(
    tmp_path: Path, sqlite_template: Path, emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot")

    def alerts_sent() -> list[Any]:
        return [m for m in emulator.messages_in(MODERATORS_ID) if "alert #" in m["content"]]

    # The very first start has nothing to read back; a crisis while it runs is alerted as usual.
    async with running_app(tmp_path, sqlite_template, emulator) as (app, _adapter):
        await emulator.dispatch("MESSAGE_CREATE", emulator.message(AMAL, GENERAL_ID, URGENT))
        await until(lambda: len(alerts_sent()) == 1, what="the first alert")
    assert not [path for method, path, _ in emulator.requests if method == "GET" and path.endswith("/messages")]

    # While the bot is stopped, another member writes crisis language; nobody is connected to replay it to.
    lina = user("500000000000000009", "lina")
    emulator.members.append(member(lina))
    await emulator.dispatch("MESSAGE_CREATE", emulator.message(lina, GENERAL_ID, URGENT))

    # Started again (the same database): it reads its channels back from when it stopped, and the crisis written
    # meanwhile is alerted exactly once; the one alerted before the stop, read back too, is not alerted again.
    async with running_app(tmp_path, sqlite_template, emulator) as (app, _adapter):
        await until(lambda: len(alerts_sent()) == 2, what="the alert for the message written while stopped")
        await app.deliverer.drain()
        await asyncio.sleep(0.3)  # a few more deliverer polls: nothing may be sent twice
        assert len(alerts_sent()) == 2
        assert "lina" in alerts_sent()[1]["content"]
        assert any(
            method == "GET" and path == f"/channels/{GENERAL_ID}/messages" for method, path, _ in emulator.requests
        )
        assert any("written while the bot was stopped" in r.getMessage() for r in caplog.records)
