"""ids are never reused on SQLite, as on PostgreSQL

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 10:00:00.000000

Without AUTOINCREMENT, SQLite gives a new row the highest id in the table plus one, so the id of the row deleted last
comes back: a session deleted by a re-plan returned as the new session's id, and the new session's reminders, keyed
by session id in the outbox, were taken for the old session's and dropped. Each table with an id of its own is
rebuilt with AUTOINCREMENT (SQLite cannot add it in place), so an id once given is never given again. PostgreSQL
sequences never go back: nothing to do there.

An id deleted before this upgrade may still be named by an outbox key (delivered items are kept a day, pending ones
until sent): the sessions table's counter starts after the highest session id the outbox names, so that id is not
given again either.
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    'communities',
    'members',
    'circles',
    'memberships',
    'audit_log',
    'escalations',
    'outbox',
    'safety_replies',
    'sessions',
    'attendance',
    'feedback',
    'facilitators',
    'away_periods',
    'swap_requests',
    'timers',
    'checkins',
    'checkin_preferences',
    'platform_state',
    'community_overrides',
)
"""Every table whose primary key is an id of its own (``circle_schedules`` is keyed by its circle)."""

SESSION_KEYS = re.compile(
    r'^(?:reminder|notice|postponed|unstaffed|prompt|lapsed|autoclose|debrief|feedback|checkin-prompt|told|released)'
    r':(\d+)(?::|$)'
)
"""Outbox keys that name a session id first, as written up to this revision."""

_outbox = sa.table('outbox', sa.column('key', sa.String()))


def _rebuild(autoincrement: bool) -> None:
    for name in TABLES:
        with op.batch_alter_table(name, recreate='always', table_kwargs={'sqlite_autoincrement': autoincrement}):
            pass


def _named_sessions() -> int:
    """The highest session id an outbox key names (0 for none)."""
    highest = 0
    for (key,) in op.get_bind().execute(sa.select(_outbox.c.key)):
        match = SESSION_KEYS.match(key)
        if match:
            highest = max(highest, int(match.group(1)))
    return highest


def upgrade() -> None:
    if op.get_bind().dialect.name != 'sqlite':
        return
    _rebuild(True)
    named = _named_sessions()
    bind = op.get_bind()
    current = bind.execute(sa.text("SELECT seq FROM sqlite_sequence WHERE name = 'sessions'")).scalar()
    if current is None:
        bind.execute(sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES ('sessions', :seq)"), {'seq': named})
    elif named > current:
        bind.execute(sa.text("UPDATE sqlite_sequence SET seq = :seq WHERE name = 'sessions'"), {'seq': named})


def downgrade() -> None:
    if op.get_bind().dialect.name != 'sqlite':
        return
    _rebuild(False)
