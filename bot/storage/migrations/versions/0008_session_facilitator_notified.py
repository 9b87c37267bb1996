"""who was last told that a session is theirs to lead

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 10:00:00.000000

When a session moves to someone else, the person who was told it was theirs is now told it no longer is. Sessions
not yet started are filled in from what the database already says: a facilitator named by a moderator (they had the
``rotation set`` notice) or who took the session in an accepted swap was told; so was the facilitator of a session
whose facilitator notice was sent (its timer done), because until now nothing changed a planned session's
facilitator after its notice except a moderator's choice or a swap.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_sessions = sa.table(
    'sessions',
    sa.column('id', sa.Integer()),
    sa.column('status', sa.String()),
    sa.column('facilitator_id', sa.Integer()),
    sa.column('facilitator_source', sa.String()),
    sa.column('facilitator_notified_id', sa.Integer()),
)
_timers = sa.table(
    'timers',
    sa.column('session_id', sa.Integer()),
    sa.column('kind', sa.String()),
    sa.column('status', sa.String()),
)


def _backfill() -> None:
    noticed = (
        sa.select(_timers.c.session_id)
        .where(
            _timers.c.session_id == _sessions.c.id,
            _timers.c.kind == 'facilitator_notice',
            _timers.c.status == 'done',
        )
        .exists()
    )
    op.get_bind().execute(
        sa.update(_sessions)
        .where(
            _sessions.c.status == 'scheduled',
            _sessions.c.facilitator_id.is_not(None),
            sa.or_(_sessions.c.facilitator_source.in_(('moderator', 'swap')), noticed),
        )
        .values(facilitator_notified_id=_sessions.c.facilitator_id)
    )


def upgrade() -> None:
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('facilitator_notified_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_sessions_facilitator_notified_id_members'),
            'members',
            ['facilitator_notified_id'],
            ['id'],
            ondelete='SET NULL',
        )
    _backfill()


def downgrade() -> None:
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_sessions_facilitator_notified_id_members'), type_='foreignkey')
        batch_op.drop_column('facilitator_notified_id')
