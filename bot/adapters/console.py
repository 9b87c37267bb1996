"""The console adapter: a terminal community for trying Peer Circles, and a transcript driver for tests.

A person types commands as a member (``!circle join Evening circle``), switches role (``!as moderator``) or person
(``!user sam``), and sees replies, private messages and the moderators' channel, each labelled. Without a terminal it
reads a script from standard input, echoing each line so the output reads as a transcript.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
from collections.abc import AsyncIterator, Iterable
from typing import TextIO

from bot.adapters.base import Adapter
from bot.delivery.deliverer import Deliverer
from bot.delivery.outbox import Delivery
from bot.engine import Engine
from bot.i18n import Catalogue
from bot.model import (
    Action,
    CloseSpace,
    CommunityRef,
    DirectMessage,
    IncomingMessage,
    OpenSpace,
    Platform,
    PostToRoom,
    Reply,
    Role,
    RoomRef,
    UserRef,
)

__all__ = ["CONSOLE_MODERATORS", "ConsoleAdapter", "lines_from", "stdin_lines"]

log = logging.getLogger(__name__)

ROOM = "#general"
CONSOLE_MODERATORS = "#moderators"


async def lines_from(lines: Iterable[str]) -> AsyncIterator[str]:
    """Feed fixed lines, as a script would."""
    for line in lines:
        yield line


async def stdin_lines(stream: TextIO | None = None) -> AsyncIterator[str]:
    """Lines from standard input, read on a daemon thread so a pending read never blocks shutdown."""
    source = stream or sys.stdin
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def pump() -> None:
        try:
            for line in source:
                loop.call_soon_threadsafe(queue.put_nowait, line)
        finally:
            with contextlib.suppress(RuntimeError):  # the loop may already be closed at exit
                loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=pump, name="console-input", daemon=True).start()
    while (line := await queue.get()) is not None:
        yield line


class ConsoleAdapter(Adapter):
    """Runs one console community for one terminal."""

    platform = Platform.CONSOLE

    def __init__(
        self,
        engine: Engine,
        messages: Catalogue,
        *,
        community: CommunityRef,
        community_name: str,
        user: str,
        locale: str,
        lines: AsyncIterator[str],
        output: TextIO,
        echo: bool = False,
        role: Role = Role.MEMBER,
        deliverer: Deliverer | None = None,
    ) -> None:
        self.engine = engine
        self.messages = messages
        self.community = community
        self.community_name = community_name
        self.user = user
        self.locale = locale
        self.lines = lines
        self.output = output
        self.echo = echo
        self.roles: dict[str, Role] = {user: role}
        self.prefix = engine.prefix(Platform.CONSOLE)
        self._ready = False
        self._events = 0
        self._delivered: set[str] = set()
        self.deliverer = deliverer
        if deliverer is not None:
            deliverer.register(Platform.CONSOLE, self)

    @property
    def ready(self) -> bool:
        """True while reading input."""
        return self._ready

    def _t(self, key: str, **params: object) -> str:
        return self.messages.t(self.locale, key, **params)

    def _show(self, label: str, text: str) -> None:
        first, *rest = text.split("\n")
        self.output.write(f"[{label}] {first}\n")
        for line in rest:
            self.output.write(f"  {line}\n")
        self.output.flush()

    async def run(self, stop: asyncio.Event) -> None:
        """Read lines until the input ends, ``!quit`` is typed, or ``stop`` is set."""
        self._ready = True
        role = self.roles[self.user]
        self._show(
            "peer-circles",
            self._t(
                "console.welcome",
                community=self.community_name,
                user=self.user,
                role=self._t(f"role.{role.label}"),
                prefix=self.prefix,
            ),
        )
        try:
            iterator = aiter(self.lines)
            while not stop.is_set():
                next_line = asyncio.ensure_future(anext(iterator))
                stopping = asyncio.ensure_future(stop.wait())
                done, _ = await asyncio.wait({next_line, stopping}, return_when=asyncio.FIRST_COMPLETED)
                stopping.cancel()
                if next_line not in done:
                    next_line.cancel()
                    break
                try:
                    line = next_line.result()
                except StopAsyncIteration:
                    break
                if not await self.handle_line(line):
                    break
        finally:
            self._ready = False

    async def handle_line(self, raw: str) -> bool:
        """Handle one typed line; returns ``False`` when the person asked to quit.

        One line that cannot be handled (storage away longer than the engine waits) is reported and skipped: it
        never stops the console."""
        try:
            return await self._handle_line(raw)
        except Exception:
            log.exception("console line could not be handled")
            self._show("peer-circles", self._t("console.unavailable"))
            return True

    async def _handle_line(self, raw: str) -> bool:
        line = raw.strip()
        if not line or line.startswith("# "):
            return True
        if self.echo:
            self.output.write(f"> {line}\n")
        if not line.startswith(self.prefix):
            self._show(self._t("console.label.room", room=ROOM), f"{self.user}: {line}")
            self._events += 1
            await self.engine.handle_message(
                IncomingMessage(
                    community=self.community,
                    author=UserRef(Platform.CONSOLE, self.user),
                    text=line,
                    event_id=f"console-{id(self)}-{self._events}",
                    room=RoomRef(Platform.CONSOLE, ROOM),
                    author_display=self.user,
                )
            )
            await self._flush_outbox()
            return True
        body = line[len(self.prefix) :].strip()
        word, _, rest = body.partition(" ")
        meta = word.casefold()
        if meta == "quit":
            self._show("peer-circles", self._t("console.bye"))
            return False
        if meta == "as":
            self._switch_role(rest)
            return True
        if meta == "user":
            self._switch_user(rest)
            return True
        actions = await self.engine.handle_text(
            self.community,
            UserRef(Platform.CONSOLE, self.user),
            body,
            platform_role=self.roles[self.user],
            room=RoomRef(Platform.CONSOLE, ROOM),
            author_display=self.user,
        )
        self.deliver(actions)
        await self._flush_outbox()
        return True

    async def _flush_outbox(self) -> None:
        # Show what the line caused (alerts, private replies) right after it, as a platform would.
        if self.deliverer is not None:
            await self.deliverer.drain()

    async def send(self, delivery: Delivery) -> None:
        """Print an outbox item; each key once, as an idempotent platform would."""
        if delivery.key in self._delivered:
            return
        self._delivered.add(delivery.key)
        if delivery.kind == "dm":
            label = self._t("console.label.dm", user=delivery.target)
        elif delivery.target == CONSOLE_MODERATORS:
            label = self._t("console.label.moderators")
        else:
            label = self._t("console.label.room", room=delivery.target)
        text = f"{delivery.ping} {delivery.text}" if delivery.ping else delivery.text
        self._show(label, text)

    def _switch_role(self, text: str) -> None:
        try:
            role = Role.parse(text)
        except ValueError:
            names = ", ".join(role.label for role in Role)
            self._show(self._t("console.label.private", user=self.user), self._t("console.as.bad", roles=names))
            return
        self.roles[self.user] = role
        self._show(
            self._t("console.label.private", user=self.user),
            self._t("console.as.done", role=self._t(f"role.{role.label}")),
        )

    def _switch_user(self, text: str) -> None:
        name = text.strip()
        if not name or len(name.split()) != 1 or len(name) > 64:
            self._show(
                self._t("console.label.private", user=self.user),
                self._t("console.user.bad", example=f"{self.prefix}user sam"),
            )
            return
        self.user = name
        self.roles.setdefault(name, Role.MEMBER)
        self._show(self._t("console.label.private", user=self.user), self._t("console.user.done", user=name))

    def deliver(self, actions: Iterable[Action]) -> None:
        """Show each action, labelled by where it would go on a real platform."""
        for action in actions:
            if isinstance(action, Reply):
                label = (
                    self._t("console.label.private", user=self.user)
                    if action.private
                    else self._t("console.label.room", room=ROOM)
                )
                self._show(label, action.text)
            elif isinstance(action, DirectMessage):
                self._show(self._t("console.label.dm", user=action.to.native_id), action.text)
            elif isinstance(action, OpenSpace):
                people = ", ".join(member.native_id for member in action.members)
                self._show(
                    self._t("console.label.room", room=action.room.native_id),
                    self._t("console.space_opened", title=action.title, members=people),
                )
            elif isinstance(action, CloseSpace):
                self._show(self._t("console.label.room", room=action.room.native_id), self._t("console.space_closed"))
            elif isinstance(action, PostToRoom):
                if action.room.native_id == CONSOLE_MODERATORS:
                    self._show(self._t("console.label.moderators"), action.text)
                else:
                    self._show(self._t("console.label.room", room=action.room.native_id), action.text)
