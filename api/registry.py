"""Registry persistence: create, update, read and list units, case files and inspectors.

Shared by the HTTP controllers, the importer and the demo loader, so every path applies the
same reference checks. Single creations and updates are audited here (an import records one
event for the whole file, in api.importing). Functions never commit; the caller owns the
transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import msgspec
from sqlalchemy import ColumnElement, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api import audit
from api.errors import Conflict, NotFound, ValidationFailed
from api.models import CaseFile, Inspector, Unit, User, username_key
from api.paging import page_of
from api.schemas import registry as schemas

__all__ = ["Resource", "UNITS", "CASE_FILES", "INSPECTORS", "RESOURCES", "create", "update", "get", "page",
           "account_spelling_error", "inspector_accounts", "inspector_spelled", "matching"]


@dataclass(frozen=True)
class Resource:
    """How one registry table is addressed and exposed."""

    kind: str
    noun: str
    audit_type: str  # object_type and action prefix in the audit log
    model: type[Any]
    key: str
    out: type[msgspec.Struct]
    create: type[msgspec.Struct]
    update: type[msgspec.Struct]
    unit_refs: tuple[str, ...]  # fields holding a unit code that must exist

    def key_column(self) -> Any:
        return getattr(self.model, self.key)


UNITS = Resource("units", "unit", "unit", Unit, "code", schemas.Unit, schemas.UnitCreate, schemas.UnitUpdate, ("parent_code",))
CASE_FILES = Resource(
    "case-files", "case file", "case_file", CaseFile, "code", schemas.CaseFile, schemas.CaseFileCreate,
    schemas.CaseFileUpdate, ("unit_code",),
)
INSPECTORS = Resource(
    "inspectors", "inspector", "inspector", Inspector, "username", schemas.Inspector, schemas.InspectorCreate,
    schemas.InspectorUpdate, ("home_unit",),
)
RESOURCES = {r.kind: r for r in (UNITS, CASE_FILES, INSPECTORS)}


def to_out(resource: Resource, row: Any) -> Any:
    names = [f.name for f in msgspec.structs.fields(resource.out)]
    return resource.out(**{name: getattr(row, name) for name in names})


def matching(resource: Resource, key: str) -> ColumnElement[bool]:
    """The row ``key`` names: an inspector by their username in any case (one person, one
    name, as for accounts: :func:`api.models.username_key`); units and case files by their
    exact code."""
    if resource is INSPECTORS:
        return Inspector.username_key == username_key(key)
    return resource.key_column() == key


async def inspector_spelled(session: AsyncSession, username: str) -> str | None:
    """The stored spelling of the inspector record ``username`` names in any case, if any."""
    return (await session.execute(select(Inspector.username).where(matching(INSPECTORS, username)))).scalar_one_or_none()


async def inspector_accounts(session: AsyncSession, usernames: set[str]) -> dict[str, str]:
    """Inspector accounts by the key of their name, for those of ``usernames``: a record must
    be spelled as its person's account, which sees tasks and conflicts by that spelling."""
    keys = sorted({username_key(u) for u in usernames})
    found: dict[str, str] = {}
    for start in range(0, len(keys), 1000):
        chunk = keys[start:start + 1000]
        found.update((await session.execute(select(User.username_key, User.username).where(
            User.username_key.in_(chunk), User.role == "inspector"))).all())
    return found


def account_spelling_error(account: str) -> str:
    return (f"the inspector account {account!r} is this person (usernames are one name in any case): "
            f"spell the record {account!r}, as the account is, or it sees none of its tasks")


async def get(session: AsyncSession, resource: Resource, key: str, *, scope: ColumnElement[bool] | None = None) -> Any:
    """The row with ``key``; 404 when it does not exist or lies outside the caller's ``scope``."""
    query = select(resource.model).where(matching(resource, key))
    if scope is not None:
        query = query.where(scope)
    row = (await session.execute(query)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"No {resource.noun} {key!r}.", details={resource.key: key})
    return row


async def page(
    session: AsyncSession,
    resource: Resource,
    filters: Sequence[ColumnElement[bool]],
    *,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    return await page_of(session, resource.model, filters, [resource.key_column()], lambda r: to_out(resource, r),
                         limit=limit, offset=offset)


async def missing_units(session: AsyncSession, codes: set[str]) -> set[str]:
    if not codes:
        return set()
    found = set((await session.execute(select(Unit.code).where(Unit.code.in_(codes)))).scalars())
    return codes - found


async def _check_refs(session: AsyncSession, resource: Resource, values: dict[str, Any]) -> None:
    refs = {field: values[field] for field in resource.unit_refs if values.get(field)}
    missing = await missing_units(session, set(refs.values()))
    errors = [{"path": f"$.{f}", "message": f"no unit with code {c!r}"} for f, c in refs.items() if c in missing]
    if errors:
        raise ValidationFailed(f"Invalid input: {errors[0]['path']}: {errors[0]['message']}", details=errors)


async def _check_no_cycle(session: AsyncSession, code: str, parent_code: str | None) -> None:
    seen = {code}
    while parent_code is not None:
        if parent_code in seen:
            raise ValidationFailed(
                f"Invalid input: $.parent_code: unit {code!r} would become its own ancestor",
                details=[{"path": "$.parent_code", "message": "cycle in the unit hierarchy"}],
            )
        seen.add(parent_code)
        parent_code = (await session.execute(select(Unit.parent_code).where(Unit.code == parent_code))).scalar_one_or_none()


async def create(session: AsyncSession, resource: Resource, data: msgspec.Struct, actor: str = audit.SYSTEM) -> Any:
    values = msgspec.structs.asdict(data)
    key = values[resource.key]
    existing = (await session.execute(select(resource.key_column()).where(matching(resource, key)))).scalar_one_or_none()
    if existing is not None:
        raise _exists(resource, key, existing)
    if resource is INSPECTORS and (account := (await inspector_accounts(session, {key})).get(username_key(key))) not in (None, key):
        raise Conflict(f"Cannot create the inspector {key!r}: {account_spelling_error(account)}.", code="ALREADY_EXISTS",
                       details={"username": key, "account_username": account})
    await _check_refs(session, resource, values)
    row = resource.model(**values)
    session.add(row)
    try:
        await session.flush()
    except IntegrityError as exc:
        # Two creations of one inspector at once, in two spellings: both passed the check
        # above, the unique key lets one in. The session is spent; the caller rolls back.
        if resource is not INSPECTORS or "username" not in str(exc.orig):
            raise
        raise _exists(resource, key, None) from exc
    audit.record(session, actor, f"{resource.audit_type}.created", resource.audit_type, key, None,
                 {k: v for k, v in values.items() if k != resource.key and v is not None})
    await session.flush()
    return row


def _exists(resource: Resource, key: str, existing: str | None) -> Conflict:
    if existing is None or existing == key:
        return Conflict(f"A {resource.noun} {key!r} already exists.", code="ALREADY_EXISTS", details={resource.key: key})
    return Conflict(f"A {resource.noun} {existing!r} already exists: usernames are one name in any case, so {key!r} "
                    "is the same person.", code="ALREADY_EXISTS", details={"username": key, "existing_username": existing})


async def update(session: AsyncSession, resource: Resource, row: Any, patch: msgspec.Struct, actor: str = audit.SYSTEM) -> Any:
    values = {k: v for k, v in msgspec.structs.asdict(patch).items() if v is not msgspec.UNSET}
    await _check_refs(session, resource, values)
    if resource is UNITS and "parent_code" in values:
        await _check_no_cycle(session, row.code, values["parent_code"])
    audit.record_changes(session, actor, f"{resource.audit_type}.updated", resource.audit_type, getattr(row, resource.key),
                         {name: getattr(row, name) for name in values}, values)
    for name, value in values.items():
        setattr(row, name, value)
    await session.flush()
    return row
