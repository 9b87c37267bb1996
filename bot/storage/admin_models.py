"""Settings an admin changed in chat, kept over the configuration's values for one community.

A row means "this field was set in chat": :func:`bot.communities.sync_communities` leaves that field alone at start,
so a restart never undoes an admin's change. ``config_value`` is what the configuration said at the last start, so
``admin set KEY reset`` can put it back at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models import Base

__all__ = ["OVERRIDE_COLUMNS", "CommunityOverride"]

OVERRIDE_COLUMNS: Final = {
    "language": "locale",
    "timezone": "timezone",
    "country": "country",
    "moderators": "moderator_room",
    "fallback": "fallback_room",
    "on-call": "on_call_role",
    "name": "name",
}
"""Each setting an admin may change (``admin set KEY``) and the ``communities`` column it writes."""


class CommunityOverride(Base):
    """One setting of one community changed in chat, and who changed it."""

    __tablename__ = "community_overrides"
    __table_args__ = (UniqueConstraint("community_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(32))
    """A key of :data:`OVERRIDE_COLUMNS` (``moderators``, ``timezone``...)."""
    value: Mapped[str | None] = mapped_column(String(255), default=None)
    config_value: Mapped[str | None] = mapped_column(String(255), default=None)
    """The configuration's value at the last start (or when the override was made), restored by a reset."""
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"), default=None)
    updated_at: Mapped[datetime]
