"""Modals for private notes, Confirm / Cancel before leaving or forgetting, direct messages that could not be
delivered shown on the next interaction, attendance from who spoke in a session thread, and localised choices;
all through the real discord.py in a simulated server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import discord
import pytest
import simcord
from sqlalchemy import select

from bot.adapters.discord.commands import CatalogueTranslator
from bot.adapters.discord.prompts import CONFIRM_TIMEOUT
from bot.adapters.discord.undelivered import Undelivered
from bot.clock import ManualClock
from bot.delivery.outbox import Delivery
from bot.errors import DeliveryRefused
from bot.i18n import catalogue
from bot.model import CommandInvocation, Platform
from bot.storage.models import Member, Membership, MembershipStatus
from bot.storage.schedule_models import Attendance
from tests.discord.world import World, ephemeral_text

CIRCLE = "Evening circle"


async def _circle_with(world: World, *members: simcord.MemberActor) -> simcord.MemberActor:
    moderator = world.member("mona", world.mod_role)
    await moderator.slash(world.general, "circle create", name=CIRCLE)
    for member in (moderator, *members):
        await member.slash(world.general, "circle join", circle=CIRCLE)
    return moderator


async def _is_member(world: World, member: simcord.MemberActor) -> bool:
    async with world.app.database.transaction() as session:
        status = await session.scalar(
            select(Membership.status)
            .join(Member, Member.id == Membership.member_id)
            .where(Member.native_id == str(member.id))
        )
    return status == MembershipStatus.ACTIVE


def _texts(result: simcord.InteractionResult) -> list[str]:
    shown = [result.response] if result.response is not None else []
    return [message.content for message in (*shown, *result.followups)]


# -- 1. modals -----------------------------------------------------------------------------------------------------


def _modal_fields(modal: dict[str, Any]) -> list[dict[str, Any]]:
    fields: list[dict[str, Any]] = []
    for row in modal["components"]:
        fields.extend(row.get("components") or ([row["component"]] if "component" in row else []))
    return fields


async def test_checkin_without_a_note_asks_for_it_in_a_modal(world: World) -> None:
    member = world.member("sam")
    shown = await member.slash(world.general, "checkin add", mood=2)
    assert shown.modal is not None
    assert shown.modal["title"] == catalogue().t("en", "discord.modal.checkin")
    (field,) = _modal_fields(shown.modal)
    assert field["label"] == catalogue().t("en", "discord.modal.note")
    assert field["required"] is False
    seen: list[CommandInvocation] = []
    original = world.adapter.bridge.engine.handle_command

    async def spy(invocation: CommandInvocation) -> Any:
        seen.append(invocation)
        return await original(invocation)

    world.adapter.bridge.engine.handle_command = spy  # type: ignore[method-assign]
    submitted = await member.submit_modal(shown, {field["custom_id"]: "a hard week, but better today"})
    assert ephemeral_text(submitted)
    assert [(i.command, dict(i.args)) for i in seen] == [
        ("checkin", {"mood": 2, "note": "a hard week, but better today"})
    ]
    # Given as an option, the note needs no modal.
    direct = await member.slash(world.general, "checkin add", mood=4, note="fine")
    assert direct.modal is None
    assert ephemeral_text(direct)


async def test_an_empty_modal_runs_the_command_without_a_note(world: World) -> None:
    member = world.member("sam")
    shown = await member.slash(world.general, "checkin add", mood=3)
    assert shown.modal is not None
    submitted = await member.submit_modal(shown, {})
    assert ephemeral_text(submitted)


async def test_support_without_a_note_goes_out_at_once_and_a_note_is_scanned(world: World) -> None:
    """A request for a human never waits on a modal someone might close: it is sent straight away."""
    member = world.member("amal")
    shown = await member.slash(world.general, "support")
    assert shown.modal is None
    assert ephemeral_text(shown)
    assert await world.drain() >= 1
    assert world.moderators.last_message is not None
    urgent = world.member("ben")
    await urgent.slash(world.general, "support", note="I have the pills ready and I'm doing it tonight")
    assert await world.drain() >= 1
    alert = world.moderators.last_message
    assert alert is not None
    assert "URGENT" in alert.content


# -- 2. confirmation buttons ------------------------------------------------------------------------------------


async def test_leaving_a_circle_asks_first_and_confirm_leaves(world: World) -> None:
    sam = world.member("sam")
    await _circle_with(world, sam)
    asked = await sam.slash(world.general, "circle leave", circle=CIRCLE)
    assert ephemeral_text(asked) == catalogue().t("en", "discord.confirm.circle_leave", circle=CIRCLE)
    assert asked.response is not None
    labels = [child["label"] for row in asked.response.components for child in row["components"]]
    assert labels == ["Confirm", "Cancel"]
    assert await _is_member(world, sam)

    confirmed = await sam.click(asked.response, label="Confirm")
    texts = _texts(confirmed)
    assert any(CIRCLE in text for text in texts), texts
    assert not await _is_member(world, sam)


async def test_cancel_and_timeout_change_nothing(world: World) -> None:
    sam = world.member("sam")
    await _circle_with(world, sam)
    asked = await sam.slash(world.general, "circle leave", circle=CIRCLE)
    assert asked.response is not None
    cancelled = await sam.click(asked.response, label="Cancel")
    assert catalogue().t("en", "discord.confirm.cancelled") in _texts(cancelled)
    assert await _is_member(world, sam)

    asked = await sam.slash(world.general, "circle leave", circle=CIRCLE)
    await world.env.advance_time(CONFIRM_TIMEOUT + 1)
    assert asked.response is not None
    assert asked.response.content == catalogue().t("en", "discord.confirm.expired")
    assert asked.response.components == []
    assert await _is_member(world, sam)


async def test_forgetting_asks_with_buttons_and_confirm_deletes(world: World) -> None:
    sam = world.member("sam")
    await _circle_with(world, sam)
    asked = await sam.slash(world.general, "me forget")
    assert "confirm" in ephemeral_text(asked)
    assert asked.response is not None
    assert [c["label"] for row in asked.response.components for c in row["components"]] == ["Confirm", "Cancel"]
    assert await _is_member(world, sam)

    confirmed = await sam.click(asked.response, label="Confirm")
    assert any(text.startswith(catalogue().t("en", "privacy.forget.done", count=0)[:12]) for text in _texts(confirmed))
    assert not await _is_member(world, sam)


async def test_forget_cancel_deletes_nothing(world: World) -> None:
    sam = world.member("sam")
    await _circle_with(world, sam)
    asked = await sam.slash(world.general, "me forget")
    assert asked.response is not None
    await sam.click(asked.response, label="Cancel")
    assert await _is_member(world, sam)


# -- 3. closed direct messages ----------------------------------------------------------------------------------


async def _close_dms(world: World, member: simcord.MemberActor) -> None:
    dm = await world.adapter.client.create_dm(discord.Object(member.id))
    world.env.inject_error(
        "POST", f"/channels/{dm.id}/messages", status=403, code=50007, message="Cannot send messages", times=None
    )


async def test_a_refused_dm_is_shown_on_the_next_interaction_once(world: World) -> None:
    sam = world.member("sam")
    await _close_dms(world, sam)
    sender = world.adapter.bridge.sender
    assert sender is not None
    with pytest.raises(DeliveryRefused):
        await sender.send(Delivery("dm:1", Platform.DISCORD, "dm", str(sam.id), "Your reminder: circle at 19:00"))
    shown = await sam.slash(world.general, "circle list")
    texts = _texts(shown)
    expected = catalogue().t("en", "discord.undelivered", text="Your reminder: circle at 19:00")
    assert texts[-1] == expected
    assert all(message.ephemeral for message in shown.followups)
    again = await sam.slash(world.general, "circle list")
    assert expected not in _texts(again)


async def test_a_crisis_reply_to_closed_dms_waits_for_the_member(tmp_path: Any, sqlite_template: Any) -> None:
    from tests.discord.world import running_world

    async with running_world(tmp_path, sqlite_template, message_content_intent=True) as world:
        amal = world.member("amal")
        await _close_dms(world, amal)
        await amal.send(world.general, "I have the pills ready and I'm doing it tonight")
        await world.drain()
        assert world.moderators.last_message is not None  # the alert still reached the moderators
        assert len(world.adapter.bridge.undelivered) == 1
        shown = await amal.slash(world.general, "resources show")
        assert any(text.startswith(catalogue().t("en", "discord.undelivered", text="")) for text in _texts(shown))
        assert len(world.adapter.bridge.undelivered) == 0


def test_undelivered_is_bounded_and_keyed_by_member_and_community() -> None:
    store = Undelivered(per_member=2, members=2)
    store.remember("1", "a", "one")
    store.remember("1", "a", "one")
    store.remember("1", "a", "two")
    store.remember("1", "a", "three")
    store.remember("1", None, "unknown place")
    assert store.take("1", "b") == ["unknown place"]
    assert store.take("1", "a") == ["two", "three"]
    store.remember("2", "a", "x")
    store.remember("3", "a", "y")
    store.remember("4", "a", "z")
    assert store.take("2", "a") == []
    store.forget("4")
    assert len(store) == 1


# -- 4. attendance from who spoke ---------------------------------------------------------------------------------


async def _open_session(world: World, *members: simcord.MemberActor) -> simcord.ChannelHandle:
    clock = world.app.clock
    assert isinstance(clock, ManualClock)
    assert clock.now() == datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    moderator = await _circle_with(world, *members)
    rule = "weekly tue 19:00 Europe/Berlin 90m"
    await moderator.slash(world.general, "circle schedule-set", circle=CIRCLE, rule=rule)
    clock.advance(timedelta(hours=30))
    await world.app.scheduler.run_due()
    await moderator.slash(world.general, "session open", circle=CIRCLE)
    (thread,) = world.general.threads
    return thread


async def _attended(world: World, member: simcord.MemberActor) -> bool:
    async with world.app.database.transaction() as session:
        row = await session.scalar(
            select(Attendance.attended)
            .join(Member, Member.id == Attendance.member_id)
            .where(Member.native_id == str(member.id))
        )
    return bool(row)


async def test_speaking_in_the_session_thread_marks_a_member_present_once(world: World) -> None:
    sam, lina = world.member("sam"), world.member("lina")
    thread = await _open_session(world, sam, lina)
    calls: list[str] = []
    original = world.adapter.bridge.engine.handle_command

    async def spy(invocation: CommandInvocation) -> Any:
        calls.append(f"{invocation.command}:{invocation.args.get('circle')}:{invocation.author.native_id}")
        return await original(invocation)

    world.adapter.bridge.engine.handle_command = spy  # type: ignore[method-assign]
    assert not await _attended(world, sam)
    await sam.send(thread, "hello everyone")
    await sam.send(thread, "I had a good week")
    await world.env.settle()
    assert await _attended(world, sam)
    assert not await _attended(world, lina)
    assert calls == [f"session here:{CIRCLE}:{sam.id}"]
    # Nothing is posted into the circle's thread for it.
    assert thread.last_message is not None
    assert thread.last_message.content == "I had a good week"


async def test_messages_elsewhere_do_not_mark_attendance(world: World) -> None:
    sam = world.member("sam")
    await _open_session(world, sam)
    await sam.send(world.general, "hello")
    await world.env.settle()
    assert not await _attended(world, sam)


# -- 5. localised choices ---------------------------------------------------------------------------------------


async def test_choice_names_are_localised_where_discord_has_the_locale(world: World) -> None:
    translator = CatalogueTranslator(catalogue(), {discord.Locale.hindi: "ar"})
    tree = world.adapter.client.tree
    await tree.set_translator(translator)
    payloads = [await command.get_translated_payload(tree, translator) for command in tree.get_commands()]
    me = next(p for p in payloads if p["name"] == "me")
    reminders = next(o for o in me["options"] if o["name"] == "reminders")
    choices = reminders["options"][0]["choices"]
    assert [c["value"] for c in choices] == ["on", "off"]
    assert [c["name"] for c in choices] == ["On", "Off"]
    assert [c["name_localizations"]["hi"] for c in choices] == [
        catalogue().t("ar", "discord.choice.on"),
        catalogue().t("ar", "discord.choice.off"),
    ]
    resources = next(p for p in payloads if p["name"] == "resources")
    show = next(o for o in resources["options"] if o["name"] == "show")
    topics = show["options"][0]["choices"]
    assert {c["value"]: c["name"] for c in topics}["mental-health"] == "Mental health"


async def test_a_localised_choice_still_sends_its_value(world: World) -> None:
    member = world.member("sam")
    answer = ephemeral_text(await member.slash(world.general, "me language", language="ar"))
    assert answer == catalogue().t("ar", "me.language.done", language=catalogue().t("ar", "language.ar"))
