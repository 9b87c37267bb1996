"""What the settings changed in chat hold about a person: only who changed them, for accountability."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.privacy.common import count_rows, iso
from bot.storage.admin_models import CommunityOverride
from bot.storage.models import Community, Member

__all__ = ["export_overrides", "forget_overrides"]


async def export_overrides(session: AsyncSession, member: Member) -> list[dict[str, Any]]:
    """The settings the member changed in chat (which community, which setting, when)."""
    rows = await session.execute(
        select(Community.slug, CommunityOverride.key, CommunityOverride.updated_at)
        .join(Community, Community.id == CommunityOverride.community_id)
        .where(CommunityOverride.updated_by == member.id)
        .order_by(CommunityOverride.id)
    )
    return [{"community": slug, "setting": key, "changed_at": iso(when)} for slug, key, when in rows]


async def forget_overrides(session: AsyncSession, member: Member) -> int:
    """Keep the community's settings; remove who changed them."""
    result = await session.execute(
        update(CommunityOverride).where(CommunityOverride.updated_by == member.id).values(updated_by=None)
    )
    return count_rows(result)
