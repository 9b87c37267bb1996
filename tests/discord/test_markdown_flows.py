"""Member text holding Discord Markdown, through whole flows: a circle named like a masked link, a resource
suggestion, a check-in note and a crisis message show in the bot's messages exactly as typed, never formatted,
while the bot's channel mentions and jump links keep working.

In a simulated server (simcord, the real discord.py in process) and over the wire against the local emulator (the
real discord.py HTTP client and gateway); what is checked is the content discord.py sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import pytest
from discord.gateway import DiscordWebSocket

from bot.adapters.discord import DiscordAdapter
from bot.adapters.discord.render import escape_markdown
from bot.app import Application
from bot.i18n import catalogue
from bot.safety.escalation import excerpt_of
from tests.discord.emulator import (
    GENERAL_ID,
    MOD_ROLE_ID,
    MODERATORS_ID,
    Emulator,
    member,
    running_app,
    running_emulator,
    until,
    user,
)
from tests.discord.test_markdown_escape import markdown_problems, unescape
from tests.discord.world import GUILD_ID, World, ephemeral_text, running_world

NAME = "[Crisis line](https://evil.example) **x** ||y||"
SHOWN_NAME = r"\[Crisis line\](https://evil.example) \*\*x\*\* \|\|y\|\|"
CRISIS = "**I want to kill myself** ||tonight|| [help](https://evil.example)\n# now `x` ~~y~~ -# z"
t = catalogue().t


def sent_contents(requests: list[Any], since: int = 0) -> list[str]:
    """The content of every message, answer and edit simcord recorded since request ``since``."""
    contents = []
    for entry in requests[since:]:
        if entry.method not in ("POST", "PATCH") or not entry.path.startswith(("/channels/", "/interactions/")):
            continue
        body = entry.json or {}
        data = body.get("data", body) if "/interactions/" in entry.path else body
        if isinstance(data, dict) and isinstance(data.get("content"), str):
            contents.append(data["content"])
    return contents


@pytest.fixture
async def scanning(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[World]:
    async with running_world(tmp_path, sqlite_template, message_content_intent=True) as running:
        yield running


async def test_a_circle_named_like_a_masked_link_shows_as_typed(scanning: World) -> None:
    world = scanning
    mona = world.member("mona", world.mod_role)
    amal = world.member("**amal**")
    since = len(world.env.http_requests)

    created = ephemeral_text(await mona.slash(world.general, "circle create", name=NAME))
    public = t("en", "circle.visibility.public")
    assert created == escape_markdown(
        t("en", "circle.create.done", visibility=public, circle=NAME, capacity=12, join=f"/circle join {NAME}")
    )
    assert SHOWN_NAME in created

    joined = ephemeral_text(await amal.slash(world.general, "circle join", circle=NAME))
    assert joined == escape_markdown(t("en", "circle.join.done", circle=NAME, leave=f"/circle leave {NAME}"))

    listed = ephemeral_text(await mona.slash(world.general, "circle list"))
    assert f"\n• {SHOWN_NAME} — " in listed
    shown = ephemeral_text(await mona.slash(world.general, "circle info", circle=NAME))
    assert shown.startswith(f"{SHOWN_NAME} (")

    suggestion = "||call me|| [Crisis line](https://evil.example) > 0800"
    await amal.slash(world.general, "resources suggest", suggestion=suggestion)
    await world.drain()
    posted = world.moderators.last_message
    assert posted is not None
    assert posted.content == escape_markdown(t("en", "resources.suggestion", author="**amal**", text=suggestion))

    contents = sent_contents(world.env.http_requests, since)
    assert len(contents) >= 6
    assert [problem for content in contents for problem in markdown_problems(content)] == []
    assert all(NAME not in content for content in contents)


async def test_a_crisis_message_full_of_markdown_alerts_as_text(scanning: World) -> None:
    world = scanning
    amal = world.member("__amal__")
    since = len(world.env.http_requests)
    await amal.send(world.general, CRISIS)
    await world.drain()
    alert = world.moderators.last_message
    assert alert is not None
    lines = alert.content.split("\n")
    assert lines[1] == f"“{escape_markdown(excerpt_of(CRISIS))}”"
    assert unescape(lines[1]) == f"“{excerpt_of(CRISIS)}”"
    # The bot's own channel mention and jump link still work; the member's name is text.
    assert f"{escape_markdown('__amal__')} (" in lines[0]
    assert f" in <#{world.general.id}> https://discord.com/channels/{GUILD_ID}/{world.general.id}/" in lines[0]
    contents = sent_contents(world.env.http_requests, since)
    assert len(contents) >= 2  # the alert and the private reply to the member
    assert [problem for content in contents for problem in markdown_problems(content)] == []


async def test_a_check_in_notes_lines_cannot_become_headings_or_quotes(scanning: World) -> None:
    world = scanning
    amal = world.member("amal")
    asked = await amal.slash(world.general, "checkin add", mood=3)
    assert asked.modal is not None
    note = "ok today\n# BIG\n> quoted\n- item\n1. first"
    await amal.submit_modal(asked, {"pc:note": note})
    history = ephemeral_text(await amal.slash(world.general, "checkin history"))
    assert "ok today\n\\# BIG\n\\> quoted\n\\- item\n1\\. first" in history, history
    assert markdown_problems(history) == []


async def test_a_scheduled_events_description_is_escaped_and_its_name_left_plain(
    tmp_path: Path, sqlite_template: Path
) -> None:
    """Discord formats an event's description but shows its name as plain text: only the description is escaped."""
    async with running_world(tmp_path, sqlite_template, scheduled_events=True) as world:
        mona = world.member("mona", world.mod_role)
        await mona.slash(world.general, "circle create", name=NAME)
        await mona.slash(world.general, "circle join", circle=NAME)
        await mona.slash(world.general, "circle schedule-set", circle=NAME, rule="weekly tue 19:00 Europe/Berlin 90m")
        assert await world.adapter.bridge.events.reconcile() == 1
        await world.env.settle()
        [event] = world.env.backend.guilds[GUILD_ID].scheduled_events.values()
        assert event.name == t("en", "discord.event.name", circle=NAME)
        assert event.description == escape_markdown(t("en", "discord.event.description", circle=NAME))
        assert markdown_problems(event.description) == []


# -- over the wire: the emulator ---------------------------------------------------------------------------------

MONA = user("500000000000000003", "mona")
AMAL = user("500000000000000002", "**amal**")


@pytest.fixture
async def emulator(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Emulator]:
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", DiscordWebSocket.DEFAULT_GATEWAY)
    async with running_emulator() as running:
        running.members.extend([member(AMAL), member(MONA, MOD_ROLE_ID)])
        yield running


@pytest.fixture
async def connected(
    tmp_path: Path, sqlite_template: Path, emulator: Emulator
) -> AsyncIterator[tuple[Application, DiscordAdapter]]:
    async with running_app(tmp_path, sqlite_template, emulator) as running:
        yield running


async def _answer(emulator: Emulator, who: dict[str, Any], command: str, **options: str | int) -> str:
    roles = (MOD_ROLE_ID,) if who is MONA else ()
    interaction = await emulator.interact(who, GENERAL_ID, command, *roles, **options)
    await until(lambda: bool(emulator.replies_to(interaction)), what=f"the answer to /{command}")
    return emulator.replies_to(interaction)[0]


async def test_over_the_wire_names_and_alerts_reach_discord_escaped(
    connected: tuple[Application, DiscordAdapter], emulator: Emulator
) -> None:
    created = await _answer(emulator, MONA, "circle create", name=NAME)
    assert SHOWN_NAME in created
    joined = await _answer(emulator, AMAL, "circle join", circle=NAME)
    assert joined == escape_markdown(t("en", "circle.join.done", circle=NAME, leave=f"/circle leave {NAME}"))

    await emulator.dispatch("MESSAGE_CREATE", emulator.message(AMAL, GENERAL_ID, CRISIS))
    await until(lambda: bool(emulator.messages_in(MODERATORS_ID)), what="the alert")
    (alert,) = emulator.messages_in(MODERATORS_ID)
    assert f"\n“{escape_markdown(excerpt_of(CRISIS))}”\n" in alert["content"]
    assert f"\\*\\*amal\\*\\* ({AMAL['id']}) in <#{GENERAL_ID}> https://discord.com/channels/" in alert["content"]
    assert alert["content"].startswith("⚠")
    sent = [body["content"] for method, _, body in emulator.requests if method == "POST" and body and "content" in body]
    sent += [reply.get("content") or "" for replies in emulator.interaction_replies.values() for reply in replies]
    assert len(sent) >= 3
    assert [problem for content in sent for problem in markdown_problems(content)] == []
