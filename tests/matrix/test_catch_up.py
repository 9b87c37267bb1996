"""Catching up after downtime when the homeserver truncates a room's timeline (``limited``): the older events are
fetched back to the previous sync position, scanned once, and old commands among them are not answered. Also: the
very first start does not replay history, and history from before the bot joined a room is not answered as new."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from nio import AsyncClient, RoomGetEventResponse, RoomMessagesError

from bot.adapters.matrix.adapter import ANSWER_WINDOW
from bot.clock import ManualClock
from bot.config import Settings
from tests.matrix.conftest import World
from tests.matrix.people import Person, running

CONCERN = "honestly I want to kill myself"
TIMELINE_LIMIT = 3
CRISIS_REPLY = "not a counsellor"


async def _sent_at(person: Person, room_id: str, event_id: str) -> int:
    answer = await person.client.room_get_event(room_id, event_id)
    assert isinstance(answer, RoomGetEventResponse), answer
    return int(answer.event.server_timestamp)


async def _ran_once(world: World, settings: Settings) -> None:
    """The bot runs once (so a sync token is stored) and answers alice's ``!help``, then stops."""
    async with running(settings, timeline_limit=TIMELINE_LIMIT):
        await world.alice.say(world.general, "!help")
        await world.alice.expect(lambda s: s.sender == world.bot.user_id and "circle join" in s.body)


async def test_messages_beyond_a_truncated_catch_up_sync_are_read_by_backfill(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    alice, moderator, bot, general = world.alice, world.moderator, world.bot.user_id, world.general
    await moderator.join(world.moderators)
    settings = world.settings()
    await _ran_once(world, settings)

    # While the bot is down, more than the sync timeline holds: the crisis message is the oldest, so only a backfill
    # reaches it; then an old command, chatter, and a recent command.
    concern_id = await alice.say(general, CONCERN)
    old_id = await alice.say(general, "!circle list")
    for n in range(TIMELINE_LIMIT + 2):
        await alice.say(general, f"just chatting {n}")
    recent_id = await alice.say(general, "!help")
    old_at = await _sent_at(alice, general, old_id)
    recent_at = await _sent_at(alice, general, recent_id)
    assert recent_at > old_at
    # The bot's clock stands where the old command is just past the answer window and the recent one is not.
    now = datetime.fromtimestamp((old_at + (recent_at - old_at) / 2) / 1000, UTC) + ANSWER_WINDOW
    clock = ManualClock(now)

    start = alice._read = len(alice.seen)
    moderator._read = len(moderator.seen)
    with caplog.at_level(logging.INFO, logger="bot.adapters.matrix.adapter"):
        async with running(settings, clock=clock, timeline_limit=TIMELINE_LIMIT):
            alert = await moderator.expect(lambda s: s.sender == bot and s.room_id == world.moderators)
            assert concern_id in alert.body
            reply = await alice.expect(lambda s: s.sender == bot and CRISIS_REPLY in s.body)
            assert reply.room_id != general  # privately
            alice._read = start  # the two answers may come in either order
            help_answer = await alice.expect(lambda s: s.sender == bot and "circle join" in s.body)  # the recent !help
            # Nothing more: one alert, one crisis reply, one answer (to the recent command, not the old one).
            await moderator.nothing(lambda s: s.sender == bot and s.room_id == world.moderators, within=2.0)
            alice._read = start
            answered = {reply.event_id, help_answer.event_id}
            await alice.nothing(lambda s: s.sender == bot and s.event_id not in answered, within=0.5)
    backfilled = [r.getMessage() for r in caplog.records if "earlier events in " + general in r.getMessage()]
    assert backfilled, "the catch-up sync was not truncated, so backfill was not exercised"
    assert any(f"not answering an old command {old_id}" in r.getMessage() for r in caplog.records)


async def test_a_restart_with_nothing_missed_backfills_nothing_and_answers_once(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    alice, bot, general = world.alice, world.bot.user_id, world.general
    settings = world.settings()
    await _ran_once(world, settings)
    await alice.say(general, "!help")  # one message while down: within the timeline limit
    with caplog.at_level(logging.INFO, logger="bot.adapters.matrix.adapter"):
        async with running(settings, timeline_limit=TIMELINE_LIMIT):
            await alice.expect(lambda s: s.sender == bot and "circle join" in s.body)
            await alice.nothing(lambda s: s.sender == bot and "circle join" in s.body, within=1.5)  # once
    assert not [r for r in caplog.records if "earlier events in " + general in r.getMessage()]


async def test_a_429_while_paging_backs_off_keeps_the_sync_token_and_loses_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    alice, moderator, bot, general = world.alice, world.moderator, world.bot.user_id, world.general
    await moderator.join(world.moderators)
    settings = world.settings()
    await _ran_once(world, settings)
    concern_id = await alice.say(general, CONCERN)
    for n in range(TIMELINE_LIMIT + 2):
        await alice.say(general, f"just chatting {n}")

    # The homeserver answers the bot's first /messages in the general room with a 429.
    real = AsyncClient.room_messages
    refused: list[str] = []

    async def limited(self: AsyncClient, room_id: str, *args: Any, **kwargs: Any) -> Any:
        if self.user_id == bot and room_id == general and not refused:
            refused.append(room_id)
            error = RoomMessagesError("Too Many Requests", "M_LIMIT_EXCEEDED", 200)
            error.transport_response = SimpleNamespace(status=429)  # type: ignore[assignment]
            return error
        return await real(self, room_id, *args, **kwargs)

    monkeypatch.setattr(AsyncClient, "room_messages", limited)
    moderator._read = len(moderator.seen)
    with caplog.at_level(logging.INFO, logger="bot.adapters.matrix"):
        async with running(settings, timeline_limit=TIMELINE_LIMIT, within=20):
            alert = await moderator.expect(lambda s: s.sender == bot and s.room_id == world.moderators)
            assert concern_id in alert.body
            await moderator.nothing(lambda s: s.sender == bot and s.room_id == world.moderators, within=2.0)
    assert refused, "the injected 429 was never reached"
    lost = [r.getMessage() for r in caplog.records if "Matrix connection lost" in r.getMessage()]
    assert any("M_LIMIT_EXCEEDED" in message for message in lost)


async def test_a_refused_backfill_is_logged_and_does_not_block_the_other_events(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    alice, bot, general = world.alice, world.bot.user_id, world.general
    settings = world.settings()
    await _ran_once(world, settings)
    for n in range(TIMELINE_LIMIT + 2):
        await alice.say(general, f"just chatting {n}")
    await alice.say(general, "!help")

    # The homeserver refuses the bot's /messages in the general room (403): retrying would never help.
    real = AsyncClient.room_messages

    async def forbidden(self: AsyncClient, room_id: str, *args: Any, **kwargs: Any) -> Any:
        if self.user_id == bot and room_id == general:
            error = RoomMessagesError("Forbidden", "M_FORBIDDEN")
            error.transport_response = SimpleNamespace(status=403)  # type: ignore[assignment]
            return error
        return await real(self, room_id, *args, **kwargs)

    monkeypatch.setattr(AsyncClient, "room_messages", forbidden)
    alice._read = len(alice.seen)
    with caplog.at_level(logging.INFO, logger="bot.adapters.matrix"):
        async with running(settings, timeline_limit=TIMELINE_LIMIT):
            await alice.expect(lambda s: s.sender == bot and "circle join" in s.body)  # the timeline is still read
    assert any(f"cannot read the earlier events in {general}" in r.getMessage() for r in caplog.records)
    assert not any("Matrix connection lost" in r.getMessage() for r in caplog.records)


async def test_the_very_first_start_does_not_replay_the_rooms_history(world: World) -> None:
    alice, bot, general = world.alice, world.bot.user_id, world.general
    account = Person(world.synapse.url, world.bot)  # the bot's account joined before Peer Circles ever ran
    try:
        await account.join(general)
    finally:
        await account.close()
    await alice.say(general, "!help")  # history, from before the bot's first start
    async with running(world.settings()):
        await alice.nothing(lambda s: s.sender == bot, within=1.5)
        await alice.say(general, "!help")
        await alice.expect(lambda s: s.sender == bot and "circle join" in s.body)


async def test_history_from_before_the_bot_joined_is_not_answered_as_new(world: World) -> None:
    alice, bot, general = world.alice, world.bot.user_id, world.general
    old_id = await alice.say(general, "!circle list")  # the bot is invited, not yet joined
    recent_id = await alice.say(general, "!help")
    old_at = await _sent_at(alice, general, old_id)
    recent_at = await _sent_at(alice, general, recent_id)
    assert recent_at > old_at
    clock = ManualClock(datetime.fromtimestamp((old_at + (recent_at - old_at) / 2) / 1000, UTC) + ANSWER_WINDOW)
    start = alice._read = len(alice.seen)
    async with running(world.settings(), clock=clock):
        answer = await alice.expect(lambda s: s.sender == bot and "circle join" in s.body)  # the recent command
        alice._read = start
        await alice.nothing(lambda s: s.sender == bot and s.event_id != answer.event_id, within=1.5)
