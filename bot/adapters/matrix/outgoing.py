"""Everything the bot says on Matrix: notices, DM rooms, session rooms, and the outbox sender.

Outbox items are sent with the item's key as the Matrix transaction id, so a retried send is shown once.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterable
from typing import Any

from nio import AsyncClient, RoomCreateResponse, RoomGetStateEventResponse, RoomPreset, RoomSendResponse

from bot.adapters.matrix.client import NETWORK_ERRORS, check
from bot.adapters.matrix.render import notice
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

    def __init__(self, client: AsyncClient, state: MatrixState, places: CommunityMap, messages: Catalogue) -> None:
        self.client = client
        self.state = state
        self.places = places
        self.messages = messages
        self._dm_locks: dict[str, asyncio.Lock] = {}
        self._created: set[str] = set()

    async def say(
        self, room_id: str, text: str, *, txn_id: str | None = None, mention: tuple[str, str] | None = None
    ) -> str:
        """Post ``text`` as a notice; returns the event id. Raises PlatformError / DeliveryRefused."""
        try:
            answer = await self.client.room_send(
                room_id, "m.room.message", notice(text, mention=mention), tx_id=txn_id or uuid.uuid4().hex
            )
        except NETWORK_ERRORS as error:
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

    async def target_room(self, target: str) -> str:
        """An outbox or action target as a room id: a session space's room, an alias, or a room id."""
        if target.startswith("session-"):
            room_id = await self.state.space_room(target)
            if not room_id:
                raise DeliveryRefused(f"no Matrix room was opened for {target}")
            return room_id
        return self.places.room_id(target)

    async def send(self, delivery: Delivery) -> None:
        """The outbox sender: deliver one item under its key."""
        mention: tuple[str, str] | None = None
        text = delivery.text
        if delivery.ping:
            if delivery.ping.startswith("@"):
                mention = (delivery.ping, delivery.ping)
            else:
                text = f"{delivery.ping} {text}"
        if delivery.kind == "dm":
            await self.direct(delivery.target, text, txn_id=delivery.key)
        else:
            await self.say(await self.target_room(delivery.target), text, txn_id=delivery.key, mention=mention)

    async def open_space(self, action: OpenSpace, community_native_id: str) -> str:
        """Create the session's room once per space: members invited, history visible to members from their invitation
        (so the welcome posted before they join is seen, and nobody outside ever reads it)."""
        known = await self.state.space_room(action.room.native_id)
        if known:
            return known
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

    async def close_space(self, action: CloseSpace, locale: str) -> None:
        """Say the session is closed and make its room read-only (kept, not deleted, so members can reread it)."""
        room_id = await self.target_room(action.room.native_id)
        await self.say(room_id, self.messages.t(locale, "matrix.space_closed"))
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
    ) -> None:
        """Carry out a command's actions. One that fails is logged and the rest still happen."""
        for action in actions:
            try:
                if isinstance(action, Reply):
                    if action.private or room_id is None:
                        await self.direct(author.native_id, action.text)
                    else:
                        await self.say(room_id, action.text, mention=(author.native_id, author_display))
                elif isinstance(action, DirectMessage):
                    await self.direct(action.to.native_id, action.text)
                elif isinstance(action, OpenSpace):
                    await self.open_space(action, community_native_id)
                elif isinstance(action, CloseSpace):
                    await self.close_space(action, locale)
                elif isinstance(action, PostToRoom):
                    await self.say(await self.target_room(action.room.native_id), action.text)
            except (PlatformError, DeliveryRefused) as error:
                log.error("could not carry out %s: %s", type(action).__name__, error)
