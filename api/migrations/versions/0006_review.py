"""review: period status changes

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 07:55:25.319952
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



def downgrade() -> None:
    with op.batch_alter_table('period_transitions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_period_transitions_period_code'))

    op.drop_table('period_transitions')
