"""Communities: the configured ones are written to the database at start, so the engine can find them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.model import CommunityRef, Platform
from bot.storage import Database
from bot.storage.admin_models import OVERRIDE_COLUMNS, CommunityOverride
from bot.storage.models import Community
from bot.storage.upsert import insert_ignore

__all__ = ["CommunitySpec", "sync_communities"]


@dataclass(frozen=True, slots=True)
class CommunitySpec:
    """What the configuration says about one community."""

    slug: str
    ref: CommunityRef
    name: str
    locale: str
    timezone: str
    country: str | None
    moderator_room: str | None = None
    fallback_room: str | None = None
    on_call_role: str | None = None


async def sync_communities(database: Database, specs: list[CommunitySpec], clock: Clock) -> None:
    """Create or update each configured community. Communities no longer configured are kept (with their data)."""
    async with database.transaction() as session:
        await _free_moved_slugs(session, specs)
        for spec in specs:
            await insert_ignore(
                session,
                Community,
                {
                    "platform": spec.ref.platform.value,
                    "native_id": spec.ref.native_id,
                    "slug": spec.slug,
                    "name": spec.name,
                    "locale": spec.locale,
                    "timezone": spec.timezone,
                    "country": spec.country,
                    "moderator_room": spec.moderator_room,
                    "fallback_room": spec.fallback_room,
                    "on_call_role": spec.on_call_role,
                    "created_at": clock.now(),
                },
            )
            row = (
                await session.execute(
                    select(Community).where(
                        Community.platform == spec.ref.platform.value,
                        Community.native_id == spec.ref.native_id,
                    )
                )
            ).scalar_one_or_none()
            if row is None:
                raise ValueError(
                    f"community {spec.slug!r}: another community already uses that id; community ids must be unique"
                )
            row.slug = spec.slug
            configured = {
                "name": spec.name,
                "locale": spec.locale,
                "timezone": spec.timezone,
                "country": spec.country,
                "moderator_room": spec.moderator_room,
                "fallback_room": spec.fallback_room,
                "on_call_role": spec.on_call_role,
            }
            # A field an admin set in chat keeps its value: the override remembers the config's, for a reset.
            overrides = await session.scalars(select(CommunityOverride).where(CommunityOverride.community_id == row.id))
            for override in overrides:
                column = OVERRIDE_COLUMNS.get(override.key)
                if column is not None:
                    override.config_value = configured.pop(column)
            for column, value in configured.items():
                setattr(row, column, value)


async def _free_moved_slugs(session: AsyncSession, specs: list[CommunitySpec]) -> None:
    """Give a temporary slug to rows whose slug the config now gives to another place (ids swapped or moved),
    so the unique slug constraint holds at every step of the update."""
    wanted = {(spec.ref.platform.value, spec.ref.native_id): spec.slug for spec in specs}
    result = await session.execute(select(Community).where(Community.slug.in_(list(wanted.values()))))
    moved = [row for row in result.scalars() if wanted.get((row.platform, row.native_id)) != row.slug]
    for row in moved:
        row.slug = f"~moved-{row.id}"
    if moved:
        await session.flush()


def console_ref(native_id: str) -> CommunityRef:
    """The console community's reference."""
    return CommunityRef(Platform.CONSOLE, native_id)
