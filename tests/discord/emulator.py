"""A small Discord API emulator on 127.0.0.1: the REST routes the adapter uses and a gateway websocket (HELLO,
IDENTIFY -> READY with one unavailable guild, GUILD_CREATE, heartbeat ACKs, RECONNECT and RESUME).

Frames are sent as plain text, which discord.py reads without its zlib-stream decompressor."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.discord.world import GUILD_ID

BOT_USER = {"id": "900000000000000001", "username": "peer-circles", "discriminator": "0", "avatar": None, "bot": True}
APPLICATION_ID = "900000000000000002"
OWNER = {"id": "500000000000000001", "username": "owner", "discriminator": "0", "avatar": None}
GENERAL_ID = "300000000000000001"
MODERATORS_ID = "300000000000000002"
MOD_ROLE_ID = "400000000000000001"
SESSION_ID = "emulated-session-1"
TIMESTAMP = "2026-01-05T12:00:00+00:00"
POLL = 0.02

INTENT_MESSAGE_CONTENT = 1 << 15


def json_response(payload: Any, status: int = 200, **headers: str) -> web.Response:
    """JSON with a Content-Type of exactly application/json: discord.py compares the header, and a charset suffix
    (which aiohttp's json_response adds) breaks it."""
    return web.Response(
        body=json.dumps(payload).encode(), status=status, headers={"Content-Type": "application/json", **headers}
    )


def user(snowflake: str, name: str) -> dict[str, Any]:
    return {"id": snowflake, "username": name, "discriminator": "0", "avatar": None, "global_name": name}


def member(person: dict[str, Any], *roles: str) -> dict[str, Any]:
    return {"user": person, "roles": list(roles), "joined_at": TIMESTAMP, "deaf": False, "mute": False, "flags": 0}


def _channel(snowflake: str, name: str, position: int) -> dict[str, Any]:
    return {
        "id": snowflake,
        "type": 0,
        "name": name,
        "position": position,
        "guild_id": str(GUILD_ID),
        "permission_overwrites": [],
        "nsfw": False,
        "parent_id": None,
    }


def _role(snowflake: str, name: str, position: int, permissions: int = 0) -> dict[str, Any]:
    return {
        "id": snowflake,
        "name": name,
        "permissions": str(permissions),
        "position": position,
        "color": 0,
        "hoist": False,
        "managed": False,
        "mentionable": False,
        "flags": 0,
    }


@dataclass
class Emulator:
    """What the emulator received, and the means to push gateway events to the connected client."""

    base: str = ""
    gateway: str = ""
    members: list[dict[str, Any]] = field(default_factory=lambda: [member(OWNER)])
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    """(method, path, JSON body) of every REST request, in order."""
    received: list[dict[str, Any]] = field(default_factory=list)
    """Every gateway payload the client sent (IDENTIFY, RESUME, heartbeats), in order."""
    connections: int = 0
    heartbeat_acks: int = 0
    socket: web.WebSocketResponse | None = None
    sequence: int = 0
    ids: Callable[[], int] = field(default_factory=lambda: itertools.count(700000000000000001).__next__)

    def posts_to(self, channel_id: str) -> list[Any]:
        return [
            body
            for method, path, body in self.requests
            if method == "POST" and path == f"/channels/{channel_id}/messages"
        ]

    def ops(self, op: int) -> list[dict[str, Any]]:
        return [payload for payload in self.received if payload.get("op") == op]

    # -- gateway ---------------------------------------------------------------------------------------------

    async def send(self, payload: dict[str, Any]) -> None:
        assert self.socket is not None, "no client is connected"
        await self.socket.send_str(json.dumps(payload))

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        self.sequence += 1
        await self.send({"op": 0, "t": event, "s": self.sequence, "d": data})

    async def request_reconnect(self) -> None:
        """Op 7: the client must drop this connection and RESUME on a new one."""
        await self.send({"op": 7, "d": None})

    async def request_heartbeat(self) -> None:
        """Op 1: the client must heartbeat now (the emulator ACKs it)."""
        await self.send({"op": 1, "d": self.sequence or None})

    def guild(self) -> dict[str, Any]:
        return {
            "id": str(GUILD_ID),
            "name": "Peer support",
            "owner_id": OWNER["id"],
            "icon": None,
            "splash": None,
            "features": [],
            "emojis": [],
            "stickers": [],
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "system_channel_id": None,
            "afk_channel_id": None,
            "afk_timeout": 300,
            "large": False,
            "unavailable": False,
            "joined_at": TIMESTAMP,
            "roles": [_role(str(GUILD_ID), "@everyone", 0, 1024 | 2048), _role(MOD_ROLE_ID, "Moderators", 1)],
            "channels": [_channel(GENERAL_ID, "general", 0), _channel(MODERATORS_ID, "moderators", 1)],
            "threads": [],
            "members": self.members,
            "member_count": len(self.members),
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
        }

    def message(self, author: dict[str, Any], channel_id: str, content: str) -> dict[str, Any]:
        return {
            "id": str(self.ids()),
            "channel_id": channel_id,
            "guild_id": str(GUILD_ID),
            "author": author,
            "member": {key: value for key, value in member(author).items() if key != "user"},
            "content": content,
            "timestamp": TIMESTAMP,
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "pinned": False,
            "type": 0,
        }

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.connections += 1
        self.socket = socket
        await socket.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 45000}}))
        async for frame in socket:
            if frame.type is not WSMsgType.TEXT:
                break
            payload = json.loads(frame.data)
            self.received.append(payload)
            op = payload.get("op")
            if op == 1:
                self.heartbeat_acks += 1
                await socket.send_str(json.dumps({"op": 11}))
            elif op == 2:
                ready = {
                    "v": 10,
                    "user": BOT_USER,
                    "guilds": [{"id": str(GUILD_ID), "unavailable": True}],
                    "session_id": SESSION_ID,
                    "resume_gateway_url": self.gateway,
                    "application": {"id": APPLICATION_ID, "flags": 0},
                    "private_channels": [],
                    "relationships": [],
                }
                await self.dispatch("READY", ready)
                await self.dispatch("GUILD_CREATE", self.guild())
            elif op == 6:
                await self.dispatch("RESUMED", {})
        if self.socket is socket:
            self.socket = None
        return socket

    # -- REST ------------------------------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.Response:
        body: Any = await request.json() if request.can_read_body else None
        path = "/" + request.match_info["tail"]
        self.requests.append((request.method, path, body))
        route = (request.method, path)
        if route == ("GET", "/users/@me"):
            return json_response(BOT_USER)
        if route == ("GET", "/oauth2/applications/@me"):
            return json_response(
                {
                    "id": APPLICATION_ID,
                    "name": "Peer Circles",
                    "description": "",
                    "icon": None,
                    "bot_public": False,
                    "bot_require_code_grant": False,
                    "owner": OWNER,
                    "verify_key": "0" * 64,
                    "flags": 0,
                }
            )
        if (
            request.method == "PUT"
            and path.startswith(f"/applications/{APPLICATION_ID}/")
            and path.endswith("/commands")
        ):
            guild_id = path.split("/")[4] if "/guilds/" in path else None
            synced = [
                {
                    **command,
                    "id": str(self.ids()),
                    "application_id": APPLICATION_ID,
                    "guild_id": guild_id,
                    "version": "1",
                }
                for command in body or []
            ]
            return json_response(synced)
        if route == ("POST", "/users/@me/channels"):
            recipient = user(str(body["recipient_id"]), "someone")
            return json_response({"id": str(self.ids()), "type": 1, "recipients": [recipient], "last_message_id": None})
        if request.method == "POST" and path.startswith("/channels/") and path.endswith("/messages"):
            channel_id = path.split("/")[2]
            sent = {
                **self.message(BOT_USER, channel_id, body.get("content", "")),
                "components": body.get("components", []),
                "nonce": body.get("nonce"),
            }
            if channel_id not in (GENERAL_ID, MODERATORS_ID):
                del sent["guild_id"], sent["member"]
            return json_response(sent)
        return json_response({"message": "404: Not Found", "code": 0}, status=404)


@asynccontextmanager
async def running_emulator() -> AsyncIterator[Emulator]:
    """The emulator on a free port of 127.0.0.1: REST under ``/api/v10`` and the gateway at ``/gateway``."""
    emulator = Emulator()
    app = web.Application()
    app.router.add_get("/gateway", emulator._websocket)
    app.router.add_route("*", "/api/v10/{tail:.*}", emulator._rest)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    emulator.base = f"http://127.0.0.1:{port}/api/v10"
    emulator.gateway = f"ws://127.0.0.1:{port}/gateway"
    try:
        yield emulator
    finally:
        if emulator.socket is not None:
            await emulator.socket.close()
        await runner.cleanup()


async def until(condition: Callable[[], bool], within: float = 10.0, what: str = "the condition") -> None:
    """Wait, at most ``within`` seconds, for ``condition`` to hold."""
    for _ in range(int(within / POLL)):
        if condition():
            return
        await asyncio.sleep(POLL)
    assert condition(), f"timed out after {within} s waiting for {what}"
