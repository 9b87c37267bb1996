"""Small key-value state a platform adapter keeps across restarts (the Matrix sync token, DM rooms, session rooms).

Keys are namespaced by the adapter (``matrix:@bot:example.org:next_batch``). Values are platform ids and tokens,
never message text.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models import Base

__all__ = ["PlatformState"]


class PlatformState(Base):
    """One remembered value of a platform adapter."""

    __tablename__ = "platform_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]
