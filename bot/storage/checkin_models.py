"""Tables for check-ins: a member's private mood notes, and their check-in preferences.

A check-in belongs to its author. Its ``note`` is the member's own words and is shown to nobody else; facilitators
see only anonymous aggregates of moods. Both tables cascade from ``members``, so forgetting a member forgets them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, Text, UniqueConstraint, false, true
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models import Base

__all__ = ["CheckIn", "CheckInPreference"]


class CheckIn(Base):
    """One private check-in: a mood from 1 (very low) to 5 (very good), and an optional note for its author."""

    __tablename__ = "checkins"
    __table_args__ = (CheckConstraint("mood BETWEEN 1 AND 5", name="mood_range"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    mood: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    """The member's own words: shown only to them, never in an aggregate."""
    created_at: Mapped[datetime] = mapped_column(index=True)
    """When it was recorded; indexed so old check-ins can be purged after the retention period."""


class CheckInPreference(Base):
    """A member's check-in choices in one community."""

    __tablename__ = "checkin_preferences"
    __table_args__ = (UniqueConstraint("member_id", "community_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    nudges: Mapped[bool] = mapped_column(default=True, server_default=true())
    """Whether the member may get one gentle private nudge after being quiet for a while."""
    share_name: Mapped[bool] = mapped_column(default=False, server_default=false())
    """Whether the member agrees to be named to their facilitator when quiet (otherwise: "someone is quiet")."""
    updated_at: Mapped[datetime]
