"""audit indexes: drop two that cost more than they give

Every field write adds an audit row, so each index on the table costs throughput on the hot
path. request_id is no filter of the audit API (it is looked up by hand, rarely), and action
has a few dozen values, so its index narrows little; actor, object and time keep theirs.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-21 10:40:00
"""

from typing import Sequence, Union

from alembic import op

revision: str = '0008'
down_revision: Union[str, None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_request_id'))
        batch_op.drop_index(batch_op.f('ix_audit_events_action'))


def downgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_request_id'), ['request_id'], unique=False)
