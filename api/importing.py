"""All-or-nothing bulk import of the registry from CSV or XLSX.

Every row is checked before anything is written; a file with any bad row raises
:class:`ImportInvalid` carrying every problem found (row, column, message), and writes
nothing. A good file is applied in one transaction: rows whose key exists are updated
(only the columns the file has), the others created, and one audit event records the import
(counts, file name, SHA-256 of the bytes), not one per row.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from typing import Any, Awaitable, Callable, Iterable, TypeVar

import anyio
import msgspec
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api import audit
from api.errors import ValidationFailed
from api.models import Inspector, Unit, username_key
from api.registry import INSPECTORS, UNITS, Resource, account_spelling_error, inspector_accounts, missing_units
from api.schemas.registry import ImportReport, RowError
from api.tables import read_table

__all__ = ["ImportInvalid", "chunks", "commit_import", "import_file", "import_records", "parse_records",
           "raise_if_errors", "record_import", "MAX_REPORTED_ERRORS"]

MAX_REPORTED_ERRORS = 1000
CHUNK = 1000
LIST_FIELDS = {"handlers", "qualifications"}
_LIST_SPLIT = re.compile(r"[;,，；、|]")
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_BOOL_WORDS = {"是": "true", "否": "false", "yes": "true", "no": "false", "y": "true", "n": "false"}

Progress = Callable[[int], None]
T = TypeVar("T")


class ImportInvalid(Exception):
    """The file cannot be imported; ``errors`` lists every problem found."""

    def __init__(self, errors: list[RowError], total_errors: int) -> None:
        super().__init__(f"{total_errors} problem(s) in the file")
        self.errors = errors
        self.total_errors = total_errors

    def as_api_error(self) -> ValidationFailed:
        """The 422 an HTTP import answers: every problem as ``{row, column, message}``."""
        return ValidationFailed(
            f"{self.total_errors} problem(s) in the file; nothing was imported.",
            code="IMPORT_INVALID",
            details=[{"row": e.row, "column": e.column, "message": e.message} for e in self.errors],
        )


async def commit_import(session: AsyncSession, work: Awaitable[T]) -> T:
    """Await an import and commit it; on :class:`ImportInvalid`, roll back and raise the 422
    that lists every problem."""
    try:
        report = await work
    except ImportInvalid as exc:
        await session.rollback()
        raise exc.as_api_error() from None
    await session.commit()
    return report


@functools.lru_cache(maxsize=None)
def _numeric_or_date(kind: Any) -> bool:
    """Whether a field takes a number or a date (alone or in a union with None)."""
    info = msgspec.inspect.type_info(kind)
    members = info.types if isinstance(info, msgspec.inspect.UnionType) else (info,)
    return any(isinstance(m, (msgspec.inspect.IntType, msgspec.inspect.FloatType, msgspec.inspect.DateType)) for m in members)


def _convert_cell(field: msgspec.structs.FieldInfo, text: str) -> Any:
    if field.name in LIST_FIELDS:
        value: Any = sorted({p.strip() for p in _LIST_SPLIT.split(text) if p.strip()})
    elif field.name == "active":
        value = _BOOL_WORDS.get(text.lower(), text.lower())
    elif not _numeric_or_date(field.type):
        value = text
    else:
        # Numbers and dates as Chinese Excel and keyboards write them: full-width digits
        # (２２．５), and dates as 2026/3/5 or 2026年3月5日 (CSV saved from a Chinese Excel).
        value = unicodedata.normalize("NFKC", text)
        if (day := _DATE.fullmatch(value)) is not None:
            value = "{:04d}-{:02d}-{:02d}".format(*map(int, day.groups()))
    return msgspec.convert(value, field.type, strict=False)


def parse_records(
    struct: type[msgspec.Struct], key: tuple[str, ...], header: list[str], body: list[tuple[int, list[str | None]]]
) -> tuple[list[tuple[int, dict[str, Any]]], list[RowError]]:
    """Rows of a table as the fields of ``struct``, with every problem found: unknown or
    missing columns, bad values, and rows repeating the ``key`` columns of an earlier row."""
    fields = {f.name: f for f in msgspec.structs.fields(struct)}
    errors: list[RowError] = []
    # A column with neither a name nor a value (Excel's formatted or trailing empty columns) is no column.
    blank = {i for i, h in enumerate(header) if not h and all(i >= len(c) or c[i] is None for _, c in body)}
    if blank:
        header = [h for i, h in enumerate(header) if i not in blank]
        body = [(n, [v for i, v in enumerate(c) if i not in blank]) for n, c in body]
    for column in header:
        if column not in fields:
            errors.append(RowError(row=1, column=column or None, message=f"unknown column; expected some of {sorted(fields)}"))
    required = [f.name for f in fields.values() if f.required]
    for name in required:
        if name not in header:
            errors.append(RowError(row=1, column=name, message="required column is missing"))
    if len(set(header)) != len(header):
        errors.append(RowError(row=1, column=None, message="a column is named twice"))
    if errors:
        return [], errors
    records: list[tuple[int, dict[str, Any]]] = []
    first_seen: dict[tuple[Any, ...], int] = {}
    for number, cells in body:
        if len(cells) > len(header) and any(cells[len(header):]):
            errors.append(RowError(row=number, column=None, message="more cells than columns"))
        values: dict[str, Any] = {}
        for column, text in zip(header, cells + [None] * (len(header) - len(cells))):
            field = fields[column]
            if text is None:
                if field.required:
                    errors.append(RowError(row=number, column=column, message="required value is empty"))
                else:
                    values[column] = [] if column in LIST_FIELDS else (True if column == "active" else None)
                continue
            try:
                values[column] = _convert_cell(field, text)
            except msgspec.ValidationError as exc:
                errors.append(RowError(row=number, column=column, message=str(exc).split(" - at ")[0]))
        values_key = tuple(values.get(k) for k in key)
        if all(isinstance(v, str) for v in values_key):
            if values_key in first_seen:
                errors.append(RowError(row=number, column=key[-1], message=f"duplicate of row {first_seen[values_key]}"))
            else:
                first_seen[values_key] = number
        records.append((number, values))
    return records, errors


def raise_if_errors(errors: list[RowError]) -> None:
    """Raise :class:`ImportInvalid` with the problems in row order, if there are any."""
    if errors:
        errors.sort(key=lambda e: (e.row, e.column or ""))
        raise ImportInvalid(errors[:MAX_REPORTED_ERRORS], len(errors))


async def _check_references(session: AsyncSession, resource: Resource, records: list[tuple[int, dict[str, Any]]]) -> list[RowError]:
    errors: list[RowError] = []
    in_file = {v.get(resource.key) for _, v in records} if resource is UNITS else set()
    wanted = {v[f] for _, v in records for f in resource.unit_refs if v.get(f)} - in_file
    missing = await missing_units(session, wanted)
    for number, values in records:
        for field in resource.unit_refs:
            if values.get(field) in missing:
                errors.append(RowError(row=number, column=field, message=f"no unit with code {values[field]!r}"))
    if resource is UNITS and all("parent_code" in v and "code" in v for _, v in records):
        errors.extend(await _unit_cycles(session, records))
    if resource is INSPECTORS:
        errors.extend(await _username_spellings(session, records))
    return errors


async def _username_spellings(session: AsyncSession, records: list[tuple[int, dict[str, Any]]]) -> list[RowError]:
    """Rows naming an inspector who exists in another spelling (``Insp01`` beside ``insp01``):
    a usual key would make them a second record of one person, whom a draw could send twice.
    A new record must also be spelled as its person's inspector account, which sees its tasks
    by that spelling."""
    named = [(number, values["username"]) for number, values in records if isinstance(values.get("username"), str)]
    keys = sorted({username_key(name) for _, name in named})
    stored: dict[str, str] = {}
    for chunk in chunks(keys):
        stored.update((await session.execute(select(Inspector.username_key, Inspector.username)
                                             .where(Inspector.username_key.in_(chunk)))).all())
    accounts = await inspector_accounts(session, {name for _, name in named})
    errors: list[RowError] = []
    first: dict[str, tuple[int, str]] = {}
    for number, name in named:
        key = username_key(name)
        earlier = first.setdefault(key, (number, name))
        if stored.get(key, name) != name:
            errors.append(RowError(row=number, column="username", message=(
                f"the inspector {stored[key]!r} exists: usernames are one name in any case, so this row would be "
                f"a second record of that person; spell it {stored[key]!r}")))
        elif key not in stored and earlier[1] != name:
            errors.append(RowError(row=number, column="username", message=(
                f"the same name as row {earlier[0]} ({earlier[1]!r}): usernames are one name in any case")))
        elif key not in stored and accounts.get(key, name) != name:
            errors.append(RowError(row=number, column="username", message=account_spelling_error(accounts[key])))
    return errors


async def _unit_cycles(session: AsyncSession, records: list[tuple[int, dict[str, Any]]]) -> list[RowError]:
    parent_of = dict((await session.execute(select(Unit.code, Unit.parent_code))).all())
    parent_of.update({v["code"]: v.get("parent_code") for _, v in records if isinstance(v.get("code"), str)})
    errors = []
    for number, values in records:
        if not isinstance(values.get("code"), str):
            continue
        seen, node = {values["code"]}, values.get("parent_code")
        while node is not None:
            if node in seen:
                errors.append(RowError(row=number, column="parent_code", message="cycle in the unit hierarchy"))
                break
            seen.add(node)
            node = parent_of.get(node)
    return errors


def chunks(items: list[Any], size: int = CHUNK) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def _apply(session: AsyncSession, resource: Resource, rows: list[dict[str, Any]],
                 progress: Progress | None) -> tuple[int, int, int]:
    """Insert the new rows and update the stored ones that differ: (created, updated,
    unchanged). A stored row the file repeats as it is keeps its ``updated_at``: a nightly
    re-import of the registry must not make every phone download its task list again."""
    model, key_col = resource.model, resource.key_column()
    columns = [model.__table__.c[name] for name in rows[0]]
    stored: dict[str, dict[str, Any]] = {}
    for chunk in chunks([r[resource.key] for r in rows]):
        for found in (await session.execute(select(model.id, *columns).where(key_col.in_(chunk)))).mappings():
            stored[found[resource.key]] = dict(found)
    ids = {key: found["id"] for key, found in stored.items()}
    changed = [r for r in rows if r[resource.key] in stored
               and any(stored[r[resource.key]][name] != value for name, value in r.items())]
    # Units may name parents that come later in the file: insert without parents first,
    # then set every parent once all codes exist, so foreign keys hold at each statement.
    deferred = resource is UNITS and "parent_code" in rows[0]
    new = [{**r, "parent_code": None} if deferred else r for r in rows if r[resource.key] not in ids]
    old = [{**{k: v for k, v in r.items() if not (deferred and k == "parent_code")}, "id": ids[r[resource.key]]}
           for r in changed]
    for chunk in chunks(new):
        await session.execute(insert(model), chunk)
        if progress:
            progress(len(chunk))
    for chunk in chunks(old):
        await session.execute(update(model), chunk)
        if progress:
            progress(len(chunk))
    if progress and len(rows) > len(new) + len(old):
        progress(len(rows) - len(new) - len(old))
    if deferred:
        fresh = [r for r in rows if r[resource.key] not in ids]
        for chunk in chunks(fresh):
            ids.update((await session.execute(select(key_col, model.id).where(key_col.in_([r["code"] for r in chunk])))).all())
        relinked = fresh + [r for r in changed if stored[r["code"]]["parent_code"] != r["parent_code"]]
        links = [{"id": ids[r["code"]], "parent_code": r["parent_code"]} for r in relinked]
        for chunk in chunks(links):
            await session.execute(update(model), chunk)
    return len(new), len(changed), len(rows) - len(new) - len(changed)


def record_import(session: AsyncSession, actor: str, action: str, digest: str, file_name: str | None,
                  counts: dict[str, Any]) -> None:
    """The one audit event of an import: the file (by SHA-256) and what it did."""
    audit.record(session, actor, action, "file", digest, None, {"file_name": file_name, "sha256": digest, **counts})


async def _check_and_apply(session: AsyncSession, resource: Resource, records: list[tuple[int, dict[str, Any]]], errors: list[RowError],
                           progress: Progress | None, actor: str, digest: str, file_name: str | None) -> ImportReport:
    if not errors and not records:
        errors = [RowError(row=2, column=None, message="the file has no data rows")]
    if records and not any(e.row == 1 for e in errors):
        # Report reference problems too, so one round trip shows every bad row.
        errors = errors + await _check_references(session, resource, records)
    raise_if_errors(errors)
    created, updated, unchanged = await _apply(session, resource, [v for _, v in records], progress)
    record_import(session, actor, f"{resource.audit_type}.imported", digest, file_name,
                  {"rows": len(records), "created": created, "updated": updated, "unchanged": unchanged})
    await session.flush()
    return ImportReport(kind=resource.kind, rows=len(records), created=created, updated=updated,  # type: ignore[arg-type]
                        unchanged=unchanged)


async def import_records(session: AsyncSession, resource: Resource, rows: list[dict[str, Any]], *, progress: Progress | None = None,
                         actor: str = audit.SYSTEM) -> ImportReport:
    """Import already-typed records (e.g. the demo data) with the same checks as a file;
    row numbers in errors count the first record as row 2, as in a spreadsheet. The audit
    event names the SHA-256 of the records as JSON."""
    records: list[tuple[int, dict[str, Any]]] = []
    errors: list[RowError] = []
    for number, row in enumerate(rows, start=2):
        try:
            records.append((number, msgspec.structs.asdict(msgspec.convert(row, resource.create))))
        except msgspec.ValidationError as exc:
            errors.append(RowError(row=number, column=None, message=str(exc)))
    digest = hashlib.sha256(msgspec.json.encode(rows)).hexdigest()
    return await _check_and_apply(session, resource, records, errors, progress, actor, digest, None)


async def import_file(session: AsyncSession, resource: Resource, data: bytes, *, progress: Progress | None = None,
                      actor: str = audit.SYSTEM, file_name: str | None = None) -> ImportReport:
    """Check and apply one file; raise :class:`ImportInvalid` (nothing written) on any problem.

    The caller commits on success and rolls back otherwise.
    """
    # Reading a spreadsheet takes seconds for a large one: off the event loop, which serves everyone else.
    try:
        header, body = await anyio.to_thread.run_sync(read_table, data)
    except ValueError as exc:
        raise ImportInvalid([RowError(row=1, column=None, message=str(exc))], 1) from None
    records, errors = await anyio.to_thread.run_sync(parse_records, resource.create, (resource.key,), header, body)
    return await _check_and_apply(session, resource, records, errors, progress, actor, hashlib.sha256(data).hexdigest(), file_name)
