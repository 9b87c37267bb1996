"""how a session's facilitator was set (rotation, swap, moderator, stand-in) and which moderator set it

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 10:00:00.000000

Existing sessions are filled in from what the database already says: an accepted swap whose taker still leads the
session marks it ``swap``; a ``rotation set`` in the audit log whose person still leads it marks it ``moderator``
(with the moderator, when the audit entry still names them), so a choice made before the upgrade holds at the start.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_sessions = sa.table(
    'sessions',
    sa.column('id', sa.Integer()),
    sa.column('facilitator_id', sa.Integer()),
    sa.column('facilitator_source', sa.String()),
    sa.column('facilitator_set_by', sa.Integer()),
)
_swaps = sa.table(
    'swap_requests',
    sa.column('session_id', sa.Integer()),
    sa.column('to_member', sa.Integer()),
    sa.column('status', sa.String()),
)
_audit = sa.table(
    'audit_log',
    sa.column('id', sa.Integer()),
    sa.column('actor_id', sa.Integer()),
    sa.column('action', sa.String()),
    sa.column('target', sa.String()),
    sa.column('details', sa.JSON()),
    sa.column('created_at', sa.DateTime(timezone=True)),
)


def _backfill() -> None:
    bind = op.get_bind()
    accepted = (
        sa.select(_swaps.c.session_id)
        .where(
            _swaps.c.session_id == _sessions.c.id,
            _swaps.c.to_member == _sessions.c.facilitator_id,
            _swaps.c.status == 'accepted',
        )
        .exists()
    )
    bind.execute(sa.update(_sessions).where(accepted).values(facilitator_source='swap'))
    # The latest `rotation set` of each session wins: later entries overwrite earlier ones.
    sets = bind.execute(
        sa.select(_audit.c.actor_id, _audit.c.target, _audit.c.details)
        .where(_audit.c.action == 'rotation.set', _audit.c.target.like('session:%'))
        .order_by(_audit.c.created_at, _audit.c.id)
    ).all()
    chosen: dict[int, tuple[int, int | None]] = {}
    for actor_id, target, details in sets:
        number = target.removeprefix('session:')
        person = (details or {}).get('to')
        if number.isdigit() and isinstance(person, int):
            chosen[int(number)] = (person, actor_id)
    for session_id, (person, actor_id) in chosen.items():
        bind.execute(
            sa.update(_sessions)
            .where(_sessions.c.id == session_id, _sessions.c.facilitator_id == person)
            .values(facilitator_source='moderator', facilitator_set_by=actor_id)
        )


def upgrade() -> None:
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('facilitator_source', sa.String(length=16), server_default='rotation', nullable=False)
        )
        batch_op.add_column(sa.Column('facilitator_set_by', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_sessions_facilitator_set_by_members'),
            'members',
            ['facilitator_set_by'],
            ['id'],
            ondelete='SET NULL',
        )
    _backfill()


def downgrade() -> None:
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_sessions_facilitator_set_by_members'), type_='foreignkey')
        batch_op.drop_column('facilitator_set_by')
        batch_op.drop_column('facilitator_source')
