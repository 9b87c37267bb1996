"""A server owner adds the bot to a configured server and is told the remaining setup steps."""

from __future__ import annotations

import shutil
from pathlib import Path

import simcord

from bot.adapters.discord import create_adapter
from bot.adapters.discord.render import escape_markdown
from bot.app import Application
from bot.clock import ManualClock
from bot.i18n import catalogue
from tests.discord.world import GUILD_ID, settings_for


async def test_owner_gets_setup_steps_in_the_community_language(tmp_path: Path, sqlite_template: Path) -> None:
    shutil.copy(sqlite_template, tmp_path / "db.db")
    settings = settings_for(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db.db'}", community={"locale": "ar"})
    app = Application(settings, clock=ManualClock())
    await app.prepare()
    adapter = create_adapter(app)
    try:
        async with simcord.run(adapter.client) as env:
            owner = env.create_user("owner")
            env.create_guild("دعم الأقران", id=GUILD_ID, owner=owner)
            elsewhere = env.create_guild("Elsewhere")  # not configured: no message
            await env.settle()
            # simcord marks a new guild's GUILD_CREATE "unavailable: false", which discord.py reports as
            # guild_available; Discord omits the field for a join, which discord.py reports as guild_join.
            # So the join is dispatched here through the client's own dispatcher, with the cached guilds.
            for guild_id in (GUILD_ID, elsewhere.id):
                guild = adapter.client.get_guild(guild_id)
                assert guild is not None
                adapter.client.dispatch("guild_join", guild)
            await env.settle()
            messages = owner.dm_channel.history()
            expected = catalogue().t("ar", "discord.onboarding", server="دعم الأقران", guild_id=GUILD_ID)
            # The numbered steps are sent as text ("1\. ..."), which Discord shows as "1. ..." exactly.
            assert [message.content for message in messages] == [escape_markdown(expected)]
    finally:
        await app.database.close()
