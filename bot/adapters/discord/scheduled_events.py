"""Circle sessions published as Discord scheduled events (``platforms.discord.scheduled_events``).

Each public circle's next session is one guild-only external event: created when the session is planned, edited
when it moves, cancelled when it is cancelled, started when the session opens and completed when it closes. Bots
cannot set Discord's own recurrence, so each occurrence is its own event.

Nothing depends on catching the moment a change happens: a pass compares every published event with the database
(:mod:`.event_plan`) and makes what differs right. A pass runs when the bot is ready, soon after a command that may
change sessions, and every ``scheduled_events_interval`` seconds, so a restart or a missed change never leaves a stale
event. Only servers on this process's shards are reconciled, so several processes never publish one session twice.
A failure (no Manage Events permission, a rate limit, a Discord outage) is logged once, shown by ``admin status``,
and tried again on the next pass; it never stops the bot.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import datetime
from typing import Any

import aiohttp
import discord
from discord.ext import tasks

from bot.config.communities import Community

from . import event_plan
from .context import Context
from .event_plan import Occurrence, Published, Step
from .render import clip, clip_literal
from .ticker import every

__all__ = ["EVENTS_FORBIDDEN", "ScheduledEvents"]

log = logging.getLogger(__name__)

SCHEDULED, ACTIVE, COMPLETED, CANCELED = 1, 2, 3, 4
EXTERNAL = 3
GUILD_ONLY = 2
NAME_LIMIT = 100
DESCRIPTION_LIMIT = 1000
LOCATION_LIMIT = 100
TICK = 2.0
"""Seconds between looks for a nudge; nudges within one tick make one pass."""

EVENTS_FORBIDDEN = "events=forbidden"
"""The ``admin status`` note when a server refuses the bot the Manage Events permission."""

_STATUS = {"start": ACTIVE, "complete": COMPLETED, "cancel": CANCELED}


class _GuildTrouble(Exception):
    """A failure that ends this server's pass: forbidden, rate-limited or unreachable."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind


def _when(moment: datetime) -> str:
    return moment.isoformat()


class ScheduledEvents:
    """Keeps each configured server's scheduled events in step with its circles' next sessions."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self._lock = asyncio.Lock()
        self._loop: tasks.Loop[Any] | None = None
        self._due = True
        """The first tick after the client is ready passes at once."""
        self._nudged = False
        self._idle = 0.0
        self.troubles: dict[str, str] = {}
        """The current problem of each server whose pass failed (``forbidden`` or ``unavailable``)."""

    @property
    def enabled(self) -> bool:
        return self.context.settings.platforms.discord.scheduled_events

    def nudge(self) -> None:
        """Something may have changed a session: run a pass soon."""
        if self.enabled:
            self._nudged = True

    def status_notes(self) -> tuple[str, ...]:
        """``admin status`` notes: the Manage Events permission is missing in some server."""
        return (EVENTS_FORBIDDEN,) if "forbidden" in self.troubles.values() else ()

    # -- the loop ------------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Run passes in the background: once ready, soon after each nudge, and every interval, until the client
        closes. A discord.py task loop wakes every :data:`TICK` seconds to look for a nudge, so changes made
        together within a tick go out in one pass."""
        if self._loop is None:
            self._loop = every(self.context, TICK, self._tick)

    async def _tick(self) -> None:
        self._idle += TICK
        interval = self.context.settings.platforms.discord.scheduled_events_interval
        if not (self._due or self._nudged or self._idle >= interval):
            return
        self._due = self._nudged = False
        self._idle = 0.0
        try:
            await self.reconcile()
        except Exception:
            log.exception("scheduled events: the pass failed; it runs again later")

    async def reconcile(self) -> int:
        """One pass over every configured server this process connects to; returns how many calls changed an
        event."""
        if not self.enabled:
            return 0
        changed = 0
        async with self._lock:
            for community in self.context.communities():
                changed += await self._reconcile_guild(community)
        return changed

    # -- one server ---------------------------------------------------------------------------------------------

    async def _reconcile_guild(self, community: Community) -> int:
        client = self.context.client
        guild_id = community.guild_id
        if client is None or guild_id is None or client.get_guild(int(guild_id)) is None:
            return 0  # another process's shard, or not (yet) in the server
        database = self.context.services.database
        now = self.context.engine.clock.now()
        async with database.transaction() as session:
            wanted = await event_plan.wanted(session, community.native_id, now)
            published = await event_plan.load_published(session, guild_id)
            statuses = {
                circle_id: await event_plan.old_status(session, item.key)
                for circle_id, item in published.items()
                if circle_id not in wanted or wanted[circle_id].key != item.key
            }
        if not wanted and not published:
            return 0  # nothing to publish or to look after: no call at all
        changed = 0
        try:
            published, changed = await self._compare_with_discord(guild_id, published)
            for circle_id in sorted(wanted.keys() | published.keys()):
                wanted_now, published_now = wanted.get(circle_id), published.get(circle_id)
                todo = event_plan.steps(wanted_now, published_now, statuses.get(circle_id), now)
                if todo:
                    changed += await self._apply(community, circle_id, todo, wanted_now, published_now)
        except _GuildTrouble as trouble:
            self._trouble(guild_id, trouble)
            return changed
        if self.troubles.pop(guild_id, None) is not None:
            log.info("scheduled events: server %s is in step again", guild_id)
        return changed

    async def _compare_with_discord(
        self, guild_id: str, published: dict[int, Published]
    ) -> tuple[dict[int, Published], int]:
        """What Discord still lists: an event gone (deleted by a moderator, or ended) is forgotten so the session is
        published afresh; one Discord started by itself is taken as started; one this bot made but never recorded
        (a crash between creating and recording it) is deleted so it is not doubled."""
        listed = await self._call("list", self._http().get_scheduled_events(guild_id, False), many=True)
        if listed is None:
            return published, 0
        status = {int(item["id"]): int(item.get("status", SCHEDULED)) for item in listed}
        creators = {int(item["id"]): str(item.get("creator_id")) for item in listed}
        kept: dict[int, Published] = {}
        database = self.context.services.database
        for circle_id, item in published.items():
            if item.event_id not in status:
                async with database.transaction() as session:
                    await event_plan.forget(session, guild_id, circle_id)
                continue
            active = status[item.event_id] == ACTIVE
            kept[circle_id] = replace(item, active=item.active or active)
        client = self.context.client
        me = str(client.user.id) if client is not None and client.user is not None else None
        known = {item.event_id for item in published.values()}
        orphans = [
            event_id
            for event_id, state in status.items()
            if state == SCHEDULED and creators[event_id] == me and event_id not in known
        ]
        for event_id in orphans:
            await self._call("delete", self._http().delete_scheduled_event(guild_id, event_id))
        return kept, len(orphans)

    def _trouble(self, guild_id: str, trouble: _GuildTrouble) -> None:
        if self.troubles.get(guild_id) == trouble.kind:
            return  # said once already
        self.troubles[guild_id] = trouble.kind
        if trouble.kind == "forbidden":
            log.error(
                "scheduled events: server %s refused the bot (%s); give the bot the Manage Events permission there, "
                "or set platforms.discord.scheduled_events to false. Retrying on each pass.",
                guild_id,
                trouble,
            )
        else:
            log.warning("scheduled events: server %s could not be updated (%s); retrying later", guild_id, trouble)

    async def _apply(
        self,
        community: Community,
        circle_id: int,
        todo: list[Step],
        wanted: Occurrence | None,
        published: Published | None,
    ) -> int:
        guild_id = community.guild_id
        assert guild_id is not None
        database = self.context.services.database
        calls = 0
        for step in todo:
            if step == "forget":
                published = None
                async with database.transaction() as session:
                    await event_plan.forget(session, guild_id, circle_id)
                continue
            if step == "create":
                assert wanted is not None
                created = await self._call(
                    "create", self._http().create_guild_scheduled_event(guild_id, **self._payload(community, wanted))
                )
                if created is None:
                    return calls
                published = Published.of(int(created["id"]), wanted)
            else:
                assert published is not None
                payload: dict[str, Any] = (
                    self._payload(community, wanted, times_only=True) if step == "edit" and wanted else {}
                )
                if step in _STATUS:
                    payload["status"] = _STATUS[step]
                answer = await self._call(
                    step, self._http().edit_scheduled_event(guild_id, published.event_id, **payload)
                )
                if answer is None and step == "edit":
                    # The event is gone (a moderator deleted it) or refuses the change: start afresh next pass.
                    async with database.transaction() as session:
                        await event_plan.forget(session, guild_id, circle_id)
                    return calls
                if step == "edit" and wanted is not None:
                    published = Published.of(published.event_id, wanted, active=published.active)
                elif step == "start":
                    published = replace(published, active=True)
            calls += 1
            if published is not None and step in ("create", "edit", "start"):
                async with database.transaction() as session:
                    await event_plan.remember(session, guild_id, circle_id, published, self.context.engine.clock.now())
        return calls

    def _http(self) -> Any:
        client = self.context.client
        assert client is not None
        return client.http

    async def _call(self, step: str, request: Any, *, many: bool = False) -> Any:
        """Await one REST call; ``None`` when Discord says the change is not possible (the event was deleted, or
        has already moved on by itself, such as an external event Discord started or ended at its time)."""
        try:
            answer = await request
        except discord.Forbidden as error:
            raise _GuildTrouble("forbidden", f"403, code {error.code}") from error
        except discord.NotFound:
            return None
        except discord.HTTPException as error:
            if error.status == 429 or error.status >= 500:
                raise _GuildTrouble("unavailable", f"{error.status}, code {error.code}") from error
            log.warning(
                "scheduled events: Discord refused to %s an event: %s (code %s)", step, error.status, error.code
            )
            return None
        except discord.RateLimited as error:
            raise _GuildTrouble("unavailable", f"rate limited for {error.retry_after:.0f}s") from error
        except (TimeoutError, OSError, aiohttp.ClientError) as error:
            raise _GuildTrouble("unavailable", type(error).__name__) from error
        if many:
            return answer if isinstance(answer, list) else []
        return answer if isinstance(answer, dict) else {}

    def _payload(self, community: Community, wanted: Occurrence | None, *, times_only: bool = False) -> dict[str, Any]:
        assert wanted is not None
        messages = self.context.messages
        locale = community.locale
        payload: dict[str, Any] = {
            "name": clip(messages.t(locale, "discord.event.name", circle=wanted.circle), NAME_LIMIT),
            "scheduled_start_time": _when(wanted.start),
            "scheduled_end_time": _when(wanted.end),
        }
        if times_only:
            return payload
        payload.update(
            description=clip_literal(
                messages.t(locale, "discord.event.description", circle=wanted.circle), DESCRIPTION_LIMIT
            ),
            entity_type=EXTERNAL,
            privacy_level=GUILD_ONLY,
            entity_metadata={"location": clip(messages.t(locale, "discord.event.location"), LOCATION_LIMIT)},
        )
        return payload
