"""Crisis alerts, invitations, restarts and refused credentials, on a real Synapse."""

from __future__ import annotations

from bot.app import EXIT_CREDENTIALS, Application
from bot.config import Settings
from tests.matrix.conftest import World
from tests.matrix.people import running

CONCERN = "honestly I want to kill myself"


async def test_a_crisis_message_is_answered_privately_and_alerts_the_moderators(world: World) -> None:
    alice, moderator, bot = world.alice, world.moderator, world.bot.user_id
    await moderator.join(world.moderators)
    async with running(world.settings()):
        event_id = await alice.say(world.general, CONCERN)
        reply = await alice.expect(lambda s: s.sender == bot)
        assert reply.room_id != world.general  # privately, in a DM
        alert = await moderator.expect(lambda s: s.sender == bot and s.room_id == world.moderators)
        assert f"https://matrix.to/#/{world.general}/{event_id}" in alert.body
        assert "!alert claim 1" in alert.body
        assert "room" not in alert.content["m.mentions"]  # pings only the on-call moderator, and only when urgent
        await moderator.say(world.moderators, "!alert claim 1")
        claimed = await moderator.expect(lambda s: s.sender == bot and "!alert resolve 1" in s.body)
        assert "alert #1" in claimed.body


async def test_hostile_names_are_shown_literally_and_never_ping(world: World) -> None:
    moderator, bot = world.moderator, world.bot.user_id
    async with running(world.settings()):
        await moderator.say(world.general, '!circle create "<b>Bold</b> @room"')
        created = await moderator.expect(lambda s: s.sender == bot and "Bold" in s.body)
        assert "<b>Bold</b> @room" in created.body
        assert "&lt;b&gt;Bold&lt;/b&gt; @room" in created.content["formatted_body"]
        assert "<b>" not in created.content["formatted_body"]
        assert created.content["m.mentions"] == {}


async def test_an_invite_from_an_unknown_room_is_declined_politely(world: World) -> None:
    bob, bot = world.bob, world.bot.user_id
    async with running(world.settings()):
        stranger = await bob.create_room("Elsewhere", [bot])
        notice = await bob.expect(lambda s: s.sender == bot and s.room_id == stranger)
        assert "leaving this room" in notice.body
        # The bot left; a repeated invite is handled the same way, without error.
        await bob.nothing(lambda s: s.sender == bot and s.room_id == stranger, within=1.0)


async def test_a_restart_replays_nothing_and_scans_what_was_written_while_down(world: World) -> None:
    alice, moderator, bot = world.alice, world.moderator, world.bot.user_id
    await moderator.join(world.moderators)
    settings = world.settings()
    async with running(settings):
        await alice.say(world.general, "!circle list")
        await alice.expect(lambda s: s.sender == bot)
    # While the bot is down: a crisis message (scanned after the restart) arrives.
    event_id = await alice.say(world.general, CONCERN)
    async with running(settings):
        alert = await moderator.expect(lambda s: s.sender == bot and s.room_id == world.moderators)
        assert event_id in alert.body
        # The earlier command was not answered again.
        await alice.nothing(
            lambda s: s.sender == bot and "circle" in s.body.lower() and "alert" not in s.body, within=1.0
        )


async def test_a_refused_access_token_exits_with_status_3(world: World) -> None:
    settings = world.settings()
    data = settings.model_dump()
    data["platforms"]["matrix"]["access_token"] = "syt_not_a_real_token"
    data["data_dir"] = str(world.data_dir)
    assert await Application(Settings.model_validate(data)).run() == EXIT_CREDENTIALS


async def test_a_session_space_is_a_members_only_room_closed_read_only(world: World) -> None:
    from bot.adapters.matrix import MatrixAdapter
    from bot.delivery.outbox import Delivery
    from bot.model import CloseSpace, OpenSpace, Platform, RoomRef, UserRef

    alice, bot = world.alice, world.bot.user_id
    async with running(world.settings()) as app:
        adapter = app.adapters[0]
        assert isinstance(adapter, MatrixAdapter)
        space = RoomRef(Platform.MATRIX, "session-1")
        room_id = await adapter.out.open_space(
            OpenSpace(space, "Evening <circle>", (UserRef(Platform.MATRIX, alice.user_id),)), world.general
        )
        assert await adapter.out.open_space(OpenSpace(space, "again", ()), world.general) == room_id  # once
        # The outbox reaches the session by its space id, under the item's key.
        await adapter.send(Delivery("welcome:1", Platform.MATRIX, "room", "session-1", "Welcome"))
        welcome = await alice.expect(lambda s: s.sender == bot and s.room_id == room_id)
        assert welcome.body == "Welcome"
        history = await adapter.client.room_get_state_event(room_id, "m.room.history_visibility")
        assert history.content["history_visibility"] == "invited"  # type: ignore[union-attr]  # members only, from their invite
        await adapter.out.close_space(CloseSpace(space), "en")
        await alice.expect(lambda s: s.room_id == room_id and "read-only" in s.body)
        levels = await adapter.client.room_get_state_event(room_id, "m.room.power_levels")
        assert levels.content["events_default"] == 100  # type: ignore[union-attr]
