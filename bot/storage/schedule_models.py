"""Tables for scheduled circles: schedules, sessions, attendance, feedback, facilitators and durable timers.

The database is the truth for schedules: the scheduler only wakes for the earliest pending timer, and each timer's
unique key means a restart, a retry or a second process never fires it twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models import Base

__all__ = [
    "Attendance",
    "AwayPeriod",
    "CircleSchedule",
    "CircleSession",
    "Facilitator",
    "FacilitatorSource",
    "Feedback",
    "SessionStatus",
    "SwapRequest",
    "Timer",
    "TimerStatus",
]


class CircleSchedule(Base):
    """When a circle meets: a recurrence rule (see :mod:`bot.circles.recurrence`) and its quorum."""

    __tablename__ = "circle_schedules"

    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"), primary_key=True)
    rule: Mapped[dict[str, Any]] = mapped_column(JSON)
    quorum: Mapped[int | None] = mapped_column(Integer, default=None)
    """Fewest confirmed attendees for a session to go ahead; ``None``: no quorum."""
    quorum_check_minutes: Mapped[int] = mapped_column(Integer, default=120)
    updated_at: Mapped[datetime]


class SessionStatus:
    """Values of ``sessions.status``."""

    SCHEDULED = "scheduled"
    OPEN = "open"
    CLOSED = "closed"
    POSTPONED = "postponed"
    CANCELLED = "cancelled"
    MISSED = "missed"
    UNSTAFFED = "unstaffed"


class FacilitatorSource:
    """Values of ``sessions.facilitator_source``: how the session's facilitator came to be."""

    ROTATION = "rotation"
    """Chosen by the fair rotation, at planning or at the start."""
    SWAP = "swap"
    """Took the session over in an accepted swap."""
    MODERATOR = "moderator"
    """Named by a moderator (``rotation set``): held at the start even from outside the rotation."""
    STAND_IN = "stand_in"
    """Another facilitator opened the session in the assigned one's place."""


class CircleSession(Base):
    """One occurrence of a circle, created when it is planned; the record of who led it is the rotation ledger."""

    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_circle_start", "circle_id", "start_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(120), unique=True)
    """``session:{circle_id}:{original UTC start}``: one row per occurrence, whoever plans it."""
    original_start: Mapped[datetime]
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default=SessionStatus.SCHEDULED)
    facilitator_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"), default=None)
    backup_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"), default=None)
    facilitator_source: Mapped[str] = mapped_column(
        String(16), default=FacilitatorSource.ROTATION, server_default=FacilitatorSource.ROTATION
    )
    """How ``facilitator_id`` was set (:class:`FacilitatorSource`); the start check honours a moderator's choice."""
    facilitator_set_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"), default=None)
    """The moderator who named the facilitator (source ``moderator``), for the record; ``None`` otherwise."""
    facilitator_notified_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None
    )
    """The person last told that the session is theirs to lead (the facilitator notice, a moderator's ``rotation
    set``, an accepted swap, the prompt at the start), or ``None`` while nobody has been. When the session moves to
    someone else, this person is told it no longer is theirs (:meth:`bot.circles.session_flow.SessionFlow.release`)."""
    space_id: Mapped[str | None] = mapped_column(String(255), default=None)
    """The thread or room the session was opened in."""
    opened_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime]


class Attendance(Base):
    """A member's confirmation and presence for one session."""

    __tablename__ = "attendance"
    __table_args__ = (UniqueConstraint("session_id", "member_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    confirmed: Mapped[bool] = mapped_column(default=False)
    attended: Mapped[bool] = mapped_column(default=False)
    feedback_given: Mapped[bool] = mapped_column(default=False)


class Feedback(Base):
    """Anonymous feedback on a session: no member id, by design."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    rating: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime]


class Facilitator(Base):
    """A member's standing as a facilitator of one circle."""

    __tablename__ = "facilitators"
    __table_args__ = (UniqueConstraint("circle_id", "member_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    trained: Mapped[bool] = mapped_column(default=False)
    volunteering: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime]


class AwayPeriod(Base):
    """A stretch when a facilitator is not to be chosen."""

    __tablename__ = "away_periods"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    facilitator_id: Mapped[int] = mapped_column(ForeignKey("facilitators.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]


class SwapRequest(Base):
    """A facilitator's request that another lead a session in their place; it needs the other's acceptance."""

    __tablename__ = "swap_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    from_member: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    to_member: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime]


class TimerStatus:
    """Values of ``timers.status``."""

    PENDING = "pending"
    DONE = "done"
    SKIPPED = "skipped"


class Timer(Base):
    """Something to do at a time: a reminder, a facilitator notice, a session start, a quorum check, a close.

    ``key`` is unique, so planning the same thing twice (a restart, a second process) records it once.
    """

    __tablename__ = "timers"
    __table_args__ = (Index("ix_timers_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    circle_id: Mapped[int | None] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"), default=None)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), default=None)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), default=None)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default=TimerStatus.PENDING)
    leased_until: Mapped[datetime | None] = mapped_column(default=None)
    done_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime]
