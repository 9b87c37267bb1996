"""Alert claims by reaction, sessions as threads, and a homeserver restart in the middle of a session."""

from __future__ import annotations

import asyncio
import time

from bot.adapters.matrix import MatrixAdapter
from bot.adapters.matrix.adapter import ALERT_REACTIONS, reaction_action
from bot.delivery.outbox import Delivery
from bot.model import CloseSpace, OpenSpace, Platform, PostToRoom, RoomRef, UserRef
from tests.matrix.conftest import World
from tests.matrix.people import running

CONCERN = "honestly I want to kill myself"


def _adapter(app: object) -> MatrixAdapter:
    adapter = app.adapters[0]  # type: ignore[attr-defined]
    assert isinstance(adapter, MatrixAdapter)
    return adapter


def test_reaction_keys_ignore_skin_tones_and_variation_selectors() -> None:
    assert reaction_action("✋", ALERT_REACTIONS) == "claim"
    assert reaction_action("✋🏽", ALERT_REACTIONS) == "claim"
    assert reaction_action("✅", ALERT_REACTIONS) == "resolve"
    assert reaction_action("✔️", ALERT_REACTIONS) == "resolve"
    assert reaction_action("👍", ALERT_REACTIONS) is None


async def test_a_moderator_claims_and_resolves_an_alert_by_reacting_to_its_notice(world: World) -> None:
    alice, moderator, bot = world.alice, world.moderator, world.bot.user_id
    await moderator.join(world.moderators)
    async with running(world.settings()):
        await alice.say(world.general, CONCERN)
        alert = await moderator.expect(lambda s: s.sender == bot and s.room_id == world.moderators)
        assert "!alert claim 1" in alert.body
        # Reactions on anything else, or with other keys, do nothing.
        await moderator.react(world.moderators, alert.event_id, "👍")
        await moderator.nothing(lambda s: s.sender == bot and "alert #1" in s.body.lower(), within=1.0)
        await moderator.react(world.moderators, alert.event_id, "✋️")
        claimed = await moderator.expect(lambda s: s.sender == bot and "!alert resolve 1" in s.body)
        assert "alert #1" in claimed.body
        await moderator.react(world.moderators, alert.event_id, "✅")
        await moderator.expect(lambda s: s.sender == bot and "Alert #1 is resolved" in s.body)

        # A member at power 0 in the moderators' room who reacts is refused by the engine's role check.
        await moderator.client.room_invite(world.moderators, alice.user_id)
        await alice.join(world.moderators)
        await alice.say(world.general, CONCERN + " again tonight")
        second = await moderator.expect(lambda s: s.sender == bot and "!alert claim 2" in s.body)
        await alice.react(world.moderators, second.event_id, "✋")
        refused = await alice.expect(lambda s: s.sender == bot and s.body.startswith("Only"))
        assert refused.room_id not in (world.general, world.moderators)  # privately
        assert "moderator" in refused.body
        await moderator.nothing(lambda s: s.sender == bot and "You have alert #2" in s.body, within=1.0)


async def test_sessions_as_threads_open_post_and_close_in_the_circles_room(world: World) -> None:
    alice, bot = world.alice, world.bot.user_id
    async with running(world.settings(sessions_as="thread")) as app:
        adapter = _adapter(app)
        space = RoomRef(Platform.MATRIX, "session-7")
        author = UserRef(Platform.MATRIX, world.moderator.user_id)
        await adapter.out.perform(
            [
                OpenSpace(space, "Evening <circle>", (UserRef(Platform.MATRIX, alice.user_id),)),
                PostToRoom(space, "Welcome to the session"),
            ],
            room_id=world.general,
            author=author,
            author_display="mod",
            community_native_id="test",
            locale="en",
            circle_room=world.general,
        )
        root = await alice.expect(lambda s: s.sender == bot and "Session open: Evening <circle>" in s.body)
        assert root.room_id == world.general
        assert "m.relates_to" not in root.content
        welcome = await alice.expect(lambda s: s.sender == bot and s.body == "Welcome to the session")
        assert welcome.room_id == world.general
        relation = welcome.content["m.relates_to"]
        assert relation["rel_type"] == "m.thread"
        assert relation["event_id"] == root.event_id
        # Opening again is a no-op; the outbox reaches the thread by the space id.
        await adapter.out.open_space(OpenSpace(space, "again", ()), "test", world.general)
        await adapter.send(Delivery("reminder:7", Platform.MATRIX, "room", "session-7", "Ten minutes left"))
        later = await alice.expect(lambda s: s.sender == bot and s.body == "Ten minutes left")
        assert later.content["m.relates_to"]["event_id"] == root.event_id
        await alice.nothing(lambda s: s.sender == bot and "again" in s.body, within=0.5)
        await adapter.out.perform(
            [CloseSpace(space)],
            room_id=world.general,
            author=author,
            author_display="mod",
            community_native_id="test",
            locale="en",
        )
        closed = await alice.expect(lambda s: s.sender == bot and "This session is closed" in s.body)
        assert closed.content["m.relates_to"]["event_id"] == root.event_id


async def test_a_homeserver_restart_mid_session_is_survived_with_backoff(world: World) -> None:
    alice, moderator, bot, synapse = world.alice, world.moderator, world.bot.user_id, world.synapse
    await moderator.join(world.moderators)
    async with running(world.settings()) as app:
        adapter = _adapter(app)
        await alice.say(world.general, "!circle list")
        await alice.expect(lambda s: s.sender == bot)
        try:
            await asyncio.to_thread(synapse.stop)
            deadline = time.monotonic() + 15
            while adapter.ready:  # the long-poll sync breaks when the homeserver goes away
                assert time.monotonic() < deadline, "the adapter did not notice the homeserver stopping"
                await asyncio.sleep(0.05)  # polling readiness, bounded by the deadline
        finally:
            await asyncio.to_thread(synapse.start)
        assert adapter.last_error is not None
        assert adapter.backoff.failures >= 1  # it waited before trying again
        # Right after the restart, before the bot is necessarily back: a crisis message still raises its alert.
        event_id = await alice.say(world.general, CONCERN)
        alert = await moderator.expect(lambda s: s.sender == bot and s.room_id == world.moderators, within=40)
        assert event_id in alert.body
        deadline = time.monotonic() + 40
        while not adapter.ready:
            assert time.monotonic() < deadline, "the adapter did not reconnect"
            await asyncio.sleep(0.05)  # polling readiness, bounded by the deadline
        assert adapter.backoff.failures == 0  # a good sync resets the backoff
        await alice.say(world.general, "!help")
        await alice.expect(lambda s: s.sender == bot and "circle join" in s.body, within=20)
