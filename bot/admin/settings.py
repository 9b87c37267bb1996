"""A community's settings as an admin sees them: validated values, written over the configuration's in the database.

Each key of :data:`~bot.storage.admin_models.OVERRIDE_COLUMNS` names one column of ``communities``. Setting one
writes the column and a :class:`~bot.storage.admin_models.CommunityOverride` row (so a restart keeps it);
resetting removes the row and puts the configuration's value back at once.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.circles.recurrence import timezone_names, unknown_timezone_error
from bot.config.fields import check_country, is_matrix_room, is_matrix_user, is_snowflake
from bot.errors import UserError
from bot.i18n import LOCALES
from bot.model import Platform
from bot.storage.admin_models import OVERRIDE_COLUMNS, CommunityOverride
from bot.storage.models import Community, Member

__all__ = [
    "KEYS",
    "RESET",
    "Setting",
    "current",
    "describe",
    "missing_essentials",
    "overrides",
    "reset",
    "set_value",
    "validate",
]

KEYS: Final = tuple(OVERRIDE_COLUMNS)
"""The settings an admin may change, in the order ``admin show`` lists them."""
RESET: Final = "reset"
"""The value that removes an override, so the configuration's value applies again."""
CLEARABLE: Final = frozenset({"fallback", "on-call"})
"""Optional settings that ``none`` clears."""
NONE_WORDS: Final = frozenset({"none", "-"})


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting as ``admin show`` presents it."""

    key: str
    value: str | None
    override: CommunityOverride | None
    set_by: Member | None


def current(community: Community, key: str) -> str | None:
    """The value ``key`` has now for ``community``."""
    value: str | None = getattr(community, OVERRIDE_COLUMNS[key])
    return value


def _strip_mention(value: str, opening: str) -> str:
    """Accept a pasted Discord mention (``<#123>``, ``<@&123>``) as its id."""
    if value.startswith(opening) and value.endswith(">"):
        return value[len(opening) : -1]
    return value


def validate(key: str, raw: str, platform: Platform) -> str | None:
    """The value to store for ``key``, checked and normalised; raises :class:`UserError` with the reason."""
    value = raw.strip()
    if key not in OVERRIDE_COLUMNS:
        close = difflib.get_close_matches(key.casefold(), KEYS, n=1, cutoff=0.5)
        if close:
            raise UserError("admin.error.unknown_key_suggest", key=key, suggestion=close[0], keys=", ".join(KEYS))
        raise UserError("admin.error.unknown_key", key=key, keys=", ".join(KEYS))
    if value.casefold() in NONE_WORDS:
        if key in CLEARABLE:
            return None
        raise UserError("admin.error.required", key=key)
    if key == "language":
        lowered = value.casefold()
        if lowered not in LOCALES:
            raise UserError("admin.error.bad_language", value=value, choices=", ".join(LOCALES))
        return lowered
    if key == "timezone":
        zone = timezone_names().get(value.casefold())
        if zone is None:
            raise unknown_timezone_error(value)
        return zone
    if key == "country":
        try:
            return check_country(value)
        except ValueError:
            raise UserError("admin.error.bad_country", value=value) from None
    if key == "name":
        if not value or len(value) > 100:
            raise UserError("admin.error.bad_name", limit=100)
        return value
    if key in ("moderators", "fallback"):
        return _room(key, value, platform)
    return _on_call(value, platform)


def _room(key: str, value: str, platform: Platform) -> str:
    if platform is Platform.DISCORD:
        value = _strip_mention(value, "<#")
        if not is_snowflake(value):
            raise UserError("admin.error.bad_discord_channel", key=key, value=value)
    elif platform is Platform.MATRIX:
        if not is_matrix_room(value):
            raise UserError("admin.error.bad_matrix_room", key=key, value=value)
    elif not value or len(value) > 255 or any(char.isspace() for char in value):
        raise UserError("admin.error.bad_room", key=key, value=value)
    return value


def _on_call(value: str, platform: Platform) -> str:
    if platform is Platform.DISCORD:
        value = _strip_mention(value, "<@&")
        if not is_snowflake(value):
            raise UserError("admin.error.bad_discord_role", value=value)
    elif platform is Platform.MATRIX:
        if not is_matrix_user(value):
            raise UserError("admin.error.bad_matrix_user", value=value)
    elif not value or len(value) > 255 or any(char.isspace() for char in value):
        raise UserError("admin.error.bad_room", key="on-call", value=value)
    return value


async def overrides(session: AsyncSession, community: Community) -> dict[str, CommunityOverride]:
    """The community's settings changed in chat, by key."""
    rows = await session.scalars(select(CommunityOverride).where(CommunityOverride.community_id == community.id))
    return {row.key: row for row in rows}


async def describe(session: AsyncSession, community: Community) -> list[Setting]:
    """Every setting with its value and where it comes from."""
    changed = await overrides(session, community)
    people = [row.updated_by for row in changed.values() if row.updated_by is not None]
    members = {m.id: m for m in await session.scalars(select(Member).where(Member.id.in_(people)))} if people else {}
    result: list[Setting] = []
    for key in KEYS:
        row = changed.get(key)
        by = members.get(row.updated_by) if row is not None and row.updated_by is not None else None
        result.append(Setting(key, current(community, key), row, by))
    return result


async def set_value(
    session: AsyncSession, community: Community, key: str, value: str | None, member: Member, now: datetime
) -> str | None:
    """Write ``value`` to the community and record the override; returns the previous value."""
    previous = current(community, key)
    row = (await overrides(session, community)).get(key)
    if row is None:
        # Until now the value came from the configuration (as of the last start): remember it for a reset.
        session.add(
            CommunityOverride(
                community_id=community.id,
                key=key,
                value=value,
                config_value=previous,
                updated_by=member.id,
                updated_at=now,
            )
        )
    else:
        row.value = value
        row.updated_by = member.id
        row.updated_at = now
    setattr(community, OVERRIDE_COLUMNS[key], value)
    return previous


async def reset(session: AsyncSession, community: Community, key: str) -> tuple[str | None, str | None] | None:
    """Remove the override of ``key`` and restore the configuration's value; ``None`` when there was none.

    Returns the value before and after.
    """
    row = (await overrides(session, community)).get(key)
    if row is None:
        return None
    previous = current(community, key)
    restored = row.config_value
    if key in ("language", "timezone", "name") and restored is None:
        restored = {"language": "en", "timezone": "UTC", "name": community.slug}[key]
    setattr(community, OVERRIDE_COLUMNS[key], restored)
    await session.delete(row)
    return previous, restored


def missing_essentials(community: Community, changed: Sequence[str] = ()) -> list[str]:
    """The essential settings not yet chosen, most important first (used by ``admin setup``)."""
    missing: list[str] = []
    if not community.moderator_room:
        missing.append("moderators")
    if community.timezone == "UTC" and "timezone" not in changed:
        missing.append("timezone")
    if not community.country:
        missing.append("country")
    if not community.on_call_role:
        missing.append("on-call")
    if not community.fallback_room:
        missing.append("fallback")
    return missing
