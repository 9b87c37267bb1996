"""A simulated Discord server (simcord) around the real Peer Circles application and the real discord.py client."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import discord
import simcord

from bot.adapters.discord import DiscordAdapter, create_adapter
from bot.app import Application
from bot.clock import ManualClock
from bot.config import Settings

GUILD_ID = 222222222222222222
TOKEN = "test-token-not-a-real-one"


def settings_for(
    data_dir: Path, database_url: str, community: dict[str, Any] | None = None, **discord_options: Any
) -> Settings:
    """Settings with Discord on, one community for the simulated guild, and the console off."""
    platforms = {
        "console": {"enabled": False},
        "discord": {"enabled": True, "token": TOKEN, **discord_options},
    }
    data: dict[str, Any] = {
        "data_dir": str(data_dir),
        "database": {"url": database_url},
        "platforms": platforms,
        "communities": [
            {
                "id": "test-server",
                "platform": "discord",
                "name": "Test server",
                "guild_id": str(GUILD_ID),
                "country": "GB",
                **(community or {}),
            }
        ],
    }
    return Settings.model_validate(data)


class World:
    """The running bot in a simulated server with a general channel, a moderators' channel and roles."""

    def __init__(self, env: simcord.Env, app: Application, adapter: DiscordAdapter) -> None:
        self.env = env
        self.app = app
        self.adapter = adapter
        self.guild = env.guild
        self.general = self.guild.channels["general"]
        self.moderators = self.guild.channels["moderators"]
        self.mod_role = self.guild.roles["Moderators"]
        self.facilitator_role = self.guild.roles["Facilitators"]

    def member(self, name: str, *roles: simcord.RoleHandle) -> simcord.MemberActor:
        return self.guild.add_member(self.env.create_user(name), roles=list(roles))

    async def drain(self) -> int:
        """Deliver what the engine put in the outbox, as the running deliverer would."""
        delivered = await self.app.deliverer.drain()
        await self.env.settle()
        return delivered


@asynccontextmanager
async def running_world(tmp_path: Path, template: Path, **discord_options: Any) -> AsyncIterator[World]:
    """Build the server first (its channel and role ids go into the configuration), then start the bot in it."""
    database = tmp_path / "peer-circles.db"
    shutil.copy(template, database)
    url = f"sqlite+aiosqlite:///{database}"
    app = Application(settings_for(tmp_path, url, **discord_options), clock=ManualClock())
    adapter = create_adapter(app)
    env = simcord.Env(adapter.client)
    guild = env.create_guild("Peer support", id=GUILD_ID)
    guild.create_text_channel("general")
    moderators = guild.create_text_channel("moderators")
    mods = guild.create_role("Moderators")
    facilitators = guild.create_role("Facilitators", mentionable=False)
    on_call = guild.create_role("On call")
    app.settings = settings_for(
        tmp_path,
        url,
        community={
            "moderators": {"destination": str(moderators.id), "on_call_role": str(on_call.id)},
            "roles": {"moderator": [str(mods.id)], "facilitator": [str(facilitators.id)]},
        },
        **discord_options,
    )
    await app.prepare()
    await env.start()
    try:
        yield World(env, app, adapter)
    finally:
        try:
            await env.shutdown()
        finally:
            await app.database.close()
    env.raise_errors()


def ephemeral_text(result: simcord.InteractionResult) -> str:
    """The text of an interaction's answer, checking that it was private."""
    assert result.response is not None
    assert result.ephemeral, result.response.content
    return result.response.content


def is_discord_message(value: object) -> bool:
    return isinstance(value, discord.Message)
