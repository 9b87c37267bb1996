"""Crisis messages, alerts with persistent buttons, and the outbox sender's error mapping, with the real discord.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.adapters.discord import create_adapter
from bot.delivery.outbox import Delivery
from bot.errors import DeliveryRefused, PlatformError
from bot.i18n import catalogue
from bot.model import Platform
from tests.discord.world import World, ephemeral_text, running_world

URGENT = "I have the pills ready and I'm doing it tonight"


@pytest.fixture
async def scanning(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[World]:
    async with running_world(tmp_path, sqlite_template, message_content_intent=True) as running:
        yield running


async def _alert(world: World) -> tuple[int, object]:
    member = world.member("amal")
    await member.send(world.general, URGENT)
    assert await world.drain() >= 2
    alert = world.moderators.last_message
    assert alert is not None
    return member.id, alert


async def test_crisis_message_reaches_the_member_and_the_moderators(scanning: World) -> None:
    member_id, alert = await _alert(scanning)
    dms = [channel for channel in scanning.adapter.client.private_channels if channel.recipient is not None]
    assert [channel.recipient.id for channel in dms if channel.recipient] == [member_id]
    reply = scanning.env.http_requests
    assert any(entry.path.endswith("/messages") and entry.json and entry.json.get("nonce") for entry in reply)
    assert "URGENT" in alert.content  # type: ignore[attr-defined]
    # The channel is named as a channel mention (a link showing #general), not a bare number.
    assert f" in <#{scanning.general.id}>" in alert.content  # type: ignore[attr-defined]
    on_call = scanning.guild.roles["On call"]
    assert alert.content.startswith(f"<@&{on_call.id}>")  # type: ignore[attr-defined]
    labels = [child.label for row in alert.components for child in row.children]  # type: ignore[attr-defined]
    assert labels == ["Claim", "Resolve"]
    assert not alert.mention_everyone  # type: ignore[attr-defined]


async def test_claim_button_checks_the_clicking_moderator(scanning: World) -> None:
    _, alert = await _alert(scanning)
    stranger = scanning.member("sam")
    refused = await stranger.click(alert, label="Claim")  # type: ignore[arg-type]
    assert ephemeral_text(refused) == catalogue().t(
        "en", "error.not_allowed", role=catalogue().t("en", "role_phrase.moderator")
    )
    moderator = scanning.member("mona", scanning.mod_role)
    claimed = await moderator.click(alert, label="Claim")  # type: ignore[arg-type]
    assert "You have alert #1" in ephemeral_text(claimed)


async def test_alert_buttons_work_after_a_restart(scanning: World) -> None:
    _, alert = await _alert(scanning)
    restarted = create_adapter(scanning.app)
    await scanning.env.restart_bot(restarted.client)
    moderator = scanning.member("mona", scanning.mod_role)
    resolved = await moderator.click(alert, label="Resolve")  # type: ignore[arg-type]
    assert "#1" in ephemeral_text(resolved)


async def test_edited_messages_are_scanned(scanning: World) -> None:
    member = scanning.member("amal")
    message = await member.send(scanning.general, "hello everyone")
    assert await scanning.drain() == 0
    await member.edit(message, URGENT)
    assert await scanning.drain() >= 2


async def test_closed_dms_are_refused_for_good(world: World) -> None:
    member = world.member("amal")
    world.env.inject_error("POST", "/channels/*/messages", status=403, code=50007, message="Cannot send messages")
    sender = world.adapter.bridge.sender
    assert sender is not None
    with pytest.raises(DeliveryRefused, match="50007"):
        await sender.send(Delivery("k1", Platform.DISCORD, "dm", str(member.id), "hello"))


async def test_rate_limits_and_server_errors_are_retried_later(world: World) -> None:
    sender = world.adapter.bridge.sender
    assert sender is not None
    room = str(world.moderators.id)
    world.env.inject_error("POST", "/channels/*/messages", status=429, code=0, message="You are being rate limited.")
    with pytest.raises(PlatformError) as limited:
        await sender.send(Delivery("k2", Platform.DISCORD, "room", room, "alert"))
    assert not isinstance(limited.value, DeliveryRefused)
    world.env.inject_error("POST", "/channels/*/messages", status=502, code=0)
    with pytest.raises(PlatformError, match="502"):
        await sender.send(Delivery("k3", Platform.DISCORD, "room", room, "alert"))
    await sender.send(Delivery("k4", Platform.DISCORD, "room", room, "Alert @everyone"))
    last = world.moderators.last_message
    assert last is not None
    assert last.content == "Alert @everyone"
    assert not last.mention_everyone


async def test_unknown_session_space_is_refused(world: World) -> None:
    sender = world.adapter.bridge.sender
    assert sender is not None
    with pytest.raises(DeliveryRefused):
        await sender.send(Delivery("k5", Platform.DISCORD, "room", "session-99", "closing"))
