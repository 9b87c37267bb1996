"""``me export``: everything the bot holds about one member, as JSON with stable keys and ISO times."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.privacy.registry import POLICIES, iso
from bot.storage.models import Member

__all__ = ["EXPORT_FORMAT", "build_export", "to_json"]

EXPORT_FORMAT = "peer-circles-export/1"


async def build_export(session: AsyncSession, member: Member, now: datetime) -> dict[str, Any]:
    """One section per table that holds the member's data (see :mod:`bot.privacy.registry`), nothing of others."""
    data: dict[str, Any] = {"format": EXPORT_FORMAT, "exported_at": iso(now)}
    for policy in POLICIES:
        if policy.export is not None and policy.export_key is not None:
            data[policy.export_key] = await policy.export(session, member)
    return data


def to_json(data: dict[str, Any], *, compact: bool = False) -> str:
    """The export as JSON text: keys sorted; indented, or compact for a long export."""
    if compact:
        return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return json.dumps(data, sort_keys=True, ensure_ascii=False, indent=1)
