"""scoring: catalogs, schemes, periods, measurements, deductions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 06:36:47.115064
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0003'
down_revision: Union[str, None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('catalogs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=120), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('loaded_by', sa.String(length=64), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalogs')),
    sa.UniqueConstraint('code', 'version', name='uq_catalogs_code_version')
    )
    op.create_table('schemes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=120), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('loaded_by', sa.String(length=64), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_schemes')),
    sa.UniqueConstraint('code', 'version', name='uq_schemes_code_version')
    )
    op.create_table('periods',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('catalog_code', sa.String(length=120), nullable=False),
    sa.Column('catalog_version', sa.Integer(), nullable=False),
    sa.Column('scheme_code', sa.String(length=120), nullable=False),
    sa.Column('scheme_version', sa.Integer(), nullable=False),
    sa.Column('unit_kind', sa.String(length=16), nullable=False),
    sa.Column('parent_code', sa.String(length=100), nullable=True),
    sa.Column('opened_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('open','locked','published')", name=op.f('ck_periods_status')),
    sa.CheckConstraint("unit_kind IN ('office','entity')", name=op.f('ck_periods_unit_kind')),
    sa.CheckConstraint('starts_on <= ends_on', name=op.f('ck_periods_dates')),
    sa.ForeignKeyConstraint(['catalog_code', 'catalog_version'], ['catalogs.code', 'catalogs.version'], name='fk_periods_catalog', ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['parent_code'], ['units.code'], name=op.f('fk_periods_parent_code_units'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['scheme_code', 'scheme_version'], ['schemes.code', 'schemes.version'], name='fk_periods_scheme', ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_periods')),
    sa.UniqueConstraint('code', name=op.f('uq_periods_code'))
    )
    op.create_table('deductions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('period_code', sa.String(length=100), nullable=False),
    sa.Column('unit_code', sa.String(length=100), nullable=False),
    sa.Column('indicator', sa.String(length=120), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Float(), nullable=True),
    sa.Column('level', sa.String(length=120), nullable=True),
    sa.Column('achievement', sa.String(length=200), nullable=True),
    sa.Column('points', sa.Float(), nullable=False),
    sa.Column('effect', sa.String(length=8), nullable=False),
    sa.Column('staff', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('failed_to_deduct_by', sa.String(length=50), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('adjusted_points', sa.Float(), nullable=True),
    sa.Column('finding_id', sa.Uuid(), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(status = 'adjusted') = (adjusted_points IS NOT NULL)", name=op.f('ck_deductions_adjusted')),
    sa.CheckConstraint("effect IN ('deduct','add','veto')", name=op.f('ck_deductions_effect')),
    sa.CheckConstraint("status IN ('proposed','confirmed','adjusted','rejected')", name=op.f('ck_deductions_status')),
    sa.CheckConstraint('count >= 1', name=op.f('ck_deductions_count')),
    sa.ForeignKeyConstraint(['period_code'], ['periods.code'], name=op.f('fk_deductions_period_code_periods'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['unit_code'], ['units.code'], name=op.f('fk_deductions_unit_code_units'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deductions'))
    )
    with op.batch_alter_table('deductions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deductions_finding_id'), ['finding_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_deductions_period_code'), ['period_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_deductions_unit_code'), ['unit_code'], unique=False)

    op.create_table('measurements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period_code', sa.String(length=100), nullable=False),
    sa.Column('unit_code', sa.String(length=100), nullable=False),
    sa.Column('metric', sa.String(length=120), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('elapsed', sa.Float(), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('elapsed > 0 AND elapsed <= 1', name=op.f('ck_measurements_elapsed')),
    sa.ForeignKeyConstraint(['period_code'], ['periods.code'], name=op.f('fk_measurements_period_code_periods'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['unit_code'], ['units.code'], name=op.f('fk_measurements_unit_code_units'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_measurements')),
    sa.UniqueConstraint('period_code', 'unit_code', 'metric', name='uq_measurements_key')
    )
    with op.batch_alter_table('measurements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_measurements_unit_code'), ['unit_code'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('measurements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_measurements_unit_code'))

    op.drop_table('measurements')
    with op.batch_alter_table('deductions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deductions_unit_code'))
        batch_op.drop_index(batch_op.f('ix_deductions_period_code'))
        batch_op.drop_index(batch_op.f('ix_deductions_finding_id'))

    op.drop_table('deductions')
    op.drop_table('periods')
    op.drop_table('schemes')
    op.drop_table('catalogs')
