"""Sending to Discord: outbox deliveries, session threads, and posts, with errors turned into the project's own."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import Any

import discord

from bot.config import Settings
from bot.config.communities import Community
from bot.config.fields import is_snowflake
from bot.delivery.outbox import Delivery
from bot.errors import DeliveryRefused, PeerCirclesError, PlatformError
from bot.i18n import Catalogue
from bot.model import Platform, UserRef

from .errors import translate_error
from .render import NO_MENTIONS, clip, message_parts, nonce_for, ping_mentions
from .views import alert_view

__all__ = ["DiscordSender", "thread_name"]

log = logging.getLogger(__name__)

THREAD_NAME_LIMIT = 100
SEND_TIMEOUT = 45.0
"""Longest wait for one outbox delivery, discord.py's own retries included (one rate-limit wait of up to 30 s and
the retry fit). aiohttp would wait 5 minutes for a stalled answer, past the outbox lease (60 s), while every item
behind it waits too; a timed-out item is retried later under the same nonce, which Discord shows once."""
_SPACE_SUFFIX = re.compile(r"^(?P<title>.*) \((?P<space>[^()\s]+)\)$")

RefusedDirect = Callable[[str, str, str | None], None]
"""Told ``(user id, text, community id or None)`` when Discord refuses a direct message for good."""


def thread_name(title: str, space: str) -> str:
    """A session thread's name; it ends with the engine's space id so the thread is found again after a restart."""
    suffix = f" ({space})"
    return clip(title, THREAD_NAME_LIMIT - len(suffix)) + suffix


def _title_of(name: str) -> str:
    matched = _SPACE_SUFFIX.match(name)
    return matched["title"] if matched else name


class DiscordSender:
    """Delivers outbox items and the engine's room actions through one discord.py client.

    Session spaces (``session-12``) map to the private threads opened for them. The map is kept in memory; after a
    restart a space is found again by its thread's name, which ends with the space id.
    """

    def __init__(self, client: discord.Client, messages: Catalogue, settings: Callable[[], Settings]) -> None:
        self.client = client
        self.messages = messages
        self.settings = settings
        self.spaces: dict[str, int] = {}
        self.titles: dict[str, str] = {}
        self.on_refused_direct: RefusedDirect | None = None
        self.timeout = SEND_TIMEOUT

    # -- the outbox Sender protocol ---------------------------------------------------------------------------

    async def send(self, delivery: Delivery) -> None:
        """Deliver one outbox item, or raise ``PlatformError`` (retry later) or ``DeliveryRefused`` (never).

        Every message carries a nonce derived from the item's key, with ``enforce_nonce``: a retry after a lost
        answer or a timeout is not shown twice."""
        try:
            async with asyncio.timeout(self.timeout):
                await self._deliver(delivery)
        except PeerCirclesError as error:
            self._refused(delivery, error)
            raise
        except TimeoutError as error:
            raise PlatformError(f"Discord did not answer within {self.timeout:g} s") from error
        except Exception as error:
            problem = translate_error(error)
            self._refused(delivery, problem)
            raise problem from error

    async def _deliver(self, delivery: Delivery) -> None:
        if delivery.kind == "dm":
            await self.direct(delivery.target, delivery.text, nonce=nonce_for(delivery.key))
            return
        channel = await self.channel(delivery.target)
        view = None
        if delivery.escalation_id is not None:
            view = alert_view(self.messages, self.locale_for_room(delivery.target), delivery.escalation_id)
        ping = delivery.ping if delivery.ping and is_snowflake(delivery.ping) else None
        text = f"<@&{ping}> {delivery.text}" if ping else delivery.text
        await self._post(channel, text, nonce=nonce_for(delivery.key), view=view, ping=delivery.ping)
        if delivery.kind == "close":
            await self.close_space(delivery.target)  # archiving an archived thread again changes nothing

    def _refused(self, delivery: Delivery, problem: PeerCirclesError) -> None:
        """A direct message refused for good is kept to be shown on the member's next interaction."""
        if delivery.kind != "dm" or not isinstance(problem, DeliveryRefused) or not is_snowflake(delivery.target):
            return
        if self.on_refused_direct is not None:
            self.on_refused_direct(delivery.target, delivery.text, None)

    # -- helpers shared with interactions ---------------------------------------------------------------------

    async def direct(self, user_id: str, text: str, *, nonce: str | None = None) -> None:
        """A direct message to the Discord user ``user_id``."""
        if not is_snowflake(user_id):
            raise DeliveryRefused(f"{user_id!r} is not a Discord user id")
        channel = await self.client.create_dm(discord.Object(int(user_id)))
        await self._post(channel, text, nonce=nonce)

    async def post(self, room: str, text: str) -> None:
        """Post ``text`` to a channel id or a session space."""
        await self._post(await self.channel(room), text)

    async def _post(
        self,
        channel: discord.abc.Messageable,
        text: str,
        *,
        nonce: str | None = None,
        view: discord.ui.View | None = None,
        ping: str | None = None,
    ) -> None:
        parts = message_parts(text)  # the one place a post's or direct message's text is Markdown-escaped
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            options: dict[str, Any] = {"allowed_mentions": ping_mentions(ping) if index == 0 else NO_MENTIONS}
            if nonce is not None:
                options["nonce"] = nonce if len(parts) == 1 else nonce_for(f"{nonce}:{index}")
            if view is not None and last:
                options["view"] = view
            await channel.send(part, **options)

    async def channel(self, room: str) -> discord.abc.Messageable:
        """The channel or thread behind a room id: a channel snowflake, or a session space opened earlier."""
        if is_snowflake(room):
            return self.client.get_channel(int(room)) or self.client.get_partial_messageable(int(room))  # type: ignore[return-value]
        thread_id = self.spaces.get(room) or self._find_thread(room)
        if thread_id is None:
            raise DeliveryRefused(f"no Discord thread is known for {room!r}")
        return self.client.get_channel(thread_id) or self.client.get_partial_messageable(thread_id)  # type: ignore[return-value]

    def _find_thread(self, space: str) -> int | None:
        suffix = f"({space})"
        for guild in self.client.guilds:
            for thread in guild.threads:
                if thread.name.endswith(suffix):
                    self.spaces[space] = thread.id
                    return thread.id
        return None

    def session_of(self, thread: discord.Thread) -> tuple[str, str] | None:
        """``(space, circle name)`` when ``thread`` is a session thread this bot opened, else ``None``."""
        for space, thread_id in self.spaces.items():
            if thread_id == thread.id:
                return space, self.titles.get(space) or _title_of(thread.name)
        me = self.client.user
        matched = _SPACE_SUFFIX.match(thread.name)
        if matched is None or me is None or thread.owner_id != me.id or matched["title"].endswith("…"):
            return None
        self.spaces[matched["space"]] = thread.id
        return matched["space"], matched["title"]

    def community_for_room(self, room: str) -> Community | None:
        """The configured community whose moderators' channel (or fallback) is ``room``."""
        for community in self.settings().communities:
            if community.platform is Platform.DISCORD and room in (
                community.moderators.destination,
                community.moderators.fallback,
            ):
                return community
        return None

    def locale_for_room(self, room: str) -> str:
        community = self.community_for_room(room)
        return community.locale if community is not None else "en"

    # -- session spaces -----------------------------------------------------------------------------------------

    async def open_space(
        self, space: str, title: str, members: tuple[UserRef, ...], where: discord.abc.GuildChannel | None
    ) -> discord.Thread:
        """A private thread for a session in ``where`` (a text channel, or a thread's parent), with the members."""
        parent = where.parent if isinstance(where, discord.Thread) else where
        if not isinstance(parent, discord.TextChannel):
            raise DeliveryRefused("sessions open in a text channel")
        existing = self.spaces.get(space)
        if existing is not None:
            found = parent.guild.get_thread(existing)
            if found is not None:
                return found
        thread = await parent.create_thread(
            name=thread_name(title, space), type=discord.ChannelType.private_thread, invitable=False
        )
        self.spaces[space] = thread.id
        self.titles[space] = title
        for member in members:
            if member.platform is not Platform.DISCORD or not is_snowflake(member.native_id):
                continue
            try:
                await thread.add_user(discord.Object(int(member.native_id)))
            except discord.HTTPException as error:
                log.warning("could not add member %s to session thread %s: %s", member.native_id, thread.id, error)
        return thread

    async def close_space(self, space: str) -> None:
        """Archive and lock a session's thread."""
        thread_id = self.spaces.get(space) or self._find_thread(space)
        if thread_id is None:
            raise DeliveryRefused(f"no Discord thread is known for {space!r}")
        thread = self.client.get_channel(thread_id)
        if not isinstance(thread, discord.Thread):
            fetched = await self.client.fetch_channel(thread_id)
            if not isinstance(fetched, discord.Thread):
                raise DeliveryRefused(f"{space!r} is not a thread")
            thread = fetched
        await thread.edit(archived=True, locked=True)
