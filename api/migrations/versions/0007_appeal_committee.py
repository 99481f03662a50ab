"""appeal committee: each chief's vote on an appeal, and the committee size an appeal was filed under

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 09:12:40.318207
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: Union[str, None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # Appeals filed before committees existed were answered by one chief.
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('committee_size', sa.Integer(), server_default='1', nullable=False))
        batch_op.create_check_constraint('committee_size', "committee_size BETWEEN 1 AND 9 AND committee_size % 2 = 1")

    op.create_table('appeal_votes',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('appeal_id', sa.Uuid(), nullable=False),
    sa.Column('voted_by', sa.String(length=64), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('points', sa.Float(), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('voted_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(outcome = 'partial') = (points IS NOT NULL)", name=op.f('ck_appeal_votes_points')),
    sa.CheckConstraint("outcome IN ('uphold','overturn','partial')", name=op.f('ck_appeal_votes_outcome')),
    sa.ForeignKeyConstraint(['appeal_id'], ['appeals.id'], name=op.f('fk_appeal_votes_appeal_id_appeals'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appeal_votes')),
    sa.UniqueConstraint('appeal_id', 'voted_by', name='uq_appeal_votes_appeal_voter')
    )
    with op.batch_alter_table('appeal_votes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appeal_votes_appeal_id'), ['appeal_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('appeal_votes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appeal_votes_appeal_id'))

    op.drop_table('appeal_votes')
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.drop_constraint('committee_size', type_='check')
        batch_op.drop_column('committee_size')
