"""strip registry labels: grids, districts and names stored with surrounding whitespace

The JSON API stored such values as sent until the bodies stripped them (as an import always
did); the sampler refuses a grid or home grid with surrounding whitespace, so one such value
stopped every draw that read it. Stripped here; an optional value of only whitespace becomes
empty (NULL), a name of only whitespace is left as it is. Data only: no schema change.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22 09:55:00
"""

from datetime import datetime, timezone
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: Union[str, None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# (table, key column, optional columns, required columns)
_LABELS = (
    ("units", "code", ("grid", "district"), ("name",)),
    ("inspectors", "username", ("home_grid",), ("name",)),
)


def upgrade() -> None:
    connection = op.get_bind()
    now = datetime.now(timezone.utc)
    for table, key, optional, required in _LABELS:
        columns = (*optional, *required)
        rows = connection.execute(sa.text(f"SELECT {key}, {', '.join(columns)} FROM {table}")).all()
        for row in rows:
            changes = {}
            for name in columns:
                value = getattr(row, name)
                # Python's strip, as the bodies do: it knows the ideographic space U+3000.
                if isinstance(value, str) and value != value.strip():
                    stripped = value.strip()
                    if stripped or name in optional:
                        changes[name] = stripped or None
            if changes:
                sets = ", ".join(f"{name} = :{name}" for name in changes)
                # Typed as the column is, so SQLite stores the time in the app's own format.
                update = sa.text(f"UPDATE {table} SET {sets}, updated_at = :now WHERE {key} = :key").bindparams(
                    sa.bindparam("now", type_=sa.DateTime(timezone=True)))
                connection.execute(update, {**changes, "now": now, "key": getattr(row, key)})


def downgrade() -> None:
    pass  # the surrounding whitespace is not worth restoring, and nothing depends on it
