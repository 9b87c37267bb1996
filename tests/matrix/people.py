"""People on the test homeserver: separate nio clients that write to the bot and read what it says."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from nio import AsyncClient, AsyncClientConfig, RoomCreateResponse, RoomPreset, RoomSendResponse, SyncResponse

from bot.adapters.base import Adapter
from bot.adapters.matrix import MatrixAdapter
from bot.adapters.matrix.client import maintain_keys
from bot.app import Application
from bot.clock import Clock
from bot.config import Settings
from tests.matrix.synapse import Account

WAIT = 10.0


@dataclass
class Seen:
    """A message someone saw: where, from whom, and its content."""

    room_id: str
    sender: str
    event_id: str
    content: dict[str, Any]

    @property
    def body(self) -> str:
        return str(self.content.get("body", ""))


class Person:
    """A Matrix user driven by the test: writes, joins, and waits (bounded) for what arrives."""

    def __init__(self, url: str, account: Account, client: AsyncClient | None = None) -> None:
        self.user_id = account.user_id
        self.client = client or AsyncClient(
            url, account.user_id, config=AsyncClientConfig(encryption_enabled=False, store_sync_tokens=False)
        )
        self.client.restore_login(account.user_id, self.client.device_id or "TESTDEVICE", account.access_token)
        self.seen: list[Seen] = []
        self._read = 0

    async def start(self) -> None:
        """Skip history: only what arrives from now on is seen."""
        answer = await self.client.sync(timeout=0, full_state=True)
        assert isinstance(answer, SyncResponse), answer

    async def close(self) -> None:
        await self.client.close()

    async def create_room(self, name: str, invite: list[str], **kwargs: Any) -> str:
        answer = await self.client.room_create(name=name, invite=invite, preset=RoomPreset.private_chat, **kwargs)
        assert isinstance(answer, RoomCreateResponse), answer
        return str(answer.room_id)

    async def join(self, room_id: str) -> None:
        await self.client.join(room_id)

    async def send(self, room_id: str, event_type: str, content: dict[str, Any]) -> str:
        """Send an event; a connection cut by a homeserver restart is tried again (three times at most)."""
        for attempt in range(3):
            try:
                answer = await self.client.room_send(room_id, event_type, content, ignore_unverified_devices=True)
                break
            except aiohttp.ClientError:
                if attempt == 2:
                    raise
                await asyncio.sleep(0.5)
        assert isinstance(answer, RoomSendResponse), answer
        return str(answer.event_id)

    async def say(self, room_id: str, text: str, **extra: Any) -> str:
        return await self.send(room_id, "m.room.message", {"msgtype": "m.text", "body": text, **extra})

    async def react(self, room_id: str, event_id: str, key: str) -> str:
        relation = {"rel_type": "m.annotation", "event_id": event_id, "key": key}
        return await self.send(room_id, "m.reaction", {"m.relates_to": relation})

    async def _sync_once(self, timeout_ms: int) -> None:
        try:
            answer = await self.client.sync(timeout=timeout_ms)
        except aiohttp.ClientError:  # the homeserver is restarting: the caller's deadline bounds the retries
            await asyncio.sleep(0.2)
            return
        assert isinstance(answer, SyncResponse), answer
        if self.client.olm is not None:
            await maintain_keys(self.client)
        for room_id in answer.rooms.invite:
            await self.client.join(room_id)  # the bot's DMs and session rooms
        for room_id, info in answer.rooms.join.items():
            for event in info.timeline.events:
                source = event.source
                decrypted = getattr(event, "decrypted", False)
                if decrypted:  # an encrypted message nio decrypted: its source is the clear event
                    source = {**source, "type": "m.room.message", "sender": event.sender, "event_id": event.event_id}
                if source.get("type") == "m.room.message" and source.get("sender") != self.user_id:
                    self.seen.append(Seen(room_id, source["sender"], source["event_id"], source.get("content", {})))

    async def expect(self, match: Callable[[Seen], bool] | str, *, within: float = WAIT) -> Seen:
        """The next new message that matches (a predicate, or text in the body); fails after ``timeout``."""
        test = (lambda seen: match in seen.body) if isinstance(match, str) else match
        deadline = time.monotonic() + within
        while True:
            for index in range(self._read, len(self.seen)):
                if test(self.seen[index]):
                    self._read = index + 1
                    return self.seen[index]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                bodies = [s.body[:80] for s in self.seen[self._read :]]
                raise AssertionError(f"{self.user_id} did not see {match!r} within {within} s; saw {bodies}")
            await self._sync_once(int(min(remaining, 1.0) * 1000))

    async def nothing(self, match: Callable[[Seen], bool] | str, *, within: float = 1.5) -> None:
        """Nothing matching arrives within ``within`` seconds (for what must not happen)."""
        try:
            seen = await self.expect(match, within=within)
        except AssertionError:
            return
        raise AssertionError(f"{self.user_id} unexpectedly saw {seen.body!r}")


def matrix_settings(
    data_dir: Path, url: str, bot: Account, *, rooms: list[str], moderators: str, on_call: str | None = None
) -> Settings:
    """A configuration with one Matrix community made of ``rooms``, alerts to ``moderators``."""
    return Settings.model_validate(
        {
            "data_dir": str(data_dir),
            "platforms": {
                "matrix": {
                    "enabled": True,
                    "homeserver": url,
                    "user_id": bot.user_id,
                    "access_token": bot.access_token,
                    "device_id": "PEERCIRCLESTEST",
                }
            },
            "communities": [
                {
                    "id": "test",
                    "platform": "matrix",
                    "name": "Test community",
                    "rooms": rooms,
                    "country": "GB",
                    "moderators": {"destination": moderators, **({"on_call_role": on_call} if on_call else {})},
                }
            ],
        }
    )


@asynccontextmanager
async def running(
    settings: Settings,
    *,
    within: float = WAIT,
    clock: Clock | None = None,
    prepare: Callable[[Application], None] | None = None,
    **adapter_options: Any,
) -> AsyncIterator[Application]:
    """The whole application (engine, outbox, Matrix adapter) running until the block ends; ``adapter_options`` are
    passed to the :class:`MatrixAdapter` (such as ``timeline_limit``), ``clock`` to the application, and
    ``prepare`` may adjust the application before it starts."""
    app = Application(settings, clock=clock)
    if prepare is not None:
        prepare(app)
    if adapter_options:

        def build() -> list[Adapter]:
            adapter = MatrixAdapter(
                app.settings, app.engine, app.messages, app.database, app.deliverer, **adapter_options
            )
            return [adapter]

        app.build_adapters = build  # type: ignore[method-assign]
    task = asyncio.create_task(app.run())
    deadline = time.monotonic() + within
    while not (app.adapters and all(adapter.ready for adapter in app.adapters)):
        if task.done():
            raise AssertionError(f"the application ended early with {task.result()}")
        if time.monotonic() > deadline:
            raise AssertionError("the Matrix adapter did not become ready")
        await asyncio.sleep(0.05)  # polling readiness
    try:
        yield app
    finally:
        app.request_stop()
        assert await asyncio.wait_for(task, timeout=20) == 0
