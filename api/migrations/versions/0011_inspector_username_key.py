"""inspector username key: an inspector record is one name in any case, as accounts are

Inspector records were told apart by the exact spelling of their username, so importing
`Insp01` beside `insp01` made a second inspector whom a draw could send as another person.
Each record gets the form its name is compared under (`username_key`: NFKC, case folding,
NFKC, as `users.username_key` of 0010), unique. Records whose names already fold together
stop the upgrade, naming them: teams, conflicts and past draws refer to each spelling, so
which one is the person is the bureau's call, not this migration's.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25 09:00:00
"""

import unicodedata
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from api.migrate import MigrationRefused

revision: str = '0011'
down_revision: Union[str, None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _key(username: str) -> str:
    # Frozen copy of api.models.username_key: this revision's meaning must not follow later edits.
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())


def upgrade() -> None:
    connection = op.get_bind()
    inspectors = connection.execute(sa.text("SELECT id, username FROM inspectors ORDER BY username")).all()
    keys: dict[str, list[tuple[int, str]]] = {}
    for row in inspectors:
        keys.setdefault(_key(row.username), []).append((row.id, row.username))
    clashes = [named for named in keys.values() if len(named) > 1]
    if clashes:
        listed = "; ".join(", ".join(f"{n!r} (inspectors.id {i})" for i, n in named) for named in clashes)
        raise MigrationRefused(
            f"migration 0011: these inspector records differ only in case (or full-width/half-width form) and "
            f"would become one name: {listed}. Nothing was changed. Each may be on teams, conflicts and past "
            "draws under its own spelling: decide which record is the person, deactivate or rename the others "
            "(their teams and conflicts follow the spelling), then migrate again.")
    too_long = [n for named in keys.values() for _, n in named if len(_key(n)) > 64]
    if too_long:
        raise MigrationRefused(f"migration 0011: the compared form of these inspector usernames is over 64 characters: "
                           f"{', '.join(repr(n) for n in too_long)}. Nothing was changed.")

    # No batch rebuild on SQLite: dropping the old table to swap in the copy deletes every
    # declared conflict (conflicts.inspector cascades, and foreign keys are on inside the
    # migration's transaction). SQLite adds a NOT NULL column in place only with a default;
    # the '' is never written, since every insert derives the key (api.models.Inspector).
    sqlite = connection.dialect.name == "sqlite"
    op.add_column('inspectors', sa.Column('username_key', sa.String(length=64), nullable=not sqlite,
                                          server_default='' if sqlite else None))
    update = sa.text("UPDATE inspectors SET username_key = :key WHERE id = :id")
    for row in inspectors:
        connection.execute(update, {"key": _key(row.username), "id": row.id})
    if not sqlite:
        op.alter_column('inspectors', 'username_key', existing_type=sa.String(length=64), nullable=False)
    op.create_index(op.f('ix_inspectors_username_key'), 'inspectors', ['username_key'], unique=True)


def downgrade() -> None:
    op.drop_index(op.f('ix_inspectors_username_key'), table_name='inspectors')
    op.drop_column('inspectors', 'username_key')
