"""review: period status changes, decisions on deductions

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 08:03:16.310432
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0006'
down_revision: Union[str, None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('period_transitions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period_code', sa.String(length=100), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=False),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("from_status IN ('open','locked','published')", name=op.f('ck_period_transitions_from_status')),
    sa.CheckConstraint("to_status IN ('open','locked','published')", name=op.f('ck_period_transitions_to_status')),
    sa.ForeignKeyConstraint(['period_code'], ['periods.code'], name=op.f('fk_period_transitions_period_code_periods'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_period_transitions'))
    )
    with op.batch_alter_table('period_transitions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_period_transitions_period_code'), ['period_code'], unique=False)

    op.create_table('decisions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('deduction_id', sa.Uuid(), nullable=False),
    sa.Column('action', sa.String(length=8), nullable=False),
    sa.Column('points', sa.Float(), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('decided_by', sa.String(length=64), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ledger_seq', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("(action = 'adjust') = (points IS NOT NULL)", name=op.f('ck_decisions_points')),
    sa.CheckConstraint("action = 'confirm' OR reason IS NOT NULL", name=op.f('ck_decisions_reason')),
    sa.CheckConstraint("action IN ('confirm','adjust','reject')", name=op.f('ck_decisions_action')),
    sa.ForeignKeyConstraint(['deduction_id'], ['deductions.id'], name=op.f('fk_decisions_deduction_id_deductions'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['ledger_seq'], ['ledger_entries.seq'], name=op.f('fk_decisions_ledger_seq_ledger_entries'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_decisions')),
    sa.UniqueConstraint('ledger_seq', name=op.f('uq_decisions_ledger_seq'))
    )
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_decisions_decided_at'), ['decided_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_decisions_decided_by'), ['decided_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_decisions_deduction_id'), ['deduction_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_decisions_deduction_id'))
        batch_op.drop_index(batch_op.f('ix_decisions_decided_by'))
        batch_op.drop_index(batch_op.f('ix_decisions_decided_at'))

    op.drop_table('decisions')
    with op.batch_alter_table('period_transitions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_period_transitions_period_code'))

    op.drop_table('period_transitions')
