"""Who and where, shared by the parts of the Discord adapter: the services, the client and sender once attached, the
configured communities, the engine role of a person, and the locale to answer in."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import discord

from bot.config import Settings
from bot.config.communities import Community
from bot.delivery.deliverer import Deliverer
from bot.engine import Engine
from bot.i18n import Catalogue
from bot.model import CommunityRef, Platform, Role, UserRef
from bot.storage import Database

from .outbox import DiscordSender
from .roles import role_for
from .undelivered import Undelivered

__all__ = ["Context", "Services"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Services:
    """The parts of the application the Discord adapter uses."""

    engine: Engine
    messages: Catalogue
    database: Database
    deliverer: Deliverer | None
    settings: Callable[[], Settings]


class Context:
    """The state every part of the adapter reads: services, and the client and sender once the bridge attaches."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.engine = services.engine
        self.messages = services.messages
        self.client: discord.Client | None = None
        self.sender: DiscordSender | None = None
        self.undelivered = Undelivered()
        self.command_listeners: list[Callable[[str], None]] = []
        """Told the name of each command run through an interaction, after its actions were carried out."""

    @property
    def settings(self) -> Settings:
        return self.services.settings()

    def communities(self) -> list[Community]:
        """The configured Discord communities."""
        return [c for c in self.settings.communities if c.platform is Platform.DISCORD and c.guild_id]

    def community(self, guild_id: int | None, user: discord.abc.User | None = None) -> Community | None:
        """The community of a guild; outside a guild, the one shared with ``user`` (or the only one configured)."""
        communities = self.communities()
        if guild_id is not None:
            return next((c for c in communities if c.guild_id == str(guild_id)), None)
        if user is not None and self.client is not None:
            for candidate in communities:
                assert candidate.guild_id is not None
                guild = self.client.get_guild(int(candidate.guild_id))
                if guild is not None and guild.get_member(user.id) is not None:
                    return candidate
        return communities[0] if len(communities) == 1 else None

    def community_of_user(self, user_id: int) -> Community | None:
        """The community whose server ``user_id`` is in (or the only one configured)."""
        communities = self.communities()
        if self.client is not None:
            for candidate in communities:
                assert candidate.guild_id is not None
                guild = self.client.get_guild(int(candidate.guild_id))
                if guild is not None and guild.get_member(user_id) is not None:
                    return candidate
        return communities[0] if len(communities) == 1 else None

    def role(self, user: discord.abc.User, community: Community | None) -> Role:
        """The engine role of ``user``; in a DM, as a member of the community's server when the bot knows them."""
        if isinstance(user, discord.Member):
            return role_for(user, community)
        if community is not None and community.guild_id and self.client is not None:
            guild = self.client.get_guild(int(community.guild_id))
            member = guild.get_member(user.id) if guild is not None else None
            if member is not None:
                return role_for(member, community)
        return Role.MEMBER

    @staticmethod
    def ref(guild_id: int | None, community: Community | None) -> CommunityRef:
        """The engine's reference to the community (or to the guild or DM when none is configured)."""
        native = community.native_id if community is not None else str(guild_id or "direct")
        return CommunityRef(Platform.DISCORD, native)

    async def locale(self, interaction: discord.Interaction, community: Community | None) -> str:
        """The language to answer the person behind ``interaction`` in."""
        ref = self.ref(interaction.guild_id, community)
        return await self.engine.locale_for(ref, UserRef(Platform.DISCORD, str(interaction.user.id)))

    def command_ran(self, name: str) -> None:
        """Tell the listeners that the command ``name`` ran."""
        for listener in self.command_listeners:
            listener(name)

    def remember_undelivered(self, user_id: str, text: str, community: str | None) -> None:
        """Keep a refused direct message for the member's next interaction (the sender calls this)."""
        if community is None:
            found = self.community_of_user(int(user_id))
            community = found.native_id if found is not None else None
        self.undelivered.remember(user_id, community, text)
