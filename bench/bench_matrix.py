"""Load through a real Synapse: the whole bot (Matrix adapter, engine, outbox) against a homeserver on loopback,
with many members writing at once.

Prints, on SQLite (and PostgreSQL when PEER_CIRCLES_BENCH_POSTGRES_URL is set):
- how many messages per second the homeserver accepted from the members, and how many per second the bot scanned
  (with its lag behind the last message sent),
- command latency p50/p99: a member sends ``!circle info ...`` and waits until they see the bot's answer (their own
  send, the bot's sync, the engine, the bot's send, the member's sync),
- crisis message to moderator alert p50/p99: from the moment a member sends crisis language to the moment the
  moderator's client sees the alert in the moderators' room, while the chat keeps flowing.

Each database gets three runs of the members (LOADS): quiet, busy, and as fast as the homeserver accepts messages.
Each run also measures a baseline: one person's message reaching another person through the same homeserver, which
a command or an alert crosses twice.

Target (issue 8): crisis-to-alert p99 under 1 s through Synapse. On this machine Synapse itself (one Python
process sharing two cores with the bot and every simulated member) bounds the message rate; the engine-only figures
are in bench.bench_engine. The homeserver comes from tests/matrix/synapse.py (installed into its own virtualenv on
first use, about 25 s).

Run: python -m bench.bench_matrix [MESSAGES]
PEER_CIRCLES_BENCH_POSTGRES_URL must name a database of its own: the benchmark empties its public schema.
PEER_CIRCLES_BENCH_SYNAPSE_DB (for example postgresql://postgres@127.0.0.1:5432/synapse_bench) runs the homeserver on
PostgreSQL, as production homeservers run, instead of SQLite: the benchmark creates (and first drops) that database
and installs psycopg2 into the homeserver's virtualenv.
PEER_CIRCLES_BENCH_LOADS=quiet,busy runs only those loads.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from nio import (
    AsyncClient,
    AsyncClientConfig,
    RoomCreateResponse,
    RoomGetEventResponse,
    RoomPreset,
    RoomSendResponse,
    SyncResponse,
)
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.bench_engine import CHAT, CRISIS, pct
from bot.storage import Database
from tests.matrix.synapse import Account, Synapse, ensure_installed, free_port

SENDERS = 20
"""Members writing ordinary chat at once, each as fast as the homeserver accepts their messages."""
COMMANDERS = 10
"""Members running commands, each waiting for the answer before the next."""
CRISIS_EVERY = 1.0
"""Seconds between two crisis messages, each from a different member (one person's messages merge into one alert).
Far more than any real community sees: each one also opens a direct-message room for the private reply."""
CRISIS_PEOPLE = 60
PACED_RATE = 5.0
"""Messages a second in the paced run: a busy peer-support community's room."""
PACED_SECONDS = 60
_runs = itertools.count(1)


def client_for(url: str, account: Account) -> AsyncClient:
    client = AsyncClient(url, account.user_id, config=AsyncClientConfig(store_sync_tokens=False))
    client.restore_login(account.user_id, "BENCH", account.access_token)
    return client


async def send(client: AsyncClient, room_id: str, body: str) -> str:
    """Send ``body`` as ``client`` (waiting out the homeserver's rate limit); returns the event id."""
    content = {"msgtype": "m.text", "body": body}
    for _ in range(20):
        answer = await client.room_send(room_id, "m.room.message", content)
        if isinstance(answer, RoomSendResponse):
            return str(answer.event_id)
        await asyncio.sleep((answer.retry_after_ms or 200) / 1000)  # the homeserver's own rate limit
    raise RuntimeError(f"{client.user_id} could not send to {room_id}: {answer}")


@dataclass
class Watcher:
    """A person's client that records when each of the bot's messages arrived (only the bot's, by sync filter)."""

    client: AsyncClient
    bot: str
    rooms: list[str] | None
    """Only these rooms; ``None``: every room, joining the bot's invitations (its direct messages)."""
    arrived: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    stamps: list[tuple[float, float]] = field(default_factory=list)
    """For each arrival: (wall clock when it arrived, when the homeserver stored it), in seconds."""
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> None:
        answer = await self.client.sync(timeout=0, full_state=True)  # history is not counted
        assert isinstance(answer, SyncResponse), answer

    async def run(self, stop: asyncio.Event) -> None:
        flt = {
            "presence": {"types": []},
            "account_data": {"types": []},
            "room": {
                **({"rooms": self.rooms} if self.rooms is not None else {}),
                "state": {"lazy_load_members": True},
                "ephemeral": {"types": []},
                "timeline": {"senders": [self.bot], "types": ["m.room.message"], "limit": 100},
            },
        }
        while not stop.is_set():
            answer = await self.client.sync(timeout=1_000, sync_filter=flt)
            now, wall = time.perf_counter(), time.time()
            if not isinstance(answer, SyncResponse):
                continue
            for room_id in answer.rooms.invite:
                await self.client.join(room_id)
            for info in answer.rooms.join.values():
                for event in info.timeline.events:
                    self.arrived.append((now, event.source.get("content", {})))
                    self.stamps.append((wall, event.source.get("origin_server_ts", 0) / 1000))
            if answer.rooms.join:
                self.changed.set()


async def stages_of(
    client: AsyncClient, room_id: str, crisis: tuple[float, str], alert: tuple[float, float]
) -> tuple[float, float, float]:
    """A crisis alert's time in three parts: the member's send until the homeserver stored the message; stored
    until the bot's alert was stored; stored until the moderator's client had it."""
    sent_at, event_id = crisis
    answer = await client.room_get_event(room_id, event_id)
    stored = answer.event.server_timestamp / 1000 if isinstance(answer, RoomGetEventResponse) else sent_at
    arrived, alert_stored = alert
    return stored - sent_at, alert_stored - stored, arrived - alert_stored


class Metrics:
    """The running bot's /healthz and /metrics."""

    def __init__(self, base: str) -> None:
        self.base = base

    async def _get(self, path: str) -> tuple[int, str]:
        async with aiohttp.ClientSession() as session, session.get(self.base + path) as answer:
            return answer.status, await answer.text()

    async def wait_healthy(self, process: asyncio.subprocess.Process, within: float = 60) -> None:
        deadline = time.perf_counter() + within
        while time.perf_counter() < deadline:
            if process.returncode is not None:
                raise RuntimeError(f"the bot exited with {process.returncode}")
            with contextlib.suppress(aiohttp.ClientError):
                if (await self._get("/healthz"))[0] == 200:
                    return
            await asyncio.sleep(0.1)  # polling a readiness endpoint
        raise RuntimeError("the bot did not become healthy")

    async def alert_delivery(self) -> str:
        """The bot's own delivery-latency histogram for alerts, as "p50 <= x s, p99 <= y s" (bucket bounds)."""
        _, body = await self._get("/metrics")
        buckets: list[tuple[float, float]] = []
        for line in body.splitlines():
            if line.startswith('peer_circles_delivery_latency_seconds_bucket{kind="alert"'):
                bound = line.split('le="', 1)[1].split('"', 1)[0]
                buckets.append((float(bound), float(line.split()[-1])))
        if not buckets or buckets[-1][1] == 0:
            return ""
        total = buckets[-1][1]
        bound = {share: next(b for b, n in buckets if n >= share * total) for share in (0.5, 0.99)}
        return f"p50 <= {bound[0.5] * 1e3:g} ms, p99 <= {bound[0.99] * 1e3:g} ms ({total:.0f} alerts)"

    async def scanned(self) -> float:
        _, body = await self._get("/metrics")
        for line in body.splitlines():
            if line.startswith("peer_circles_messages_scanned_total "):
                return float(line.split()[1])
        return 0.0


@dataclass(frozen=True)
class Load:
    """What the members do in one run."""

    name: str
    rate: float | None
    """Chat messages a second in all; ``None``: as fast as the homeserver accepts them."""
    commanders: int
    crisis_every: float


LOADS = [
    Load("quiet: 1 message/s, 2 people running commands, a crisis every 5 s", 1.0, 2, 5.0),
    Load(
        f"busy: {PACED_RATE:g} messages/s, {COMMANDERS} people running commands, a crisis every {CRISIS_EVERY:g} s",
        PACED_RATE,
        COMMANDERS,
        CRISIS_EVERY,
    ),
    Load("saturated: as fast as Synapse takes messages", None, COMMANDERS, CRISIS_EVERY),
]


def chosen_loads() -> list[Load]:
    """The loads named in PEER_CIRCLES_BENCH_LOADS (for example ``quiet,busy``), else all of them."""
    names = os.environ.get("PEER_CIRCLES_BENCH_LOADS")
    if not names:
        return LOADS
    wanted = {name.strip() for name in names.split(",")}
    return [load for load in LOADS if load.name.split(":", 1)[0] in wanted]


async def run(synapse: Synapse, url: str | None, count: int, load: Load) -> None:
    """One bot against ``synapse``: ``count`` chat messages under ``load``."""
    rate = load.rate
    n = next(_runs)
    bot = synapse.register(f"benchbot{n}")
    moderator = synapse.register(f"benchmod{n}")
    senders = [synapse.register(f"chat{n}x{i}") for i in range(SENDERS)]
    commanders = [synapse.register(f"cmd{n}x{i}") for i in range(load.commanders)]
    crisis_people = [synapse.register(f"quiet{n}x{i}") for i in range(CRISIS_PEOPLE)]
    pinger, listener = synapse.register(f"ping{n}"), synapse.register(f"listen{n}")
    everyone = senders + commanders + crisis_people + [pinger, listener]
    mod_client = client_for(synapse.url, moderator)
    created = await mod_client.room_create(
        name="General",
        invite=[bot.user_id, *(a.user_id for a in everyone)],
        preset=RoomPreset.private_chat,
        room_version="11",
    )
    assert isinstance(created, RoomCreateResponse), created
    general = created.room_id
    created = await mod_client.room_create(
        name="Moderators", invite=[bot.user_id], preset=RoomPreset.private_chat, room_version="11"
    )
    assert isinstance(created, RoomCreateResponse), created
    mods = created.room_id
    clients = {account.user_id: client_for(synapse.url, account) for account in everyone}
    await asyncio.gather(*(client.join(general) for client in clients.values()))

    with tempfile.TemporaryDirectory() as folder:
        database_url = url or f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        if url:
            database = Database(url)
            async with database.engine.begin() as connection:
                await connection.execute(text("DROP SCHEMA public CASCADE"))
                await connection.execute(text("CREATE SCHEMA public"))
            await database.close()
        port = free_port()
        config = {
            "data_dir": folder,
            "database": {"url": database_url},
            "logging": {"level": os.environ.get("PEER_CIRCLES_BENCH_LOG_LEVEL", "WARNING")},
            "observability": {"enabled": True, "port": port},
            "platforms": {
                "console": {"enabled": False},
                "matrix": {
                    "enabled": True,
                    "homeserver": synapse.url,
                    "user_id": bot.user_id,
                    "access_token": bot.access_token,
                    "device_id": "PEERCIRCLESBENCH",
                },
            },
            "communities": [
                {
                    "id": "bench",
                    "platform": "matrix",
                    "name": "Bench",
                    "rooms": [general],
                    "country": "GB",
                    "moderators": {"destination": mods},
                }
            ],
        }
        config_path = Path(folder) / "config.yaml"
        config_path.write_text(json.dumps(config))  # JSON is YAML
        # The bot in its own process, as it is deployed: the simulated members do not share its event loop.
        bot_log = (Path(folder) / "bot.log").open("wb")  # closed once the bot has stopped
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "--config",
            str(config_path),
            stderr=bot_log,
        )
        metrics = Metrics(f"http://127.0.0.1:{port}")
        await metrics.wait_healthy(process)

        moderator_watch = Watcher(mod_client, bot.user_id, [mods])
        await moderator_watch.start()
        watchers = {
            user: Watcher(client_for(synapse.url, account), bot.user_id, None)
            for account in commanders
            for user in [account.user_id]
        }
        for watcher in watchers.values():
            await watcher.start()
        stop = asyncio.Event()
        # The baseline, in the same run: one person's message reaching another person through the same homeserver.
        listen_watch = Watcher(client_for(synapse.url, listener), pinger.user_id, [general])
        await listen_watch.start()
        watching = [asyncio.create_task(w.run(stop)) for w in [moderator_watch, listen_watch, *watchers.values()]]

        await send(mod_client, general, '!circle create "Evening circle"')
        before = await metrics.scanned()
        rng = random.Random(7)
        sent = 0
        crisis_sent: dict[str, float] = {}
        crisis_wall: dict[str, tuple[float, str]] = {}
        latencies: list[float] = []
        chatting = asyncio.Event()

        async def chat(account: Account) -> None:
            nonlocal sent
            client = clients[account.user_id]
            began = time.perf_counter()
            mine = 0
            while sent < count:
                sent += 1
                mine += 1
                await send(client, general, rng.choice(CHAT))
                if rate is not None:  # each member's share of the rate
                    await asyncio.sleep(max(0.0, mine * SENDERS / rate - (time.perf_counter() - began)))

        async def crises() -> None:
            for account in crisis_people:
                if chatting.is_set():
                    return
                crisis_sent[account.user_id] = time.perf_counter()
                wall = time.time()
                if os.environ.get("PEER_CIRCLES_BENCH_LOG_LEVEL"):
                    print(time.strftime("%H:%M:%S"), f"{time.time() % 1:.3f}", "crisis from", account.user_id)
                crisis_wall[account.user_id] = (wall, await send(clients[account.user_id], general, CRISIS))
                await asyncio.sleep(load.crisis_every)

        async def commands(account: Account) -> None:
            watcher = watchers[account.user_id]
            client = clients[account.user_id]
            while not chatting.is_set():
                seen = len(watcher.arrived)
                began = time.perf_counter()
                await send(client, general, '!circle info "Evening circle"')
                deadline = began + 30
                while time.perf_counter() < deadline:
                    # The answer is private: the first message from the bot after the command.
                    answered = [when for when, content in watcher.arrived[seen:] if "Evening circle" in content["body"]]
                    if answered:
                        latencies.append((answered[0] - began) * 1e3)
                        break
                    watcher.changed.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(watcher.changed.wait(), timeout=1)
                # A person reads the answer before the next command (and stays under the 30 commands a minute limit).
                await asyncio.sleep(rng.uniform(2.0, 3.0))

        started = time.perf_counter()
        pings: dict[str, float] = {}

        async def ping() -> None:
            for number in itertools.count():
                if chatting.is_set():
                    return
                pings[f"ping {number}"] = time.perf_counter()
                await send(clients[pinger.user_id], general, f"ping {number}")
                await asyncio.sleep(1.0)

        background = [asyncio.create_task(ping()), asyncio.create_task(crises())]
        background += [asyncio.create_task(commands(a)) for a in commanders]
        await asyncio.gather(*(chat(account) for account in senders))
        sending_took = time.perf_counter() - started
        chatting.set()
        await asyncio.gather(*background)
        # Wait (bounded) until the bot has scanned everything sent, and every alert has arrived.
        expected = before + sent + len(crisis_sent)
        deadline = time.perf_counter() + 120
        while time.perf_counter() < deadline:
            done_scanning = await metrics.scanned() >= expected
            alerts = [c for _, c in moderator_watch.arrived if "alert #" in str(c.get("body", ""))]
            if done_scanning and len(alerts) >= len(crisis_sent):
                break
            await asyncio.sleep(0.1)  # polling the bot's counters
        scanning_took = time.perf_counter() - started
        total_scanned = await metrics.scanned() - before
        alert_ms: list[float] = []
        stages: list[tuple[float, float, float]] = []
        for name, when in crisis_sent.items():
            first = next(
                (
                    index
                    for index, (_, c) in enumerate(moderator_watch.arrived)
                    if "alert #" in str(c.get("body", "")) and f"({name}) in" in c["body"]
                ),
                None,
            )
            if first is not None:
                alert_ms.append((moderator_watch.arrived[first][0] - when) * 1e3)
                stages.append(await stages_of(mod_client, general, crisis_wall[name], moderator_watch.stamps[first]))
        bot_share = await metrics.alert_delivery()
        stop.set()
        await asyncio.gather(*watching)
        process.terminate()
        code = await asyncio.wait_for(process.wait(), timeout=30)
        bot_log.close()
        if code != 0:
            print((Path(folder) / "bot.log").read_text()[-3000:])
        if os.environ.get("PEER_CIRCLES_BENCH_LOG_LEVEL"):
            (Path(tempfile.gettempdir()) / "bench-bot.log").write_bytes((Path(folder) / "bot.log").read_bytes())
    hop_ms = [
        (when - pings[content["body"]]) * 1e3 for when, content in listen_watch.arrived if content.get("body") in pings
    ]
    for client in [mod_client, listen_watch.client, *clients.values(), *(w.client for w in watchers.values())]:
        await client.close()

    print(f"\nBot on {'PostgreSQL' if url else 'SQLite'}; {load.name}")
    print(
        f"  members' messages accepted by Synapse: {sent / sending_took:,.0f} per second "
        f"({sent:,} from {SENDERS} members at once, {len(crisis_sent)} crisis messages from others)"
    )
    print(
        f"  scanned by the bot: {total_scanned:,.0f} messages in {scanning_took:.1f} s "
        f"({total_scanned / scanning_took:,.0f} per second; last one {scanning_took - sending_took:.2f} s "
        "after sending ended)"
    )
    if hop_ms:
        print(
            f"  baseline, one person's message to another through Synapse: p50 {statistics.median(hop_ms):.0f} ms, "
            f"p99 {pct(hop_ms, 0.99):.0f} ms ({len(hop_ms)} messages; a command or an alert crosses it twice)"
        )
    if latencies:
        print(
            f"  command round trip (!circle info, member to answer): p50 {statistics.median(latencies):.0f} ms, "
            f"p99 {pct(latencies, 0.99):.0f} ms ({len(latencies)} commands from {load.commanders} members)"
        )
    if alert_ms:
        print(
            f"  crisis message to the moderator's alert: p50 {statistics.median(alert_ms):.0f} ms, "
            f"p99 {pct(alert_ms, 0.99):.0f} ms, max {max(alert_ms):.0f} ms "
            f"({len(alert_ms)} of {len(crisis_sent)} alerts seen)   target p99 < 1,000 ms"
        )
    if stages:
        parts = zip(*stages, strict=True)
        names = ["member's send stored", "stored to the bot's alert stored", "alert stored to the moderator's client"]
        print("    where the time goes (homeserver timestamps):")
        for label, values in zip(names, parts, strict=True):
            ms = [v * 1e3 for v in values]
            print(f"      {label}: p50 {statistics.median(ms):.0f} ms, p99 {pct(ms, 0.99):.0f} ms")
    if bot_share:
        print(f"    inside the bot (alert decided to alert stored, its own histogram): {bot_share}")
    missing = len(crisis_sent) - len(alert_ms)
    if missing:
        print(f"  MISSING: {missing} alerts did not reach the moderators' room within the wait")


def ensure_psycopg2(python: Path) -> None:
    """Synapse's PostgreSQL driver, in the homeserver's own virtualenv."""
    if subprocess.run([str(python), "-c", "import psycopg2"], capture_output=True).returncode != 0:
        subprocess.run([str(python), "-m", "pip", "install", "-q", "psycopg2-binary"], check=True, timeout=600)


async def homeserver_on_postgres(synapse: Synapse, url: str) -> str:
    """Point ``synapse`` (not yet started) at a new PostgreSQL database; returns how it is described."""
    await asyncio.to_thread(ensure_psycopg2, synapse.python)
    target = make_url(url)
    admin = create_async_engine(
        target.set(drivername="postgresql+asyncpg", database="postgres"), isolation_level="AUTOCOMMIT"
    )
    async with admin.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        # Synapse refuses a database whose collation is not C.
        await connection.execute(
            text(
                f"CREATE DATABASE \"{target.database}\" ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
            )
        )
    await admin.dispose()
    config_path = synapse.directory / "homeserver.yaml"
    config = json.loads(config_path.read_text())
    config["database"] = {
        "name": "psycopg2",
        "args": {
            "user": target.username or "postgres",
            "database": target.database,
            "host": target.host or "127.0.0.1",
            "port": target.port or 5432,
            "cp_min": 2,
            "cp_max": 10,
            **({"password": target.password} if target.password else {}),
        },
    }
    config_path.write_text(json.dumps(config, indent=2))
    return f"PostgreSQL database {target.database}"


async def main_async(count: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        synapse = Synapse(ensure_installed(), Path(folder))
        homeserver_db = os.environ.get("PEER_CIRCLES_BENCH_SYNAPSE_DB")
        storage = await homeserver_on_postgres(synapse, homeserver_db) if homeserver_db else "SQLite"
        print(f"Synapse at {synapse.url} on {storage}")
        synapse.start()
        try:
            url = os.environ.get("PEER_CIRCLES_BENCH_POSTGRES_URL")
            for database in [None, url] if url else [None]:
                for load in chosen_loads():
                    paced = int(load.rate * PACED_SECONDS) if load.rate is not None else count
                    await run(synapse, database, paced, load)
        finally:
            synapse.stop()


def main() -> None:
    asyncio.run(main_async(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000))


if __name__ == "__main__":
    main()
