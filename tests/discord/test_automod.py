"""AutoMod action events as an extra crisis signal (``platforms.discord.automod_signal``): what Discord's AutoMod
blocked never reaches the channel, but still reaches the moderators, once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.adapters.discord import create_adapter
from bot.app import Application
from bot.clock import ManualClock
from bot.storage.models import Escalation
from tests.discord.world import GUILD_ID, World, running_world, settings_for

URGENT = "I have the pills ready and I'm doing it tonight"
BLOCK = {"type": 1, "metadata": {}}


def _alert_action(world: World) -> dict[str, Any]:
    """AutoMod's own alert to a channel (not the bot's alert)."""
    return {"type": 2, "metadata": {"channel_id": str(world.moderators.id)}}


@pytest.fixture
async def world(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[World]:
    async with running_world(tmp_path, sqlite_template, message_content_intent=True, automod_signal=True) as running:
        yield running


def _rule(world: World, *actions: dict[str, Any]) -> None:
    """A keyword rule on the crisis message, as a server might have against self-harm words."""
    owner = world.env.backend.guilds[GUILD_ID].owner_id
    world.env.backend.create_auto_mod_rule(
        GUILD_ID,
        owner,
        {
            "name": "Self-harm words",
            "event_type": 1,
            "trigger_type": 1,
            "trigger_metadata": {"keyword_filter": ["*pills*"]},
            "actions": list(actions),
        },
    )


async def _escalations(world: World) -> list[Escalation]:
    async with world.app.database.transaction() as session:
        return list((await session.execute(select(Escalation))).scalars())


async def _alerts(world: World) -> list[Any]:
    return [message for message in world.moderators.history() if "URGENT" in message.content]


async def test_a_blocked_crisis_message_still_reaches_the_moderators_once(world: World) -> None:
    _rule(world, BLOCK, _alert_action(world))  # two actions: Discord reports each, for one message
    member = world.member("amal")
    await member.send(world.general, URGENT)
    await world.env.settle()
    assert not [message for message in world.general.history() if message.content == URGENT]  # blocked
    await world.drain()
    [escalation] = await _escalations(world)
    assert escalation.message_count == 1
    assert len(await _alerts(world)) == 1
    alert = (await _alerts(world))[0]
    assert f"https://discord.com/channels/{GUILD_ID}/{world.general.id}" in alert.content


async def test_a_flagged_message_that_also_arrives_is_scanned_once(world: World) -> None:
    member = world.member("amal")
    message = await member.send(world.general, URGENT)  # no rule: the message arrives and is scanned
    await world.env.settle()
    # Then AutoMod's report of the same message (by its id), as Discord sends for an alert-only rule.
    world.env.backend.emit(
        "AUTO_MODERATION_ACTION_EXECUTION",
        {
            "guild_id": str(GUILD_ID),
            "action": _alert_action(world),
            "rule_id": "1",
            "rule_trigger_type": 1,
            "user_id": str(member.id),
            "channel_id": str(world.general.id),
            "message_id": str(message.id),
            "content": URGENT,
            "matched_keyword": "*pills*",
            "matched_content": "pills",
        },
    )
    await world.env.settle()
    await world.drain()
    [escalation] = await _escalations(world)
    assert escalation.message_count == 1
    assert len(await _alerts(world)) == 1


async def test_the_same_words_blocked_again_later_are_a_new_message(world: World) -> None:
    _rule(world, BLOCK)
    member = world.member("amal")
    await member.send(world.general, URGENT)
    await world.env.settle()
    world.app.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
    await member.send(world.general, URGENT)
    await world.env.settle()
    [escalation] = await _escalations(world)
    assert escalation.message_count == 2  # one open alert, told of both messages


async def test_off_by_default(tmp_path: Path, sqlite_template: Path) -> None:
    async with running_world(tmp_path, sqlite_template, message_content_intent=True) as world:
        _rule(world, BLOCK)
        await world.member("amal").send(world.general, URGENT)
        await world.env.settle()
        await world.drain()
        async with world.app.database.transaction() as session:
            assert await session.scalar(select(func.count()).select_from(Escalation)) == 0


@pytest.mark.parametrize("signal", [True, False])
async def test_the_intent_is_asked_for_only_with_the_setting(tmp_path: Path, signal: bool) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}"
    app = Application(settings_for(tmp_path, url, automod_signal=signal), clock=ManualClock())
    try:
        assert create_adapter(app).client.intents.auto_moderation_execution is signal
    finally:
        await app.database.close()
