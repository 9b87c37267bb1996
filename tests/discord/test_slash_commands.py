"""Members use the slash commands generated from the catalogue, in a simulated server with the real discord.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import discord

from bot.adapters.discord.commands import CatalogueTranslator, discord_locales, slash_paths
from bot.catalogue import build_catalogue
from bot.clock import ManualClock
from bot.i18n import catalogue
from tests.discord.world import World, ephemeral_text


async def test_member_lists_and_joins_a_circle_with_autocomplete(world: World) -> None:
    moderator = world.member("mona", world.mod_role)
    created = await moderator.slash(world.general, "circle create", name="Evening circle", topic="Grief")
    assert "Evening circle" in ephemeral_text(created)

    member = world.member("sam")
    listed = await member.slash(world.general, "circle list")
    assert "Evening circle" in ephemeral_text(listed)

    choices = await member.autocomplete(world.general, "circle join", "circle", "even")
    assert [choice["value"] for choice in choices] == ["Evening circle"]
    assert await member.autocomplete(world.general, "circle join", "circle", "zzz") == []

    joined = await member.slash(world.general, "circle join", circle="Evening circle")
    assert "Evening circle" in ephemeral_text(joined)
    assert "Evening circle" in ephemeral_text(await member.slash(world.general, "circle info", circle="Evening circle"))


async def test_roles_come_from_configured_roles_and_permissions(world: World) -> None:
    member = world.member("sam")
    refused = await member.slash(world.general, "circle create", name="Mine")
    assert ephemeral_text(refused) == catalogue().t(
        "en", "error.not_allowed", role=catalogue().t("en", "role_phrase.moderator")
    )

    managers = world.guild.create_role("Managers", permissions=discord.Permissions(manage_guild=True))
    manager = world.member("mia", managers)
    assert "Mine" in ephemeral_text(await manager.slash(world.general, "circle create", name="Mine"))

    owner_refusal = await world.member("fac", world.facilitator_role).slash(world.general, "alert list")
    assert ephemeral_text(owner_refusal) == catalogue().t(
        "en", "error.not_allowed", role=catalogue().t("en", "role_phrase.moderator")
    )


async def test_typed_options_and_choices_reach_the_engine(world: World) -> None:
    member = world.member("sam")
    asked = await member.slash(world.general, "checkin add", mood=3)  # without a note: the note is asked privately
    assert asked.modal is not None
    assert ephemeral_text(await member.submit_modal(asked, {}))
    language = ephemeral_text(await member.slash(world.general, "me language", language="ar"))
    assert language == catalogue().t("ar", "me.language.done", language=catalogue().t("ar", "language.ar"))


async def test_hostile_circle_names_never_ping(world: World) -> None:
    moderator = world.member("mona", world.mod_role)
    await moderator.slash(world.general, "circle create", name="Party @everyone @here")
    listed = await world.member("sam").slash(world.general, "circle list")
    assert "Party @everyone @here" in ephemeral_text(listed)
    callbacks = [entry for entry in world.env.http_requests if "/callback" in entry.path]
    assert callbacks
    for entry in callbacks:
        data = (entry.json or {}).get("data", {})
        assert data.get("allowed_mentions") == {"parse": []}, data


async def test_every_catalogue_command_is_a_slash_command(world: World) -> None:
    available = set(world.member("sam").available_commands(world.general))
    expected = {" ".join(path) for path in slash_paths(build_catalogue()).values()}
    assert expected <= available, expected - available
    missing = [command.name for command in build_catalogue() if command.name not in slash_paths(build_catalogue())]
    assert missing == [c.name for c in build_catalogue() if c.console_only]
    assert "resources show" in available
    assert "checkin add" in available
    assert "circle join" in available


async def test_descriptions_are_translated_for_every_locale_discord_offers(world: World) -> None:
    # Discord has no Arabic client locale, so no Arabic can be attached to commands today (see discord_locales).
    assert discord_locales(("en", "ar")) == {}
    # The same translator serves any locale Discord does offer; shown here by standing Arabic in for Hindi.
    translator = CatalogueTranslator(catalogue(), {discord.Locale.hindi: "ar"})
    tree = world.adapter.client.tree
    await tree.set_translator(translator)
    payloads = [await command.get_translated_payload(tree, translator) for command in tree.get_commands()]
    circle = next(p for p in payloads if p["name"] == "circle")
    assert circle["description_localizations"]["hi"] == catalogue().t("ar", "discord.group.circle")
    join = next(o for o in circle["options"] if o["name"] == "join")
    assert join["description_localizations"]["hi"] == catalogue().t("ar", "help.cmd.circle_join")
    option = join["options"][0]
    assert option["description_localizations"]["hi"] == catalogue().t("ar", "option.circle")


async def test_a_session_opens_in_a_private_thread_and_closes_archived(world: World) -> None:
    label = "session"
    clock = world.app.clock
    assert isinstance(clock, ManualClock)
    assert clock.now() == datetime(2026, 1, 5, 12, 0, tzinfo=UTC)  # a Monday
    moderator = world.member("mona", world.mod_role)
    await moderator.slash(world.general, "circle create", name="Evening circle")
    sam = world.member("sam")
    await sam.slash(world.general, "circle join", circle="Evening circle")
    await moderator.slash(world.general, "circle join", circle="Evening circle")
    rule = "weekly tue 19:00 Europe/Berlin 90m"
    await moderator.slash(world.general, "circle schedule-set", circle="Evening circle", rule=rule)
    clock.advance(timedelta(hours=30))  # Tuesday 19:00 in Berlin
    await world.app.scheduler.run_due()

    opened = await moderator.slash(world.general, f"{label} open", circle="Evening circle")
    assert "Evening circle" in ephemeral_text(opened)
    threads = world.general.threads
    assert len(threads) == 1
    thread = world.adapter.client.get_channel(threads[0].id)
    assert isinstance(thread, discord.Thread)
    assert thread.type is discord.ChannelType.private_thread
    assert thread.name == "Evening circle (session-1)"
    assert "What is shared here stays here." in (threads[0].last_message.content if threads[0].last_message else "")

    closed = await moderator.slash(world.general, f"{label} close", circle="Evening circle")
    assert "Evening circle" in ephemeral_text(closed)
    thread = await world.adapter.client.fetch_channel(threads[0].id)
    assert isinstance(thread, discord.Thread)
    assert thread.archived
    assert thread.locked
