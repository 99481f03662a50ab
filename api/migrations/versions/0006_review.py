"""review: period status changes, decisions on deductions, notices to units, appeals, audit log

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 08:27:52.059639
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0006'
down_revision: Union[str, None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('object_type', sa.String(length=32), nullable=False),
    sa.Column('object_id', sa.String(length=100), nullable=False),
    sa.Column('before', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('after', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('request_id', sa.String(length=128), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_actor'), ['actor'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_object_id'), ['object_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_request_id'), ['request_id'], unique=False)

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

    op.create_table('appeals',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('deduction_id', sa.Uuid(), nullable=False),
    sa.Column('unit_code', sa.String(length=100), nullable=False),
    sa.Column('period_code', sa.String(length=100), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('evidence_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('filed_by', sa.String(length=64), nullable=False),
    sa.Column('filed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answer_by', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('points', sa.Float(), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("(status = 'open') = (decided_at IS NULL)", name=op.f('ck_appeals_decided')),
    sa.CheckConstraint("(status = 'partial') = (points IS NOT NULL)", name=op.f('ck_appeals_points')),
    sa.CheckConstraint("status IN ('open','upheld','overturned','partial')", name=op.f('ck_appeals_status')),
    sa.ForeignKeyConstraint(['deduction_id'], ['deductions.id'], name=op.f('fk_appeals_deduction_id_deductions'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['period_code'], ['periods.code'], name=op.f('fk_appeals_period_code_periods'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['unit_code'], ['units.code'], name=op.f('fk_appeals_unit_code_units'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appeals')),
    sa.UniqueConstraint('deduction_id', name=op.f('uq_appeals_deduction_id'))
    )
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appeals_answer_by'), ['answer_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_appeals_filed_at'), ['filed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_appeals_period_code'), ['period_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_appeals_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_appeals_unit_code'), ['unit_code'], unique=False)

    op.create_table('cited_evidence',
    sa.Column('deduction_id', sa.Uuid(), nullable=False),
    sa.Column('evidence_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['deduction_id'], ['deductions.id'], name=op.f('fk_cited_evidence_deduction_id_deductions'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('deduction_id', 'evidence_id', name=op.f('pk_cited_evidence'))
    )
    with op.batch_alter_table('cited_evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cited_evidence_evidence_id'), ['evidence_id'], unique=False)

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

    op.create_table('notices',
    sa.Column('deduction_id', sa.Uuid(), nullable=False),
    sa.Column('unit_code', sa.String(length=100), nullable=False),
    sa.Column('period_code', sa.String(length=100), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('notify_by', sa.Date(), nullable=False),
    sa.Column('notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('notified_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['deduction_id'], ['deductions.id'], name=op.f('fk_notices_deduction_id_deductions'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['period_code'], ['periods.code'], name=op.f('fk_notices_period_code_periods'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['unit_code'], ['units.code'], name=op.f('fk_notices_unit_code_units'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('deduction_id', name=op.f('pk_notices'))
    )
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notices_notify_by'), ['notify_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_notices_period_code'), ['period_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_notices_unit_code'), ['unit_code'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notices_unit_code'))
        batch_op.drop_index(batch_op.f('ix_notices_period_code'))
        batch_op.drop_index(batch_op.f('ix_notices_notify_by'))

    op.drop_table('notices')
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_decisions_deduction_id'))
        batch_op.drop_index(batch_op.f('ix_decisions_decided_by'))
        batch_op.drop_index(batch_op.f('ix_decisions_decided_at'))

    op.drop_table('decisions')
    with op.batch_alter_table('cited_evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cited_evidence_evidence_id'))

    op.drop_table('cited_evidence')
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appeals_unit_code'))
        batch_op.drop_index(batch_op.f('ix_appeals_status'))
        batch_op.drop_index(batch_op.f('ix_appeals_period_code'))
        batch_op.drop_index(batch_op.f('ix_appeals_filed_at'))
        batch_op.drop_index(batch_op.f('ix_appeals_answer_by'))

    op.drop_table('appeals')
    with op.batch_alter_table('period_transitions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_period_transitions_period_code'))

    op.drop_table('period_transitions')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_request_id'))
        batch_op.drop_index(batch_op.f('ix_audit_events_object_id'))
        batch_op.drop_index(batch_op.f('ix_audit_events_at'))
        batch_op.drop_index(batch_op.f('ix_audit_events_actor'))
        batch_op.drop_index(batch_op.f('ix_audit_events_action'))

    op.drop_table('audit_events')
