"""SQLAlchemy models. Every table names a platform-neutral owner, never a platform object.

Later features add their tables here (sessions, check-ins, rotation, escalations, the outbox) with a migration each.
No message text is stored in these tables.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "AuditEntry",
    "Base",
    "Circle",
    "CircleStatus",
    "Community",
    "Escalation",
    "EscalationStatus",
    "Member",
    "Membership",
    "MembershipStatus",
    "OutboxItem",
    "OutboxStatus",
    "SafetyReply",
    "UTCDateTime",
    "Visibility",
]

# Deterministic constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone, so it is stored naive in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use the injected clock")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with the project's naming convention; no table's id is ever reused (see ``__table_cls__``)."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime}

    @classmethod
    def __table_cls__(cls, *args: Any, **kwargs: Any) -> Table:
        """Every table is made with SQLite's AUTOINCREMENT on its id (migration 0009), so an id once given is never
        given again, as PostgreSQL's sequences never go back. Without it SQLite hands out the id of the row deleted
        last again, and ids are remembered beyond their rows: outbox keys (a re-planned session took the deleted
        one's id, and its reminders were dropped as already sent), an outbox item or timer being worked on while its
        row is deleted, alert and swap request numbers people were told. (A table keyed by another table's id, like
        ``circle_schedules``, has no id of its own and is left as it is.)"""
        kwargs.setdefault("sqlite_autoincrement", True)
        return Table(*args, **kwargs)


class CircleStatus:
    """Values of ``circles.status``."""

    ACTIVE = "active"
    ARCHIVED = "archived"


class Visibility:
    """Values of ``circles.visibility``: public circles are listed; unlisted ones are joined by exact name."""

    PUBLIC = "public"
    UNLISTED = "unlisted"
    ALL = (PUBLIC, UNLISTED)


class MembershipStatus:
    """Values of ``memberships.status``."""

    ACTIVE = "active"
    WAITLISTED = "waitlisted"


class Community(Base):
    """A Discord guild, a Matrix space or set of rooms, or the console community."""

    __tablename__ = "communities"
    __table_args__ = (UniqueConstraint("platform", "native_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    native_id: Mapped[str] = mapped_column(String(255))
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    """The ``id`` given in config: stable across renames."""
    name: Mapped[str] = mapped_column(String(100))
    locale: Mapped[str] = mapped_column(String(8), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    country: Mapped[str | None] = mapped_column(String(2), default=None)
    moderator_room: Mapped[str | None] = mapped_column(String(255), default=None)
    """Where alerts go: a channel or room id from the config."""
    fallback_room: Mapped[str | None] = mapped_column(String(255), default=None)
    on_call_role: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime]

    circles: Mapped[list[Circle]] = relationship(back_populates="community", passive_deletes=True)


class Member(Base):
    """A person on one platform. Holds only their own preferences: no names, no message text."""

    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("platform", "native_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    native_id: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str | None] = mapped_column(String(8), default=None)
    """The member's own language choice, over the community's."""
    timezone: Mapped[str | None] = mapped_column(String(64), default=None)
    reminders: Mapped[bool] = mapped_column(default=True, server_default=true())
    """Whether the member wants session reminders."""
    created_at: Mapped[datetime]


class Circle(Base):
    """A peer-support circle in one community."""

    __tablename__ = "circles"
    __table_args__ = (UniqueConstraint("community_id", "name_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    name_key: Mapped[str] = mapped_column(String(80))
    """The name folded for comparison (NFKC, casefold, single spaces): unique per community."""
    topic: Mapped[str] = mapped_column(String(120), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    capacity: Mapped[int] = mapped_column(Integer)
    visibility: Mapped[str] = mapped_column(String(16), default=Visibility.PUBLIC)
    status: Mapped[str] = mapped_column(String(16), default=CircleStatus.ACTIVE)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    archived_at: Mapped[datetime | None] = mapped_column(default=None)

    community: Mapped[Community] = relationship(back_populates="circles")


class Membership(Base):
    """A member's seat in a circle, or their place on its waitlist, with their role there."""

    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("circle_id", "member_id"),
        Index("ix_memberships_circle_status_queued", "circle_id", "status", "queued_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16), default="member")
    """``member`` or ``facilitator``: circle-scoped, so a facilitator of one circle has no power over another."""
    status: Mapped[str] = mapped_column(String(16))
    queued_at: Mapped[datetime]
    """When the member asked to join: the waitlist order."""
    joined_at: Mapped[datetime | None] = mapped_column(default=None)
    """When the member took a seat; ``None`` while waitlisted."""


class AuditEntry(Base):
    """Who did what to what. Details hold identifiers and settings, never message text."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(128), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(index=True)


class EscalationStatus:
    """Values of ``escalations.status``."""

    OPEN = "open"
    CLAIMED = "claimed"
    RESOLVED = "resolved"


class Escalation(Base):
    """A person who may be in danger, and the moderators' handling of it.

    ``excerpt`` is the only message text the bot keeps, and only because it was escalated; it is purged after the
    configured retention. Several messages from one person within the merge window update one escalation.
    """

    __tablename__ = "escalations"
    __table_args__ = (Index("ix_escalations_community_member_status", "community_id", "member_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(16))
    """``message`` (detected) or ``support`` (the person asked for a human)."""
    tier: Mapped[str] = mapped_column(String(16))
    about_other: Mapped[bool] = mapped_column(default=False)
    excerpt: Mapped[str | None] = mapped_column(Text, default=None)
    matched: Mapped[list[Any]] = mapped_column(JSON, default=list)
    """Lexicon phrases and tiers that matched: the explanation, never the message."""
    room_id: Mapped[str | None] = mapped_column(String(255), default=None)
    link: Mapped[str | None] = mapped_column(String(512), default=None)
    status: Mapped[str] = mapped_column(String(16), default=EscalationStatus.OPEN)
    message_count: Mapped[int] = mapped_column(Integer, default=1)
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"), default=None)
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"), default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    resend_count: Mapped[int] = mapped_column(Integer, default=0)
    last_alert_at: Mapped[datetime]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class OutboxStatus:
    """Values of ``outbox.status``."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class OutboxItem(Base):
    """A message that must not be lost: written in the same transaction as the decision, delivered with retries.

    ``key`` is the idempotency key: unique, and handed to the platform (a Matrix transaction id, a Discord nonce)
    so a retry after a crash is not shown twice. ``text`` is cleared once delivered.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    """``dm`` (to a person) or ``room`` (to a channel or room)."""
    target: Mapped[str] = mapped_column(String(255))
    text: Mapped[str] = mapped_column(Text)
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalations.id", ondelete="SET NULL"), default=None)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), default=None)
    """The person a private message is for (so forgetting them removes it)."""
    fallback: Mapped[str | None] = mapped_column(String(255), default=None)
    """Where a moderators' alert goes too when its destination keeps failing."""
    ping: Mapped[str | None] = mapped_column(String(255), default=None)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime]
    leased_until: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(300), default=None)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)


class SafetyReply(Base):
    """When the bot last wrote privately to a person about distress: the reply cooldown. No text."""

    __tablename__ = "safety_replies"
    __table_args__ = (UniqueConstraint("community_id", "member_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    last_reply_at: Mapped[datetime]
    last_tier: Mapped[int] = mapped_column(Integer, default=0)
    """The tier last answered (1 distress .. 3 urgent): a more serious one is answered within the cooldown."""
