"""draws: plans, draws, tasks, conflicts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 06:36:31.277107
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0002'
down_revision: Union[str, None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('plans',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('period', sa.String(length=100), nullable=True),
    sa.Column('params', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('unannounced', sa.Boolean(), nullable=False),
    sa.Column('due_from', sa.Date(), nullable=False),
    sa.Column('due_to', sa.Date(), nullable=False),
    sa.Column('exclude_recent_draws', sa.Integer(), nullable=False),
    sa.Column('seed_commitment', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('draft','drawn')", name=op.f('ck_plans_status')),
    sa.CheckConstraint('due_from <= due_to', name=op.f('ck_plans_due_window')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plans'))
    )
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plans_period'), ['period'], unique=False)

    op.create_table('draws',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('plan_id', sa.Uuid(), nullable=False),
    sa.Column('algorithm', sa.String(length=32), nullable=False),
    sa.Column('algorithm_version', sa.Integer(), nullable=False),
    sa.Column('seed', sa.Text(), nullable=False),
    sa.Column('population_digest', sa.String(length=64), nullable=False),
    sa.Column('record', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('inputs', sa.LargeBinary(), nullable=False),
    sa.Column('inputs_sha256', sa.String(length=64), nullable=False),
    sa.Column('drawn_by', sa.String(length=64), nullable=False),
    sa.Column('drawn_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_draws_plan_id_plans'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_draws')),
    sa.UniqueConstraint('plan_id', name=op.f('uq_draws_plan_id'))
    )
    with op.batch_alter_table('draws', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_draws_drawn_at'), ['drawn_at'], unique=False)

    op.create_table('conflicts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inspector', sa.String(length=64), nullable=False),
    sa.Column('unit_code', sa.String(length=100), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('declared_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['inspector'], ['inspectors.username'], name=op.f('fk_conflicts_inspector_inspectors'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_code'], ['units.code'], name=op.f('fk_conflicts_unit_code_units'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conflicts')),
    sa.UniqueConstraint('inspector', 'unit_code', name=op.f('uq_conflicts_inspector'))
    )
    with op.batch_alter_table('conflicts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conflicts_inspector'), ['inspector'], unique=False)
        batch_op.create_index(batch_op.f('ix_conflicts_unit_code'), ['unit_code'], unique=False)

    op.create_table('tasks',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('draw_id', sa.Uuid(), nullable=False),
    sa.Column('plan_id', sa.Uuid(), nullable=False),
    sa.Column('unit_code', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('draw_rank', sa.Integer(), nullable=False),
    sa.Column('team', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('case_files', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('due_from', sa.Date(), nullable=False),
    sa.Column('due_to', sa.Date(), nullable=False),
    sa.Column('unannounced', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('file_review','field_visit','callback')", name=op.f('ck_tasks_kind')),
    sa.CheckConstraint("status IN ('assigned','in_progress','submitted','reviewed')", name=op.f('ck_tasks_status')),
    sa.ForeignKeyConstraint(['draw_id'], ['draws.id'], name=op.f('fk_tasks_draw_id_draws'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_tasks_plan_id_plans'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['unit_code'], ['units.code'], name=op.f('fk_tasks_unit_code_units'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tasks'))
    )
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tasks_draw_id'), ['draw_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tasks_plan_id'), ['plan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tasks_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_tasks_unit_code'), ['unit_code'], unique=False)

    op.create_table('task_inspectors',
    sa.Column('task_id', sa.Uuid(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_task_inspectors_task_id_tasks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('task_id', 'username', name=op.f('pk_task_inspectors'))
    )
    with op.batch_alter_table('task_inspectors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_task_inspectors_username'), ['username'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('task_inspectors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_task_inspectors_username'))

    op.drop_table('task_inspectors')
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tasks_unit_code'))
        batch_op.drop_index(batch_op.f('ix_tasks_status'))
        batch_op.drop_index(batch_op.f('ix_tasks_plan_id'))
        batch_op.drop_index(batch_op.f('ix_tasks_draw_id'))

    op.drop_table('tasks')
    with op.batch_alter_table('conflicts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conflicts_unit_code'))
        batch_op.drop_index(batch_op.f('ix_conflicts_inspector'))

    op.drop_table('conflicts')
    with op.batch_alter_table('draws', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_draws_drawn_at'))

    op.drop_table('draws')
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plans_period'))

    op.drop_table('plans')
