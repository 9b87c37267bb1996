"""Everything the bot says on Matrix: notices, DM rooms, session rooms, and the outbox sender.

Outbox items are sent with the item's key as the Matrix transaction id, so a retried send is shown once.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterable
from typing import Any

from nio import (
    Api,
    AsyncClient,
    LocalProtocolError,
    RoomCreateResponse,
    RoomGetStateEventResponse,
    RoomPreset,
    RoomSendResponse,
    SendRetryError,
)

from bot.adapters.matrix.client import NETWORK_ERRORS, check
from bot.adapters.matrix.render import event_link, notice, room_link
from bot.adapters.matrix.rooms import CommunityMap
from bot.adapters.matrix.state import MatrixState
from bot.delivery.outbox import Delivery
from bot.errors import DeliveryRefused, PlatformError
from bot.i18n import Catalogue
from bot.model import Action, CloseSpace, DirectMessage, OpenSpace, PostToRoom, Reply, UserRef

__all__ = ["Outgoing"]

log = logging.getLogger(__name__)

READ_ONLY = 100
"""The power level needed to speak in a closed session's room: only the bot (and admins at 100) can."""


class Outgoing:
    """Sends notices and manages the rooms the bot creates (DMs, sessions)."""

    def __init__(
        self,
        client: AsyncClient,
        state: MatrixState,
        places: CommunityMap,
        messages: Catalogue,
        *,
        sessions_as: str = "room",
        encrypted: bool = False,
    ) -> None:
        self.client = client
        self.state = state
        self.places = places
        self.messages = messages
        self.sessions_as = sessions_as
        self.encrypted = encrypted
        self._dm_locks: dict[str, asyncio.Lock] = {}
        self._created: set[str] = set()

    async def say(
        self,
        room_id: str,
        text: str,
        *,
        txn_id: str | None = None,
        mention: tuple[str, str] | None = None,
        thread: str | None = None,
    ) -> str:
        """Post ``text`` as a notice (in the thread rooted at ``thread``, if given); returns the event id.
        Raises PlatformError / DeliveryRefused."""
        content = notice(text, mention=mention)
        if thread is not None:
            # Clients without threads show it as a reply to the root (the fallback the spec asks for).
            content["m.relates_to"] = {
                "rel_type": "m.thread",
                "event_id": thread,
                "is_falling_back": True,
                "m.in_reply_to": {"event_id": thread},
            }
        tx_id = txn_id or uuid.uuid4().hex
        try:
            if self.encrypted and room_id not in self.client.rooms:
                # A room the bot has just created (a DM, a session room: never encrypted) that no sync has shown
                # yet. nio with encryption refuses rooms it does not know, so this one is sent as it is.
                method, path, data = Api.room_send(self.client.access_token, room_id, "m.room.message", content, tx_id)
                answer: Any = await self.client._send(RoomSendResponse, method, path, data, (room_id,))
            else:
                extra: dict[str, Any] = {"ignore_unverified_devices": True} if self.encrypted else {}
                answer = await self.client.room_send(room_id, "m.room.message", content, tx_id=tx_id, **extra)
        except NETWORK_ERRORS as error:
            raise PlatformError(f"sending to {room_id}: {error!r}") from error
        except (LocalProtocolError, SendRetryError) as error:  # nio's own refusal, e.g. keys not yet shared
            raise PlatformError(f"sending to {room_id}: {error!r}") from error
        sent: RoomSendResponse = check(answer, f"sending to {room_id}")
        return str(sent.event_id)

    def _dm_usable(self, room_id: str, user_id: str) -> bool:
        room = self.client.rooms.get(room_id)
        if room is None:
            return room_id in self._created or room_id not in self.client.invited_rooms
        return user_id in room.users or user_id in room.invited_users

    async def dm_room(self, user_id: str) -> str:
        """The direct room with ``user_id``: the remembered one while they are still in it, else a new one."""
        lock = self._dm_locks.setdefault(user_id, asyncio.Lock())
        async with lock:
            known = await self.state.dm_room(user_id)
            if known and self._dm_usable(known, user_id):
                return known
            try:
                answer: Any = await self.client.room_create(
                    is_direct=True, invite=[user_id], preset=RoomPreset.trusted_private_chat
                )
            except NETWORK_ERRORS as error:
                raise PlatformError(f"creating a DM room with {user_id}: {error!r}") from error
            created: RoomCreateResponse = check(answer, f"creating a DM room with {user_id}")
            self._created.add(created.room_id)
            await self.state.set_dm_room(user_id, created.room_id)
            log.info("opened a direct room with %s", user_id)
            return str(created.room_id)

    async def direct(self, user_id: str, text: str, *, txn_id: str | None = None) -> None:
        """Say ``text`` to ``user_id`` privately; a DM room they left is replaced once."""
        room_id = await self.dm_room(user_id)
        try:
            await self.say(room_id, text, txn_id=txn_id)
        except DeliveryRefused:
            # The remembered room is gone (they left, or it was purged): forget it and open a fresh one.
            await self.state.set(f"dm:{user_id}", "")
            room_id = await self.dm_room(user_id)
            await self.say(room_id, text, txn_id=txn_id)

    async def target(self, target: str) -> tuple[str, str | None]:
        """An outbox or action target as ``(room id, thread root or None)``: a session space's room or thread, an
        alias, or a room id."""
        if target.startswith("session-"):
            room_id = await self.state.space_room(target)
            if not room_id:
                raise DeliveryRefused(f"no Matrix room was opened for {target}")
            return room_id, await self.state.thread_root(target)
        return self.places.room_id(target), None

    async def target_room(self, target: str) -> str:
        """An outbox or action target as a room id (see :meth:`target`)."""
        return (await self.target(target))[0]

    async def send(self, delivery: Delivery) -> None:
        """The outbox sender: deliver one item under its key. An alert's notice is remembered by its event id, so a
        moderator's reaction to it claims or resolves that alert."""
        mention: tuple[str, str] | None = None
        text = delivery.text
        if delivery.ping:
            if delivery.ping.startswith("@"):
                mention = (delivery.ping, delivery.ping)
            else:
                text = f"{delivery.ping} {text}"
        if delivery.kind == "dm":
            await self.direct(delivery.target, text, txn_id=delivery.key)
            return
        room_id, thread = await self.target(delivery.target)
        event_id = await self.say(room_id, text, txn_id=delivery.key, mention=mention, thread=thread)
        if delivery.escalation_id is not None:
            await self.state.set_alert_event(event_id, delivery.escalation_id)
        if delivery.kind == "close" and thread is None:  # a thread is closed by what was just said in it
            await self._read_only(room_id)

    async def open_space(self, action: OpenSpace, community_native_id: str, circle_room: str | None = None) -> str:
        """Create the session's room once per space: members invited, history visible to members from their invitation
        (so the welcome posted before they join is seen, and nobody outside ever reads it)."""
        known = await self.state.space_room(action.room.native_id)
        if known:
            return known
        if self.sessions_as == "thread":
            return await self._open_thread(action, community_native_id, circle_room)
        invite = [member.native_id for member in action.members if member.native_id != self.client.user_id]
        history = {"type": "m.room.history_visibility", "state_key": "", "content": {"history_visibility": "invited"}}
        try:
            answer: Any = await self.client.room_create(
                name=action.title, invite=invite, preset=RoomPreset.private_chat, initial_state=[history]
            )
        except NETWORK_ERRORS as error:
            raise PlatformError(f"creating the room for {action.room.native_id}: {error!r}") from error
        created: RoomCreateResponse = check(answer, f"creating the room for {action.room.native_id}")
        await self.state.set_space_room(action.room.native_id, created.room_id)
        await self.state.set(f"room:{created.room_id}", community_native_id)
        log.info("opened %s as room %s with %d invitee(s)", action.room.native_id, created.room_id, len(invite))
        return str(created.room_id)

    async def _open_thread(self, action: OpenSpace, community_native_id: str, circle_room: str | None) -> str:
        """Open the session as a thread: a root notice in the circle's room (else the community's first room),
        remembered as the space's thread."""
        community = self.places.by_native_id(community_native_id)
        room_id = circle_room or (self.places.room_id(community.rooms[0]) if community and community.rooms else None)
        if room_id is None:
            raise DeliveryRefused(f"no room to open {action.room.native_id} as a thread in")
        locale = community.locale if community else "en"
        root = await self.say(room_id, self.messages.t(locale, "matrix.thread_opened", title=action.title))
        await self.state.set_space_room(action.room.native_id, room_id)
        await self.state.set_thread_root(action.room.native_id, root)
        log.info("opened %s as a thread %s in %s", action.room.native_id, root, room_id)
        return room_id

    async def close_space(self, action: CloseSpace, locale: str) -> None:
        """Say the session is closed and make its room read-only (kept, not deleted, so members can reread it)."""
        room_id, thread = await self.target(action.room.native_id)
        if thread is not None:  # a thread cannot be made read-only: it is closed by saying so in it
            await self.say(room_id, self.messages.t(locale, "matrix.thread_closed"), thread=thread)
            return
        await self.say(room_id, self.messages.t(locale, "matrix.space_closed"))
        await self._read_only(room_id)

    async def _read_only(self, room_id: str) -> None:
        """Only the bot may write in ``room_id`` from now on (making it read-only again changes nothing)."""
        answer: Any = await self.client.room_get_state_event(room_id, "m.room.power_levels")
        levels: RoomGetStateEventResponse = check(answer, f"reading power levels of {room_id}")
        content = dict(levels.content)
        content["events_default"] = READ_ONLY
        check(await self.client.room_put_state(room_id, "m.room.power_levels", content), "closing the room")

    async def perform(
        self,
        actions: Iterable[Action],
        *,
        room_id: str | None,
        author: UserRef,
        author_display: str,
        community_native_id: str,
        locale: str,
        circle_room: str | None = None,
    ) -> None:
        """Carry out a command's actions (``circle_room``: where a session opens as a thread). One that fails
        is logged and the rest still happen."""
        opened: dict[str, str] = {}
        for action in actions:
            try:
                if isinstance(action, Reply):
                    text = action.text
                    for space, room in opened.items():
                        text = text.replace(space, room)  # the internal space id becomes a link to the room
                    if action.private or room_id is None:
                        await self.direct(author.native_id, text)
                    else:
                        await self.say(room_id, text, mention=(author.native_id, author_display))
                elif isinstance(action, DirectMessage):
                    await self.direct(action.to.native_id, action.text)
                elif isinstance(action, OpenSpace):
                    await self.open_space(action, community_native_id, circle_room)
                    space_room, root = await self.target(action.room.native_id)
                    opened[action.room.native_id] = event_link(space_room, root) if root else room_link(space_room)
                elif isinstance(action, CloseSpace):
                    await self.close_space(action, locale)
                elif isinstance(action, PostToRoom):
                    target_room, thread = await self.target(action.room.native_id)
                    await self.say(target_room, action.text, thread=thread)
            except (PlatformError, DeliveryRefused) as error:
                log.error("could not carry out %s: %s", type(action).__name__, error)
