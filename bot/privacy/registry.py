"""The registry of personal data: for every table, what one member's export holds and how forgetting them works.

Each table in ``Base.metadata`` has exactly one :class:`TablePolicy`. A table with personal data names how it is
exported (a section of the JSON, with stable keys and ISO times, holding nothing about anyone else) and how one
member is forgotten (rows deleted, or anonymised where moderators need an accountable record). A table without
personal data says so explicitly. ``tests/privacy`` walks the metadata, so a new table without a policy fails CI.

Forgetting runs in :data:`POLICIES` order, inside the caller's transaction, with explicit statements rather than
relying on foreign-key cascades; the ``members`` row goes last.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.admin import privacy as admin_data
from bot.privacy import circle_data, safety_data
from bot.privacy.common import iso
from bot.privacy.safety_data import AUDIT_MEMBER_DETAILS
from bot.storage.models import (
    Member,
)

__all__ = ["AUDIT_MEMBER_DETAILS", "POLICIES", "Exporter", "Forgetter", "TablePolicy", "iso", "policy_for"]

Exporter = Callable[[AsyncSession, Member], Awaitable[Any]]
"""Returns one section of the member's export (JSON-ready: lists, dicts, strings, numbers, booleans, None)."""
Forgetter = Callable[[AsyncSession, Member], Awaitable[int]]
"""Deletes or anonymises one member's rows; returns how many rows it touched."""

"""Audit ``details`` keys that may hold a member id (``facilitate.train``, ``rotation.swap``, ``rotation.set``)."""


@dataclass(frozen=True, slots=True)
class TablePolicy:
    """How one table treats personal data. ``personal=False`` tables need neither an exporter nor a forgetter."""

    table: str
    personal: bool
    description: str
    """What the table holds about a person, and what forgetting does (or why it holds nothing personal)."""
    export_key: str | None = None
    export: Exporter | None = None
    forget: Forgetter | None = None
    covered_by: str | None = None
    """Another table whose forgetter also clears this one (one shared function, not two copies)."""


# ---------------------------------------------------------------------------------------------------------------

POLICIES: Sequence[TablePolicy] = (
    TablePolicy("communities", False, "Configured communities: names and settings, nobody's data."),
    TablePolicy("circle_schedules", False, "When circles meet: no member ids."),
    TablePolicy("feedback", False, "Anonymous by design: a rating and a note with no member id."),
    TablePolicy(
        "outbox",
        True,
        "Messages in transit: those addressed to the member and alerts about them are deleted; not exported "
        "(delivered rows hold no text, and pending ones are about to reach the member anyway).",
        forget=safety_data.forget_outbox,
    ),
    TablePolicy(
        "escalations",
        True,
        "Support requests and alerts about the member: exported (their own support note included); on forgetting, "
        "anonymised: member, excerpt, matched phrases, room and link removed; tier, times, status and who handled it "
        "kept for accountability.",
        export_key="support_requests",
        export=safety_data.export_escalations,
        forget=safety_data.forget_escalations,
    ),
    TablePolicy(
        "safety_replies",
        True,
        "The distress-reply cooldown: exported; deleted.",
        export_key="safety_replies",
        export=safety_data.export_safety_replies,
        forget=safety_data.forget_safety_replies,
    ),
    TablePolicy(
        "audit_log",
        True,
        "Actions the member took: exported as action and time; on forgetting, kept with the actor removed and member "
        "ids in details blanked.",
        export_key="audit_actions",
        export=safety_data.export_audit,
        forget=safety_data.forget_audit,
    ),
    TablePolicy(
        "checkins",
        True,
        "Check-ins with notes: exported; deleted (bot.circles.checkins.forget_member, which also clears preferences).",
        export_key="checkins",
        export=circle_data.export_checkins,
        forget=circle_data.forget_checkins,
    ),
    TablePolicy(
        "checkin_preferences",
        True,
        "Check-in nudges and name sharing: exported; deleted with the check-ins.",
        export_key="checkin_preferences",
        export=circle_data.export_checkin_preferences,
        covered_by="checkins",
    ),
    TablePolicy(
        "swap_requests",
        True,
        "Facilitation swaps asked by or of the member: exported without the other person; deleted.",
        export_key="swap_requests",
        export=circle_data.export_swaps,
        forget=circle_data.forget_swaps,
    ),
    TablePolicy(
        "attendance",
        True,
        "Confirmations and presence: exported; deleted.",
        export_key="attendance",
        export=circle_data.export_attendance,
        forget=circle_data.forget_attendance,
    ),
    TablePolicy(
        "timers",
        True,
        "Reminders and nudges due to the member: scheduler internals, not exported; deleted.",
        forget=circle_data.forget_timers,
    ),
    TablePolicy(
        "away_periods",
        True,
        "A facilitator's away periods: exported; deleted.",
        export_key="away_periods",
        export=circle_data.export_away,
        forget=circle_data.forget_away,
    ),
    TablePolicy(
        "facilitators",
        True,
        "Facilitator standing per circle: exported; deleted.",
        export_key="facilitator_roles",
        export=circle_data.export_facilitators,
        forget=circle_data.forget_facilitators,
    ),
    TablePolicy(
        "sessions",
        True,
        "Sessions the member led, backed up or was told to lead: exported (with how they came to lead it); on "
        "forgetting the session stays (the circle's record) with the facilitator, backup, the person told to lead it "
        "or the moderator who named the facilitator removed. A session whose named facilitator is forgotten falls "
        "back to the rotation at its start.",
        export_key="sessions_led",
        export=circle_data.export_sessions_led,
        forget=circle_data.forget_sessions_led,
    ),
    TablePolicy(
        "memberships",
        True,
        "Seats and waitlist places: exported with the waitlist position; deleted (the caller fills freed seats).",
        export_key="memberships",
        export=circle_data.export_memberships,
        forget=circle_data.forget_memberships,
    ),
    TablePolicy(
        "circles",
        True,
        "Circles the member created: exported by name; on forgetting the circle stays with its creator removed.",
        export_key="circles_created",
        export=circle_data.export_circles_created,
        forget=circle_data.forget_circles_created,
    ),
    TablePolicy(
        "community_overrides",
        True,
        "Community settings changed in chat: which ones the member changed are exported; on forgetting, the "
        "settings stay with who changed them removed.",
        export_key="settings_changed",
        export=admin_data.export_overrides,
        forget=admin_data.forget_overrides,
    ),
    TablePolicy(
        "platform_state",
        True,
        "Adapter state: the member's direct-message room is exported and deleted; other keys are the bot's own.",
        export_key="direct_rooms",
        export=safety_data.export_platform_state,
        forget=safety_data.forget_platform_state,
    ),
    TablePolicy(
        "members",
        True,
        "The member record (language, time zone, reminders): exported; deleted last.",
        export_key="member",
        export=circle_data.export_member,
        forget=circle_data.forget_member_row,
    ),
)
"""Every table's policy, in the order forgetting runs (the member row last)."""

_BY_TABLE = {policy.table: policy for policy in POLICIES}


def policy_for(table: str) -> TablePolicy | None:
    """The declared policy of ``table``, if it has one."""
    return _BY_TABLE.get(table)
