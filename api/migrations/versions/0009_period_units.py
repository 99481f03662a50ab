"""period units: the units a locked or published period assesses, kept at the lock

A period's assessed units were read from the registry every time, so a registry import that
changed a unit's kind or parent changed a locked or published leaderboard. Periods locked or
published before this revision get today's registry as their list (the best there is).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 07:20:00
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: Union[str, None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('period_units',
    sa.Column('period_code', sa.String(length=100), nullable=False),
    sa.Column('unit_code', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['period_code'], ['periods.code'], name=op.f('fk_period_units_period_code_periods'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_code'], ['units.code'], name=op.f('fk_period_units_unit_code_units'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('period_code', 'unit_code', name=op.f('pk_period_units'))
    )
    op.execute(
        "INSERT INTO period_units (period_code, unit_code) "
        "SELECT p.code, u.code FROM periods p JOIN units u ON u.kind = p.unit_kind "
        "AND (p.parent_code IS NULL OR u.parent_code = p.parent_code) "
        "WHERE p.status IN ('locked', 'published')"
    )


def downgrade() -> None:
    op.drop_table('period_units')
