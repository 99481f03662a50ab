"""User accounts: creation and changes with the binding rules, shared by the API and the CLI.
Each change is audited (never the password itself: only that it changed)."""

from __future__ import annotations

import msgspec
from sqlalchemy import ColumnElement, delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api import audit
from api.db import sqlite_write_lock
from api.errors import Conflict, NotFound, ValidationFailed
from api.models import Inspector, LoginThrottle, User, username_key
from api.registry import inspector_spelled, missing_units
from api.schemas.auth import UserCreate, UserOut, UserUpdate
from api.security import hash_password

__all__ = ["create_user", "update_user", "get_user", "named", "revoke_tokens", "user_out"]


def user_out(user: User) -> UserOut:
    return UserOut(username=user.username, role=user.role, unit_code=user.unit_code,  # type: ignore[arg-type]
                   active=user.active, created_at=user.created_at)


async def _check_binding(session: AsyncSession, role: str, unit_code: str | None) -> None:
    if role == "unit":
        if not unit_code:
            raise ValidationFailed("Invalid input: $.unit_code: a unit account needs a unit_code",
                                   details=[{"path": "$.unit_code", "message": "required for role unit"}])
        if await missing_units(session, {unit_code}):
            raise ValidationFailed(f"Invalid input: $.unit_code: no unit with code {unit_code!r}",
                                   details=[{"path": "$.unit_code", "message": f"no unit with code {unit_code!r}"}])
    elif unit_code is not None:
        raise ValidationFailed("Invalid input: $.unit_code: only unit accounts are bound to a unit",
                               details=[{"path": "$.unit_code", "message": f"not allowed for role {role}"}])


def named(column: ColumnElement[str], username: str) -> ColumnElement[bool]:
    """A filter on a stored username (team, finding, decision, audit actor) by a name given in
    any case: the spelling as given, or that of the account or inspector record it folds onto
    (stored names carry the spelling the account or record was created with)."""
    key = username_key(username)
    return or_(column == username,
               column.in_(select(User.username).where(User.username_key == key)),
               column.in_(select(Inspector.username).where(Inspector.username_key == key)))


async def get_user(session: AsyncSession, username: str) -> User:
    """The account named ``username`` in any case (see :func:`api.models.username_key`)."""
    user = (await session.execute(select(User).where(User.username_key == username_key(username)))).scalar_one_or_none()
    if user is None:
        raise NotFound(f"No user {username!r}.", details={"username": username})
    return user


async def create_user(session: AsyncSession, data: UserCreate, actor: str = audit.SYSTEM, *,
                      password_hash: str | None = None) -> User:
    """Add an account; 409 if the username is taken in any case (``zhangwei`` when
    ``ZhangWei`` exists: one person to the bureau, whose phones capitalise at will). The name
    is kept as typed. The caller commits.

    ``password_hash``: an argon2 hash of ``data.password`` made beforehand, for a caller that
    creates many accounts with one password (argon2 costs ~0.1 s of CPU a hash); by default
    the password is hashed here."""
    key = username_key(data.username)
    taken = (await session.execute(select(User.username).where(User.username_key == key))).scalar_one_or_none()
    if taken is not None:
        raise _taken(data.username, taken)
    await _check_binding(session, data.role, data.unit_code)
    await _check_inspector_spelling(session, data.role, data.username)
    user = User(username=data.username, username_key=key, role=data.role, unit_code=data.unit_code,
                password_hash=password_hash or hash_password(data.password), active=True, token_version=0)
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:
        # Two creations of one name at once: both passed the check above, the unique key on
        # username_key lets one in. The session is spent; the caller's rollback cleans up.
        if "username" not in str(exc.orig):
            raise
        raise _taken(data.username, None) from exc
    audit.record(session, actor, "user.created", "user", data.username, None,
                 {"role": data.role, "unit_code": data.unit_code, "active": True})
    await session.flush()
    return user


async def _check_inspector_spelling(session: AsyncSession, role: str, username: str) -> None:
    """An inspector's account is bound to their registry record by name alone: teams,
    conflicts and the draw name the record's spelling, and an account spelled otherwise
    would see none of its tasks. Refused rather than respelled, so the admin knows the
    name the inspector logs in with (in any case, as every name)."""
    if role != "inspector":
        return
    record = await inspector_spelled(session, username)
    if record is not None and record != username:
        raise Conflict(f"The inspector record is spelled {record!r}: usernames are one name in any case, and an "
                       f"inspector's account is spelled as their record, so create it as {record!r}.",
                       code="ALREADY_EXISTS", details={"username": username, "inspector_username": record})


def _taken(username: str, existing: str | None) -> Conflict:
    details = {"username": username} if existing is None else {"username": username, "existing_username": existing}
    if existing is None or existing == username:
        return Conflict(f"The username {username!r} is taken.", code="ALREADY_EXISTS", details=details)
    return Conflict(f"The username {username!r} is taken: usernames are one name in any case, and {existing!r} exists.",
                    code="ALREADY_EXISTS", details=details)


async def update_user(session: AsyncSession, user: User, patch: UserUpdate, actor: str = audit.SYSTEM) -> User:
    """Change role, binding, password or active flag. Any change of these revokes the user's
    existing tokens, so a demoted or disabled user loses access at once. Audited as
    ``user.role_changed``, ``user.disabled``/``user.enabled`` and ``user.password_changed``."""
    values = {k: v for k, v in msgspec.structs.asdict(patch).items() if v is not msgspec.UNSET}
    role = values.get("role", user.role)
    unit_code = values.get("unit_code", user.unit_code if role == "unit" else None)
    if role != "admin" or values.get("active") is False:
        await _keep_an_admin(session, user)
    if "role" in values or "unit_code" in values:
        await _check_binding(session, role, unit_code)
        if user.role != "inspector":
            await _check_inspector_spelling(session, role, user.username)
        audit.record_changes(session, actor, "user.role_changed", "user", user.username,
                             {"role": user.role, "unit_code": user.unit_code}, {"role": role, "unit_code": unit_code})
        user.role, user.unit_code = role, unit_code
    if "password" in values:
        user.password_hash = hash_password(values["password"])
        # A reset is how a locked-out owner gets back in: the new password opens the account now.
        await session.execute(delete(LoginThrottle).where(LoginThrottle.username == user.username_key))
        audit.record(session, actor, "user.password_changed", "user", user.username, None, {"tokens_revoked": True})
    if "active" in values:
        if values["active"] != user.active:
            audit.record(session, actor, "user.enabled" if values["active"] else "user.disabled", "user", user.username,
                         {"active": user.active}, {"active": values["active"]})
        user.active = values["active"]
    if values:
        user.token_version += 1
    await session.flush()
    return user


async def _keep_an_admin(session: AsyncSession, leaving: User) -> None:
    """Refuse to demote or disable the last active admin: nobody could manage accounts then.

    Decided on the rows as they are once locked, not as loaded before: on PostgreSQL the
    active admins' rows are locked in one order (two admins demoting each other at once wait
    for each other, and the second sees the first's change); on SQLite a first write takes the
    database's write lock, which a concurrent change then waits for."""
    await sqlite_write_lock(session, User, User.id == leaving.id)
    admins = (await session.execute(select(User.id).where(User.role == "admin", User.active.is_(True))
                                    .order_by(User.id).with_for_update())).scalars().all()
    if admins == [leaving.id]:
        raise Conflict("This is the last active admin account; make another account admin first.",
                       code="LAST_ADMIN", details={"username": leaving.username})


async def revoke_tokens(session: AsyncSession, user_id: int) -> None:
    """Log out everywhere: every token (and console session) of the user stops working.
    The caller commits, then evicts the user from the worker's principal cache."""
    user = await session.get(User, user_id)
    if user is not None:
        user.token_version += 1
        audit.record(session, user.username, "user.logged_out", "user", user.username, None, {"tokens_revoked": True})
        await session.flush()
