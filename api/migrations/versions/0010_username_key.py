"""username key: usernames are one name in any case

Accounts were told apart by the exact spelling of their name, so `ZhangWei` and `zhangwei`
could be two people and `Zhangwei` could not log in as either. Each account gets the form
its name is compared under (`username_key`: NFKC, case folding, NFKC), unique. Accounts
whose names already fold together stop the upgrade, naming them: which of them is the person
is the bureau's call (rename or disable one first), not this migration's. Login-throttle rows,
keyed by the name as typed, are re-keyed the same way; rows of one name merged keep the most
failures and the latest lock.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 09:00:00
"""

import unicodedata
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from api.migrate import MigrationRefused

revision: str = '0010'
down_revision: Union[str, None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _key(username: str) -> str:
    # Frozen copy of api.models.username_key: this revision's meaning must not follow later edits.
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())


def upgrade() -> None:
    connection = op.get_bind()
    users = connection.execute(sa.text("SELECT id, username FROM users ORDER BY username")).all()
    keys: dict[str, list[tuple[int, str]]] = {}
    for row in users:
        keys.setdefault(_key(row.username), []).append((row.id, row.username))
    clashes = [named for named in keys.values() if len(named) > 1]
    if clashes:
        listed = "; ".join(", ".join(f"{n!r} (users.id {i})" for i, n in named) for named in clashes)
        raise MigrationRefused(
            f"migration 0010: these accounts differ only in case (or full-width/half-width form) and would "
            f"become one name: {listed}. Nothing was changed. They are different rows, perhaps different "
            "people: rename all but one of each group (UPDATE users SET username = ... WHERE id = ...; choose "
            "the one with the least history, since teams, decisions and the audit log keep the old spelling), "
            "then migrate again.")
    too_long = [n for named in keys.values() for _, n in named if len(_key(n)) > 64]
    if too_long:
        raise MigrationRefused(f"migration 0010: the compared form of these usernames is over 64 characters: "
                           f"{', '.join(repr(n) for n in too_long)}. Nothing was changed.")

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('username_key', sa.String(length=64), nullable=True))
    update = sa.text("UPDATE users SET username_key = :key WHERE id = :id")
    for row in users:
        connection.execute(update, {"key": _key(row.username), "id": row.id})
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('username_key', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_users_username_key'), ['username_key'])

    throttle = connection.execute(sa.text(
        "SELECT username, failures, locked_until, last_failure_at FROM login_throttle")).all()
    merged: dict[str, dict] = {}
    for row in throttle:
        key = _key(row.username)[:64]
        was = merged.get(key)
        merged[key] = row._asdict() | {"username": key} if was is None else {
            "username": key,
            "failures": max(was["failures"], row.failures),
            "locked_until": max((t for t in (was["locked_until"], row.locked_until) if t is not None), default=None),
            "last_failure_at": max((t for t in (was["last_failure_at"], row.last_failure_at) if t is not None),
                                   default=None),
        }
    if any(key != row.username for row in throttle for key in [_key(row.username)[:64]]):
        # Times untyped: written back exactly as read (SQLite's text, PostgreSQL's timestamps).
        table = sa.table('login_throttle', sa.column('username'), sa.column('failures'),
                         sa.column('locked_until'), sa.column('last_failure_at'))
        connection.execute(table.delete())
        connection.execute(table.insert(), list(merged.values()))


def downgrade() -> None:
    # Throttle rows stay under their folded keys: a lowercase name is still a name.
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_users_username_key'), type_='unique')
        batch_op.drop_column('username_key')
