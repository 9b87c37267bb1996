"""A small Discord API emulator on 127.0.0.1: the REST routes the adapter uses and a gateway websocket (HELLO,
IDENTIFY -> READY with one unavailable guild, GUILD_CREATE, heartbeat ACKs, RECONNECT and RESUME).

Faults, as Discord shows them: REST answers injected per route (429 with ``Retry-After``, JSON ``retry_after`` and
``X-RateLimit-*`` headers; 5xx; 403 Missing Access; a stalled answer), a gateway connection dropped abruptly (1006)
or closed with a code (4000, 1001), RESUMEs refused with op 9, and connection attempts refused for a while. Like
Discord, the gateway keeps the events of a session while its connection is down and replays the missed ones on
RESUME; and a message sent with ``enforce_nonce`` and a nonce already used in that channel is not created twice.

Frames are sent as plain text, which discord.py reads without its zlib-stream decompressor."""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import itertools
import json
import math
import shutil
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import discord
from aiohttp import WSMsgType, web

from bot.adapters.discord import DiscordAdapter, create_adapter
from bot.app import Application
from bot.clock import ManualClock
from tests.discord.world import GUILD_ID, settings_for

BOT_USER = {"id": "900000000000000001", "username": "peer-circles", "discriminator": "0", "avatar": None, "bot": True}
APPLICATION_ID = "900000000000000002"
OWNER = {"id": "500000000000000001", "username": "owner", "discriminator": "0", "avatar": None}
GENERAL_ID = "300000000000000001"
MODERATORS_ID = "300000000000000002"
FALLBACK_ID = "300000000000000003"
MOD_ROLE_ID = "400000000000000001"
SESSION_ID = "emulated-session-1"
TIMESTAMP = "2026-01-05T12:00:00+00:00"
POLL = 0.02

INTENT_MESSAGE_CONTENT = 1 << 15
EVERYONE = 1024 | 2048 | 65536
"""What everyone may do in the server: view channels, send messages, read message history."""
BUCKET = "6f2b4a9e0c1d3e5f"
RATE_LIMIT_HEADERS = {
    "X-RateLimit-Limit": "5",
    "X-RateLimit-Remaining": "4",
    "X-RateLimit-Reset-After": "1.000",
    "X-RateLimit-Bucket": BUCKET,
}
"""What Discord sends with a message it created: plenty left in the bucket, so discord.py never waits."""


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None, **more: str) -> web.Response:
    """JSON with a Content-Type of exactly application/json: discord.py compares the header, and a charset suffix
    (which aiohttp's json_response adds) breaks it."""
    return web.Response(
        body=json.dumps(payload).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {}), **more},
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


class Snowflakes:
    """Discord ids of the current time (milliseconds since 2015 in the high bits), always increasing."""

    def __init__(self) -> None:
        self.last = 0

    def __call__(self) -> int:
        self.last = max(self.last + 1, discord.utils.time_snowflake(datetime.now(UTC)))
        return self.last


class Clockwork:
    """Stands in for ``asyncio`` inside one discord.py module (``discord.http``: the retry-after sleeps on a 429 and
    ``1 + 2 * tries`` seconds after a 5xx; ``discord.client``: the reconnection backoff and the 5 s wait before
    IDENTIFYing again): records each wait discord.py asks for and only yields instead of sleeping, so a test checks
    the waits without sitting through them."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    async def sleep(self, delay: float, result: Any = None) -> Any:
        self.sleeps.append(delay)
        await asyncio.sleep(0)
        return result

    @property
    def waits(self) -> list[float]:
        """The waits that were not zero (discord.py also "sleeps" 0 s to reset an empty bucket)."""
        return [delay for delay in self.sleeps if delay > 0]


@dataclass
class Fault:
    """Answers injected for the next ``times`` requests matching ``method`` and ``path`` (an fnmatch pattern:
    ``/channels/*/messages``). ``status`` 429 gets Discord's rate-limit body and headers; ``stall`` holds the
    answer until :meth:`Emulator.release` (after the message was created when ``status`` is 2xx: Discord got it,
    the answer was lost)."""

    method: str
    path: str
    status: int
    times: int = 1
    retry_after: float = 1.0
    code: int = 0
    message: str = ""
    scope: str = "user"
    stall: bool = False
    used: int = 0


@dataclass
class Emulator:
    """What the emulator received, and the means to push gateway events to the connected client."""

    base: str = ""
    gateway: str = ""
    members: list[dict[str, Any]] = field(default_factory=lambda: [member(OWNER)])
    channels: list[dict[str, Any]] = field(
        default_factory=lambda: [
            _channel(GENERAL_ID, "general", 0),
            _channel(MODERATORS_ID, "moderators", 1),
            _channel(FALLBACK_ID, "moderators-fallback", 2),
        ]
    )
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    """(method, path, JSON body) of every REST request, in order."""
    responses: list[tuple[str, str, int]] = field(default_factory=list)
    """(method, path, status) of every REST answer, in order (a stalled one when it is released)."""
    created: list[dict[str, Any]] = field(default_factory=list)
    """Every message the emulator created (a POST it answered with 2xx, less nonce duplicates), in order."""
    nonce_repeats: int = 0
    """POSTs whose enforced nonce matched a message already created, answered with that message."""
    received: list[dict[str, Any]] = field(default_factory=list)
    """Every gateway payload the client sent (IDENTIFY, RESUME, heartbeats), in order."""
    connections: int = 0
    """Gateway connections accepted."""
    attempts: int = 0
    """Gateway connection attempts, accepted or refused."""
    heartbeat_acks: int = 0
    socket: web.WebSocketResponse | None = None
    sequence: int = 0
    session_id: str = SESSION_ID
    history: list[dict[str, Any]] = field(default_factory=list)
    """The current session's dispatches, kept to replay on RESUME the ones the client missed."""
    faults: list[Fault] = field(default_factory=list)
    refuse_connections: int = 0
    """Refuse this many more gateway connection attempts (HTTP 503 to the upgrade, as during an outage)."""
    invalidate_resumes: int = 0
    """Answer this many more RESUMEs with op 9 (session not resumable): the client must IDENTIFY again."""
    threads: dict[str, dict[str, Any]] = field(default_factory=dict)
    thread_members: dict[str, list[str]] = field(default_factory=dict)
    interaction_replies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Each interaction's answers (callback data, then follow-ups), by interaction id."""
    ids: Callable[[], int] = field(default_factory=lambda: Snowflakes())
    """New ids: Discord snowflakes of the real time, always increasing (a message's id tells when it was sent)."""
    channel_log: list[dict[str, Any]] = field(default_factory=list)
    """Every message in a channel, the members' (dispatched, delivered or not) and the bot's, for history reads."""
    _dm_channels: dict[str, str] = field(default_factory=dict)
    _nonces: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    _transport: asyncio.BaseTransport | None = None
    _released: asyncio.Event = field(default_factory=asyncio.Event)
    _gate: asyncio.Event = field(default_factory=asyncio.Event)
    _sessions: Callable[[], int] = field(default_factory=lambda: itertools.count(2).__next__)

    def posts_to(self, channel_id: str) -> list[Any]:
        """The bodies of every POST to ``channel_id``'s messages, answered or not."""
        return [
            body
            for method, path, body in self.requests
            if method == "POST" and path == f"/channels/{channel_id}/messages"
        ]

    def messages_in(self, channel_id: str) -> list[dict[str, Any]]:
        """The messages created in ``channel_id`` (what people there see)."""
        return [message for message in self.created if message["channel_id"] == channel_id]

    def statuses(self, method: str, path: str) -> list[int]:
        """The statuses the emulator answered ``method path`` with, in order."""
        return [status for m, p, status in self.responses if (m, p) == (method, path)]

    def dm_channel(self, user_id: str) -> str | None:
        return self._dm_channels.get(user_id)

    def ops(self, op: int) -> list[dict[str, Any]]:
        return [payload for payload in self.received if payload.get("op") == op]

    # -- faults ----------------------------------------------------------------------------------------------

    def fail(self, method: str, path: str, status: int, times: int = 1, **details: Any) -> Fault:
        """Answer the next ``times`` ``method path`` requests with ``status`` (after the faults already queued for
        that route)."""
        fault = Fault(method, path, status, times, **details)
        self.faults.append(fault)
        return fault

    def release(self) -> None:
        """Let every stalled answer go."""
        self._released.set()

    def hold_connections(self) -> None:
        """Leave new gateway connection attempts unanswered (the client waits) until :meth:`open_connections`."""
        self._gate.clear()

    def open_connections(self) -> None:
        self._gate.set()

    def _fault_for(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.used < fault.times and fault.method == method and fnmatch.fnmatchcase(path, fault.path):
                fault.used += 1
                return fault
        return None

    @staticmethod
    def _error(fault: Fault) -> web.Response:
        if fault.status == 429:
            # As Discord sends it: the body's retry_after (float seconds) is what discord.py reads; Retry-After is
            # whole seconds; Via marks it as coming from Discord and not from Cloudflare (which discord.py treats
            # as a ban).
            body = {"message": "You are being rate limited.", "retry_after": fault.retry_after, "global": False}
            reset = time.time() + fault.retry_after
            return json_response(
                body,
                status=429,
                **{
                    "Retry-After": str(max(1, math.ceil(fault.retry_after))),
                    "X-RateLimit-Limit": "5",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": f"{reset:.3f}",
                    "X-RateLimit-Reset-After": f"{fault.retry_after:.3f}",
                    "X-RateLimit-Bucket": BUCKET,
                    "X-RateLimit-Scope": fault.scope,
                    "Via": "1.1 google",
                },
            )
        messages = {403: "Missing Access", 500: "500: Internal Server Error", 502: "502: Bad Gateway"}
        text = fault.message or messages.get(fault.status, f"{fault.status}")
        return json_response({"message": text, "code": fault.code}, status=fault.status)

    # -- gateway ---------------------------------------------------------------------------------------------

    async def send(self, payload: dict[str, Any]) -> None:
        assert self.socket is not None, "no client is connected"
        await self.socket.send_str(json.dumps(payload))

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send an event; while no client is connected, keep it for the RESUME (as Discord does)."""
        self.sequence += 1
        payload = {"op": 0, "t": event, "s": self.sequence, "d": data}
        self.history.append(payload)
        if event == "MESSAGE_CREATE" and all(data["id"] != logged["id"] for logged in self.channel_log):
            self.channel_log.append(data)
        if self.socket is not None and not self.socket.closed:
            await self.send(payload)

    async def request_reconnect(self) -> None:
        """Op 7: the client must drop this connection and RESUME on a new one."""
        await self.send({"op": 7, "d": None})

    async def request_heartbeat(self) -> None:
        """Op 1: the client must heartbeat now (the emulator ACKs it)."""
        await self.send({"op": 1, "d": self.sequence or None})

    async def drop(self, code: int | None = None) -> None:
        """End the connection: abruptly with no close frame (the client sees 1006) when ``code`` is None, else with
        a close frame carrying ``code`` (4000 unknown error, 1001 going away)."""
        socket, transport = self.socket, self._transport
        assert socket is not None, "no client is connected"
        self.socket = None
        if code is None:
            assert transport is not None
            transport.abort()
        else:
            await socket.close(code=code, message=b"emulated")

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
            "roles": [_role(str(GUILD_ID), "@everyone", 0, EVERYONE), _role(MOD_ROLE_ID, "Moderators", 1)],
            "channels": self.channels,
            "threads": [thread for thread in self.threads.values() if not thread["thread_metadata"]["archived"]],
            "members": [member(BOT_USER), *self.members],  # Discord always sends the bot's own member
            "member_count": len(self.members) + 1,
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

    def channel(self, channel_id: str) -> dict[str, Any]:
        found = self.threads.get(channel_id) or next((c for c in self.channels if c["id"] == channel_id), None)
        assert found is not None, f"no channel {channel_id}"
        return found

    async def interact(
        self, author: dict[str, Any], channel_id: str, command: str, *roles: str, **options: str | int
    ) -> str:
        """A person runs the slash command ``command`` (``"circle create"``) in ``channel_id``: an INTERACTION_CREATE
        over the gateway. Returns the interaction id, under which :attr:`interaction_replies` collects the answers."""
        interaction_id = str(self.ids())
        names = command.split()
        leaf: list[dict[str, Any]] = [
            {"name": name, "type": 4 if isinstance(value, int) else 3, "value": value}
            for name, value in options.items()
        ]
        tree: list[dict[str, Any]] = leaf
        for depth, name in reversed(list(enumerate(names[1:], start=1))):
            tree = [{"name": name, "type": 1 if depth == len(names) - 1 else 2, "options": tree}]
        self.interaction_replies[interaction_id] = []
        await self.dispatch(
            "INTERACTION_CREATE",
            {
                "id": interaction_id,
                "application_id": APPLICATION_ID,
                "type": 2,
                "token": f"token-{interaction_id}",
                "version": 1,
                "guild_id": str(GUILD_ID),
                "channel_id": channel_id,
                "channel": self.channel(channel_id),
                "member": {**member(author, *roles), "permissions": "3072"},
                "data": {
                    "id": str(self.ids()),
                    "name": names[0],
                    "type": 1,
                    "guild_id": str(GUILD_ID),
                    "options": tree,
                },
                "locale": "en-US",
                "guild_locale": "en-US",
                "app_permissions": "0",
                "attachment_size_limit": 8388608,
                "entitlements": [],
                "authorizing_integration_owners": {"0": str(GUILD_ID)},
                "context": 0,
            },
        )
        return interaction_id

    def replies_to(self, interaction_id: str) -> list[str]:
        return [reply.get("content") or "" for reply in self.interaction_replies.get(interaction_id, [])]

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        self.attempts += 1
        await self._gate.wait()
        if self.refuse_connections > 0:
            self.refuse_connections -= 1
            return json_response({"message": "503: Service Unavailable", "code": 0}, status=503)
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.connections += 1
        self.socket = socket
        self._transport = request.transport
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
                if self.history:  # a new session: what the old one missed is gone, as on Discord
                    self.session_id = f"emulated-session-{self._sessions()}"
                    self.history.clear()
                    self.sequence = 0
                ready = {
                    "v": 10,
                    "user": BOT_USER,
                    "guilds": [{"id": str(GUILD_ID), "unavailable": True}],
                    "session_id": self.session_id,
                    "resume_gateway_url": self.gateway,
                    "application": {"id": APPLICATION_ID, "flags": 0},
                    "private_channels": [],
                    "relationships": [],
                }
                await self.dispatch("READY", ready)
                await self.dispatch("GUILD_CREATE", self.guild())
            elif op == 6:
                resume = payload["d"]
                if self.invalidate_resumes > 0 or resume.get("session_id") != self.session_id:
                    self.invalidate_resumes = max(0, self.invalidate_resumes - 1)
                    await socket.send_str(json.dumps({"op": 9, "d": False}))
                    continue
                missed = [event for event in self.history if event["s"] > (resume.get("seq") or 0)]
                for event in missed:
                    await socket.send_str(json.dumps(event))
                await self.dispatch("RESUMED", {})
        if self.socket is socket:
            self.socket = None
        return socket

    # -- REST ------------------------------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.Response:
        body: Any = await request.json() if request.can_read_body else None
        path = "/" + request.match_info["tail"]
        self.requests.append((request.method, path, body))
        fault = self._fault_for(request.method, path)
        if fault is not None and not fault.stall:
            answer = self._error(fault)
        else:
            answer = await self._answer(request.method, path, body, request.query)
            if fault is not None:  # stalled: done (or not), but the answer waits
                await self._released.wait()
                if fault.status >= 300:
                    answer = self._error(fault)
        self.responses.append((request.method, path, answer.status))
        return answer

    async def _answer(self, method: str, path: str, body: Any, query: Mapping[str, str]) -> web.Response:
        route = (method, path)
        parts = path.split("/")
        if method == "GET" and len(parts) == 4 and parts[1] == "channels" and parts[3] == "messages":
            # As Discord answers ?after=: the oldest ``limit`` messages after that id, newest first.
            after, limit = int(query.get("after", 0)), int(query.get("limit", 50))
            found = [m for m in self.channel_log if m["channel_id"] == parts[2] and int(m["id"]) > after]
            return json_response(sorted(found, key=lambda m: int(m["id"]))[:limit][::-1])
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
        if method == "PUT" and path.startswith(f"/applications/{APPLICATION_ID}/") and path.endswith("/commands"):
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
            recipient_id = str(body["recipient_id"])
            channel_id = self._dm_channels.setdefault(recipient_id, str(self.ids()))  # one DM channel per person
            recipient = user(recipient_id, "someone")
            return json_response({"id": channel_id, "type": 1, "recipients": [recipient], "last_message_id": None})
        if method == "POST" and len(parts) == 4 and parts[1] == "channels" and parts[3] == "messages":
            return json_response(self._create_message(parts[2], body), headers=RATE_LIMIT_HEADERS)
        if method == "POST" and len(parts) == 4 and parts[1] == "channels" and parts[3] == "threads":
            thread = self._thread(parts[2], body)
            await self.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
            return json_response(thread)
        if method == "PUT" and len(parts) == 5 and parts[3] == "thread-members" and parts[2] in self.threads:
            self.thread_members[parts[2]].append(parts[4])
            return web.Response(status=204)
        if method in ("GET", "PATCH") and len(parts) == 3 and parts[1] == "channels" and parts[2] in self.threads:
            thread = self.threads[parts[2]]
            if method == "PATCH":
                metadata = thread["thread_metadata"]
                for key in ("archived", "locked"):
                    if key in body:
                        metadata[key] = body[key]
                await self.dispatch("THREAD_UPDATE", thread)
            return json_response(thread)
        if method == "POST" and len(parts) == 5 and parts[1] == "interactions" and parts[4] == "callback":
            return self._interaction_answer(parts[2], body)
        if method == "POST" and len(parts) == 4 and parts[1] == "webhooks" and parts[2] == APPLICATION_ID:
            interaction_id = parts[3].removeprefix("token-")
            self.interaction_replies.setdefault(interaction_id, []).append(body)
            return json_response(self._bot_message(self._interaction_channel(interaction_id), body))
        if method == "PATCH" and len(parts) >= 4 and parts[1] == "webhooks" and parts[2] == APPLICATION_ID:
            interaction_id = parts[3].removeprefix("token-")
            return json_response(self._bot_message(self._interaction_channel(interaction_id), body))
        return json_response({"message": "404: Not Found", "code": 0}, status=404)

    def _bot_message(self, channel_id: str, body: dict[str, Any]) -> dict[str, Any]:
        sent = {
            **self.message(BOT_USER, channel_id, body.get("content") or ""),
            "components": body.get("components", []),
            "nonce": body.get("nonce"),
            "flags": body.get("flags", 0),
        }
        if channel_id in self._dm_channels.values():
            del sent["guild_id"], sent["member"]
        return sent

    def _create_message(self, channel_id: str, body: dict[str, Any]) -> dict[str, Any]:
        nonce = body.get("nonce")
        if nonce is not None and body.get("enforce_nonce"):
            earlier = self._nonces.get((channel_id, str(nonce)))
            if earlier is not None:  # Discord answers with the message already created under that nonce
                self.nonce_repeats += 1
                return earlier
        sent = self._bot_message(channel_id, body)
        self.created.append(sent)
        self.channel_log.append(sent)
        if nonce is not None:
            self._nonces[(channel_id, str(nonce))] = sent
        return sent

    def _thread(self, parent_id: str, body: dict[str, Any]) -> dict[str, Any]:
        thread_id = str(self.ids())
        thread = {
            "id": thread_id,
            "type": body.get("type", 12),
            "guild_id": str(GUILD_ID),
            "parent_id": parent_id,
            "owner_id": BOT_USER["id"],
            "name": body["name"],
            "last_message_id": None,
            "message_count": 0,
            "member_count": 1,
            "rate_limit_per_user": 0,
            "flags": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": body.get("auto_archive_duration", 1440),
                "archive_timestamp": TIMESTAMP,
                "locked": False,
                "invitable": body.get("invitable", True),
                "create_timestamp": TIMESTAMP,
            },
        }
        self.threads[thread_id] = thread
        self.thread_members[thread_id] = []
        return thread

    def _interaction_channel(self, interaction_id: str) -> str:
        for event in self.history:
            if event["t"] == "INTERACTION_CREATE" and event["d"]["id"] == interaction_id:
                return str(event["d"]["channel_id"])
        return GENERAL_ID

    def _interaction_answer(self, interaction_id: str, body: dict[str, Any]) -> web.Response:
        data = body.get("data") or {}
        self.interaction_replies.setdefault(interaction_id, []).append(data)
        message = self._bot_message(self._interaction_channel(interaction_id), data)
        flags = int(data.get("flags") or 0)
        return json_response(
            {
                "interaction": {
                    "id": interaction_id,
                    "type": 2,
                    "response_message_id": message["id"],
                    "response_message_loading": False,
                    "response_message_ephemeral": bool(flags & 64),
                },
                "resource": {"type": body.get("type", 4), "message": message},
            }
        )


@asynccontextmanager
async def running_emulator() -> AsyncIterator[Emulator]:
    """The emulator on a free port of 127.0.0.1: REST under ``/api/v10`` and the gateway at ``/gateway``."""
    emulator = Emulator()
    emulator.open_connections()
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
        emulator.release()
        emulator.open_connections()
        if emulator.socket is not None:
            await emulator.socket.close()
        await runner.cleanup()


@asynccontextmanager
async def running_app(
    data_dir: Path,
    template: Path,
    emulator: Emulator,
    *,
    community: dict[str, Any] | None = None,
    tasks: list[asyncio.Future[None]] | None = None,
) -> AsyncIterator[tuple[Application, DiscordAdapter]]:
    """The application with its Discord adapter and outbox deliverer (polling every 0.1 s) running against the
    emulator until READY; the community's moderators' channel is the emulator's, moderators have its role.
    ``tasks``, when given, receives the adapter's running task."""
    database = data_dir / "peer-circles.db"
    if not database.exists():  # a second run in the same folder is the same bot restarted
        shutil.copy(template, database)
    settings = settings_for(
        data_dir,
        f"sqlite+aiosqlite:///{database}",
        community=community or {"moderators": {"destination": MODERATORS_ID}, "roles": {"moderator": [MOD_ROLE_ID]}},
        api_base_url=emulator.base,
        gateway_url=emulator.gateway,
        message_content_intent=True,
    )
    app = Application(settings, clock=ManualClock())
    await app.prepare()
    adapter = create_adapter(app)
    app.adapters = [adapter]  # so app.health() reports it
    adapter.client._connection.guild_ready_timeout = 0.05  # the default waits 2 s for more servers
    stop = asyncio.Event()
    running = asyncio.ensure_future(adapter.run(stop))
    delivering = asyncio.ensure_future(app.deliverer.run(stop, poll=0.1))
    if tasks is not None:
        tasks.append(running)
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


async def until(condition: Callable[[], bool], within: float = 10.0, what: str = "the condition") -> None:
    """Wait, at most ``within`` seconds, for ``condition`` to hold."""
    for _ in range(int(within / POLL)):
        if condition():
            return
        await asyncio.sleep(POLL)
    assert condition(), f"timed out after {within} s waiting for {what}"
