"""The Matrix adapter: sync with the homeserver, hand events to the engine, carry out what it decides.

The sync token is stored after each sync's events are handled, so a restart resumes where the bot left off: nothing
is replayed, and what was written while it was down is still scanned (commands are answered only when recent). When a
room's timeline in a sync is truncated (``limited``), the older events back to the previous sync are fetched first
(:mod:`.backfill`); encrypted messages whose key has not arrived wait for it (:mod:`.keys`).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    InviteMemberEvent,
    MatrixRoom,
    MegolmEvent,
    ReactionEvent,
    RoomMemberEvent,
    RoomMessageEmote,
    RoomMessageText,
    SyncResponse,
)

from bot.adapters.base import Adapter
from bot.adapters.matrix.backfill import BACKFILL_CAP, SeenEvents, missed_events
from bot.adapters.matrix.client import (
    NETWORK_ERRORS,
    Backoff,
    build_client,
    check,
    maintain_keys,
    sign_in,
    sync_filter,
    wait_or_stop,
)
from bot.adapters.matrix.keys import KEY_WAIT, MissingKeys, Pending, arrived_sessions
from bot.adapters.matrix.lanes import Lanes
from bot.adapters.matrix.outgoing import Outgoing
from bot.adapters.matrix.render import event_link
from bot.adapters.matrix.roles import member_role
from bot.adapters.matrix.rooms import CommunityMap
from bot.adapters.matrix.state import MatrixState
from bot.config import Settings
from bot.config.communities import Community
from bot.delivery.deliverer import Deliverer
from bot.delivery.outbox import Delivery
from bot.engine import Engine
from bot.errors import DeliveryRefused, PlatformCredentialsError, PlatformError
from bot.i18n import Catalogue
from bot.model import Action, CommandInvocation, IncomingMessage, Platform, Role, RoomRef, UserRef
from bot.storage import Database

__all__ = ["ALERT_REACTIONS", "MatrixAdapter", "reaction_action"]

log = logging.getLogger(__name__)

RETRYABLE: tuple[type[BaseException], ...] = (PlatformError, DeliveryRefused, *NETWORK_ERRORS)
"""What ends one connection but not the adapter: it reconnects after a backoff."""

LANES_DRAIN_SECONDS = 15.0
"""On stop, how long answers already decided may take to go out before the connection closes."""

ANSWER_WINDOW = timedelta(minutes=10)
"""Commands written while the bot was down are answered only this long after they were sent; older ones are only
scanned, as every message is."""

ALERT_REACTIONS: dict[str, str] = {"✋": "claim", "🙋": "claim", "👀": "claim", "✅": "resolve", "✔": "resolve"}
"""A moderator's reaction on an alert notice -> the alert command it runs (``alert claim`` / ``alert resolve``)."""

_EMOJI_NOISE = dict.fromkeys([0xFE0E, 0xFE0F, *range(0x1F3FB, 0x1F400)])
"""Variation selectors and skin tones: ✋🏽 and ✋️ are ✋."""


def reaction_action(key: str, reactions: dict[str, str]) -> str | None:
    """The alert action a reaction key stands for, if any (variation selectors and skin tones ignored)."""
    return reactions.get(key.translate(_EMOJI_NOISE).strip())


class MatrixAdapter(Adapter):
    """One bot account on one homeserver, serving every configured Matrix community."""

    platform = Platform.MATRIX

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        messages: Catalogue,
        database: Database,
        deliverer: Deliverer | None = None,
        *,
        poll_ms: int = 30_000,
        client: AsyncClient | None = None,
        alert_reactions: dict[str, str] | None = None,
        timeline_limit: int | None = None,
        backfill_cap: int = BACKFILL_CAP,
        key_wait: timedelta = KEY_WAIT,
    ) -> None:
        """``timeline_limit`` caps each room's timeline in a sync (a sync filter; the homeserver's default, 10 on
        Synapse, when ``None``): older events are then fetched by backfill, at most ``backfill_cap`` per room and
        sync. ``key_wait`` is how long an encrypted message waits for its room key before the room is told."""
        matrix = settings.platforms.matrix
        assert matrix.user_id is not None
        self.matrix = matrix
        configured = matrix.alert_reactions
        self.reactions = {
            k.translate(_EMOJI_NOISE): v for k, v in (alert_reactions or configured or ALERT_REACTIONS).items()
        }
        self.engine = engine
        self.messages = messages
        self.clock = engine.clock
        self.poll_ms = poll_ms
        self.prefix = matrix.command_prefix
        self.client = client or build_client(matrix, Path(settings.data_dir) / "matrix" if matrix.encryption else None)
        self.places = CommunityMap(settings.communities)
        self.state = MatrixState(database, engine.clock, matrix.user_id)
        self.encryption = matrix.encryption
        self.out = Outgoing(
            self.client, self.state, self.places, messages, sessions_as=matrix.sessions_as, encrypted=self.encryption
        )
        self.backoff = Backoff()
        self.sync_filter = sync_filter(timeline_limit)
        self.backfill_cap = backfill_cap
        self.seen = SeenEvents()
        self.keys = MissingKeys(self.client, engine.clock, wait=key_wait)
        self._told_keys_missing: set[str] = set()
        self.lanes = Lanes()
        """Command answers, carried out beside the sync loop in order per person (see :mod:`.lanes`)."""
        self._ready = False
        self._joining: set[str] = set()
        self.last_error: str | None = None
        if deliverer is not None:
            deliverer.register(Platform.MATRIX, self)

    @property
    def ready(self) -> bool:
        """True while connected and syncing."""
        return self._ready

    async def send(self, delivery: Delivery) -> None:
        """Deliver an outbox item (the deliverer's Sender protocol)."""
        await self.out.send(delivery)

    # The connection loop.

    async def run(self, stop: asyncio.Event) -> None:
        """Sync until ``stop`` is set, reconnecting with capped backoff; refused credentials end the run."""
        try:
            while not stop.is_set():
                try:
                    await self._serve(stop)
                except PlatformCredentialsError:
                    raise
                except RETRYABLE as error:
                    self._ready = False
                    self.last_error = str(error)
                    delay = self.backoff.next(getattr(error, "retry_after", None))
                    log.warning("Matrix connection lost (%s); trying again in %.1f s", error, delay)
                    if await wait_or_stop(stop, delay):
                        return
        finally:
            self._ready = False
            unfinished = await self.lanes.drain(within=LANES_DRAIN_SECONDS)
            if unfinished:
                log.warning("Matrix: stopping with %d command answers not yet carried out", unfinished)
            if len(self.keys):
                log.warning("Matrix: stopping with %d encrypted messages still waiting for their keys", len(self.keys))
            await self.client.close()

    async def _sync(self, stop: asyncio.Event, **kwargs: Any) -> SyncResponse | None:
        """One sync, abandoned (``None``) when ``stop`` is set first."""
        syncing = asyncio.ensure_future(self.client.sync(sync_filter=self.sync_filter, **kwargs))
        stopping = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait({syncing, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if syncing not in done:
            syncing.cancel()
            return None
        response: SyncResponse = check(syncing.result(), "sync")
        return response

    async def _serve(self, stop: asyncio.Event) -> None:
        await sign_in(self.client, self.matrix)
        if self.encryption:
            await maintain_keys(self.client)  # the device's keys are published before anyone writes to it
        await self.places.resolve_aliases(self.client)
        token = await self.state.next_batch()
        # The first sync loads the rooms' full state. Without a stored token its timeline is history: not replayed.
        first = await self._sync(stop, timeout=0, full_state=True, since=token)
        if first is None:
            return
        if self.encryption:
            await maintain_keys(self.client)
        await self._handle(first, catch_up=True, since=token, history=token is not None)
        token = first.next_batch
        await self.state.set_next_batch(token)
        self._ready = True
        self.backoff.reset()
        log.info("Matrix: signed in as %s and syncing", self.client.user_id)
        while not stop.is_set():
            response = await self._sync(stop, timeout=self.poll_ms, since=token)
            if response is None:
                return
            if self.encryption:
                await maintain_keys(self.client)
            await self._handle(response, catch_up=False, since=token)
            token = response.next_batch
            await self.state.set_next_batch(token)
            self.backoff.reset()

    # Events.

    async def _handle(self, response: SyncResponse, *, catch_up: bool, since: str | None, history: bool = True) -> None:
        """Handle one sync's events. A truncated room timeline is completed first from ``since`` (the previous sync
        token); a failure there raises before anything is handled, so the token is not advanced and nothing is lost.
        With ``history`` off (the very first sync, without a stored token), rooms' timelines are past: skipped."""
        missed: dict[str, list[Any]] = {}
        if since is not None:
            for room_id, info in response.rooms.join.items():
                if info.timeline.limited and info.timeline.prev_batch and room_id in self.client.rooms:
                    try:
                        missed[room_id] = await missed_events(
                            self.client, room_id, info.timeline.prev_batch, since, cap=self.backfill_cap
                        )
                    except DeliveryRefused as error:  # never readable (left, banned): retrying would block every room
                        log.warning("Matrix: cannot read the earlier events in %s: %s", room_id, error)
        for room_id, invite in response.rooms.invite.items():
            await self._guard(self._on_invite(room_id, invite.invite_state), f"invite to {room_id}")
        for room_id, info in response.rooms.join.items():
            self._joining.discard(room_id)
            room = self.client.rooms.get(room_id)
            if room is None or not history:
                continue
            if missed.get(room_id):
                log.info("Matrix: reading %d earlier events in %s (a truncated sync)", len(missed[room_id]), room_id)
            # Events fetched by backfill were written before this sync, and those before the bot's own join in it
            # before the bot was there: only recent commands among them are answered.
            events = info.timeline.events
            joined = self._joined_at(events)
            timeline = [(e, True) for e in missed.get(room_id, [])]
            timeline += [(e, catch_up or index < joined) for index, e in enumerate(events)]
            for event, old in timeline:
                await self._dispatch(room, event, catch_up=old)
        if self.encryption:
            await self._retry_decryption(response)

    def _joined_at(self, events: list[Any]) -> int:
        """The position just after the bot's own (new) join among ``events``, or 0 when it is not there."""
        for index in range(len(events) - 1, -1, -1):
            event = events[index]
            if (
                isinstance(event, RoomMemberEvent)
                and event.state_key == self.client.user_id
                and event.membership == "join"
                and event.prev_membership != "join"
            ):
                return index + 1
        return 0

    async def _dispatch(self, room: MatrixRoom, event: Any, *, catch_up: bool) -> None:
        event_id = getattr(event, "event_id", None)
        if isinstance(event_id, str):
            if event_id in self.keys and not isinstance(event, MegolmEvent):
                self.keys.forget(event_id)  # reached again, decrypted this time: handled now
            elif not self.seen.add(event_id):
                return  # already handled (an overlapping backfill, a retried sync)
        await self._guard(self._on_event(room, event, catch_up=catch_up), f"event in {room.room_id}")
        await asyncio.sleep(0)  # a long catch-up must not starve the rest of the loop

    async def _retry_decryption(self, response: SyncResponse) -> None:
        """Handle the waiting encrypted events whose keys this sync brought; report those that waited too long."""
        sessions = arrived_sessions(response.to_device_events)
        for room_id, event in self.keys.decrypted(sessions) if sessions else []:
            room = self.client.rooms.get(room_id)
            if room is None:
                log.info("Matrix: decrypted %s late, but the bot has left %s", getattr(event, "event_id", "?"), room_id)
                continue
            # Decrypted late: handled as caught up (scanned; a command answered only if still recent).
            await self._guard(self._on_event(room, event, catch_up=True), f"decrypted event in {room_id}")
        for pending in self.keys.overdue():
            await self._guard(self._keys_missing(pending), f"missing key in {pending.room_id}")

    async def _guard(self, work: Any, what: str) -> None:
        # One bad event is logged and skipped; it never stops the sync loop.
        try:
            await work
        except Exception:
            log.exception("Matrix: could not handle %s", what)

    async def _on_invite(self, room_id: str, invite_state: list[Any]) -> None:
        own = self.client.user_id
        inviter = next(
            (e.sender for e in invite_state if isinstance(e, InviteMemberEvent) and e.state_key == own),
            None,
        )
        if room_id in self._joining or room_id in self.client.rooms:
            return  # invite callbacks repeat until the join shows up in a sync
        self._joining.add(room_id)
        check(await self.client.join(room_id), f"joining {room_id}")
        if self._accepts(room_id, inviter, invite_state):
            log.info("Matrix: joined %s (invited by %s)", room_id, inviter)
            return
        log.info("Matrix: declining %s (invited by %s): not a configured room or user", room_id, inviter)
        community = self.places.for_user(inviter, self.client.rooms) if inviter else None
        locale = community.locale if community else "en"
        await self.out.say(room_id, self.messages.t(locale, "matrix.invite_declined"))
        check(await self.client.room_leave(room_id), f"leaving {room_id}")

    def _accepts(self, room_id: str, inviter: str | None, invite_state: list[Any]) -> bool:
        if self.places.for_room(room_id) is not None:
            return True
        if inviter is None:
            return False
        if self.places.configured_user(inviter):
            return True
        # A member of a community may open a direct chat with the bot.
        direct = any(
            isinstance(e, InviteMemberEvent) and e.state_key == self.client.user_id and e.content.get("is_direct")
            for e in invite_state
        )
        return direct and self._community_member(inviter)

    def _community_member(self, user_id: str) -> bool:
        return any(
            user_id in room.users
            for room_id, room in self.client.rooms.items()
            if self.places.for_room(room_id, room) is not None
        )

    async def _community_of(self, room: MatrixRoom, sender: str) -> tuple[Community | None, bool]:
        """The community an event belongs to, and whether the room is a direct chat with the sender."""
        community = self.places.for_room(room.room_id, room)
        if community is not None:
            return community, False
        owner = await self.state.get(f"room:{room.room_id}")  # a session room the bot created
        if owner:
            return self.places.by_native_id(owner), False
        if room.member_count <= 2:
            await self.state.set_dm_room(sender, room.room_id)
            return self.places.for_user(sender, self.client.rooms), True
        return None, False

    def _power_role(self, community: Community, room: MatrixRoom, sender: str, direct: bool) -> Role:
        rooms = (r for rid, r in self.client.rooms.items() if self.places.for_room(rid, r) is community)
        return member_role(community, sender, room, rooms if direct else None)

    async def _on_event(self, room: MatrixRoom, event: Any, *, catch_up: bool) -> None:
        sender = getattr(event, "sender", None)
        if sender is None or sender == self.client.user_id:
            return
        if isinstance(event, MegolmEvent):
            if self.encryption:  # nio could not decrypt it: the key is not shared with this device (yet)
                await self.keys.add(room.room_id, event)
            else:
                await self._cannot_read(room, sender)
            return
        if isinstance(event, ReactionEvent):
            await self._on_reaction(room, event, catch_up=catch_up)
            return
        if not isinstance(event, RoomMessageText | RoomMessageEmote):
            return  # notices (other bots), media, state: nothing to read
        community, direct = await self._community_of(room, sender)
        if community is None:
            if room.member_count <= 2:
                await self.out.say(room.room_id, self.messages.t("en", "matrix.no_community"))
            return
        content = event.source.get("content", {})
        relation = content.get("m.relates_to") or {}
        edited = relation.get("rel_type") == "m.replace"
        text: str = (content.get("m.new_content") or {}).get("body", event.body) if edited else event.body
        recent = self._recent(event)
        ref = self.places.ref(community)
        author = UserRef(Platform.MATRIX, sender)
        display = room.user_name(sender) or sender
        room_ref = None if direct else RoomRef(Platform.MATRIX, room.room_id)
        if text.startswith(self.prefix) and not edited and not isinstance(event, RoomMessageEmote):
            if catch_up and not recent:
                log.info("Matrix: not answering an old command %s written while the bot was down", event.event_id)
            else:
                actions = await self.engine.handle_text(
                    ref,
                    author,
                    text[len(self.prefix) :].strip(),
                    platform_role=self._power_role(community, room, sender, direct),
                    room=room_ref,
                    author_display=display,
                )
                circle_room = None if direct else room.room_id
                await self._answer(actions, room, author, display, community, circle_room, event.event_id)
                return
        await self.engine.handle_message(
            IncomingMessage(
                community=ref,
                author=author,
                text=text,
                event_id=event.event_id,
                room=room_ref,
                link=event_link(room.room_id, event.event_id),
                edited=edited,
                author_display=display,
            )
        )

    async def _answer(
        self,
        actions: list[Action],
        room: MatrixRoom,
        author: UserRef,
        display: str,
        community: Community,
        circle_room: str | None,
        what: str,
    ) -> None:
        """Carry out a command's actions beside the sync loop, after the author's earlier answers (see .lanes)."""
        locale = await self.engine.locale_for(self.places.ref(community), author)
        answer = self.out.perform(
            actions,
            room_id=room.room_id,
            author=author,
            author_display=display,
            community_native_id=community.native_id,
            locale=locale,
            circle_room=circle_room,
        )
        self.lanes.add(author.native_id, answer, f"the answer to {what}")

    def _recent(self, event: Any) -> bool:
        """Whether ``event`` was sent within :data:`ANSWER_WINDOW` (by the homeserver's timestamp)."""
        age_ms = self.clock.now().timestamp() * 1000 - event.server_timestamp
        return bool(age_ms < ANSWER_WINDOW.total_seconds() * 1000)

    async def _on_reaction(self, room: MatrixRoom, event: ReactionEvent, *, catch_up: bool) -> None:
        """A reaction on an alert notice claims or resolves that alert as the reactor; the engine checks the role."""
        action = reaction_action(event.key, self.reactions)
        if action is None:
            return
        escalation_id = await self.state.alert_for_event(event.reacts_to)
        if escalation_id is None:
            return  # a reaction on anything but an alert notice
        recent = self._recent(event)
        if catch_up and not recent:
            return
        sender = event.sender
        community, direct = await self._community_of(room, sender)
        if community is None or direct:
            return
        ref = self.places.ref(community)
        author = UserRef(Platform.MATRIX, sender)
        display = room.user_name(sender) or sender
        invocation = CommandInvocation(
            community=ref,
            author=author,
            command=f"alert {action}",
            args={"id": escalation_id},
            room=RoomRef(Platform.MATRIX, room.room_id),
            platform_role=self._power_role(community, room, sender, direct),
            author_display=display,
        )
        log.info("Matrix: %s reacted %r on alert %s: %s", sender, event.key, escalation_id, action)
        actions = await self.engine.handle_command(invocation)
        await self._answer(actions, room, author, display, community, None, f"the reaction {event.event_id}")

    async def _cannot_read(self, room: MatrixRoom, sender: str) -> None:
        """Say once per room that encrypted messages cannot be read there."""
        key = f"encrypted-told:{room.room_id}"
        if await self.state.get(key):
            return
        community, _ = await self._community_of(room, sender)
        await self.out.say(
            room.room_id, self.messages.t(community.locale if community else "en", "matrix.encrypted_unreadable")
        )
        await self.state.set(key, "1")

    async def _keys_missing(self, pending: Pending) -> None:
        """An encrypted message whose key has not come: a warning for each such message, and the room told once."""
        event, room_id = pending.event, pending.room_id
        log.warning(
            "Matrix: the room key of %s from %s in %s has not arrived after %s; it cannot be read until it does",
            event.event_id,
            event.sender,
            room_id,
            self.keys.wait,
        )
        room = self.client.rooms.get(room_id)
        if room is None or room_id in self._told_keys_missing:
            return
        self._told_keys_missing.add(room_id)
        community, _ = await self._community_of(room, event.sender)
        locale = community.locale if community else "en"
        await self.out.say(room_id, self.messages.t(locale, "matrix.keys_missing"))
