"""Catalog and scheme versions: decode, check, store once, read back.

A version is stored as the canonical JSON of the validated document (msgspec's encoding of
the scoring Struct) with its SHA-256, so the same document loaded from YAML or JSON, with
other key order or comments, is recognised as the same. ``(code, version)`` is immutable:
loading the same document again changes nothing, a different one is a conflict.
Functions never commit; the caller owns the transaction.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import msgspec
import yaml
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api import audit
from api.errors import Conflict, NotFound, ValidationFailed
from api.models_scoring import CatalogVersion, SchemeVersion
from api.schemas.scoring import DocumentDetail, DocumentKind, DocumentVersion
from scoring import Catalog, CatalogError, Scheme, SchemeError, decode_catalog, decode_scheme

__all__ = ["Kind", "CATALOGS", "SCHEMES", "KINDS", "detect_kind", "detect_format", "decode",
           "store", "get", "latest", "parse_catalog", "parse_scheme", "version_out", "detail_out"]

Format = Literal["yaml", "json"]
MAX_VERSION = 2**31 - 1
# Control characters (other than tab and line breaks) in any string of a document; PostgreSQL
# refuses NUL outright and none belongs in a name.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MAX_PEEK_DEPTH = 64


@dataclass(frozen=True)
class Kind:
    """One kind of scoring document and how it is decoded and stored."""

    name: DocumentKind
    model: type[CatalogVersion] | type[SchemeVersion]
    struct: type[Catalog] | type[Scheme]
    error: type[CatalogError] | type[SchemeError]

    def decode(self, data: bytes, format: Format) -> Catalog | Scheme:
        return decode_catalog(data, format) if self.name == "catalog" else decode_scheme(data, format)


CATALOGS = Kind("catalog", CatalogVersion, Catalog, CatalogError)
SCHEMES = Kind("scheme", SchemeVersion, Scheme, SchemeError)
KINDS = {"catalog": CATALOGS, "scheme": SCHEMES}


def detect_format(data: bytes, content_type: str | None = None) -> Format:
    """JSON or YAML: by the media type when it says, else by the first character."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media == "application/json":
        return "json"
    if media in _YAML_TYPES:
        return "yaml"
    return "json" if data.lstrip()[:1] in (b"{", b"[") else "yaml"


def detect_kind(data: bytes, format: Format) -> Kind:
    """A scheme has ``components``; anything else is read as a catalog (whose errors then
    say what is wrong)."""
    try:
        # Only the top-level keys are read: loading the whole untrusted document here could
        # exhaust the stack before the decoder's own checks run.
        if format == "json":
            top = msgspec.json.decode(data, type=dict[str, msgspec.Raw])
        else:
            top = _yaml_top_keys(data)
    except (msgspec.DecodeError, msgspec.ValidationError, yaml.YAMLError, ValueError, RecursionError):
        return CATALOGS
    return SCHEMES if "components" in top else CATALOGS


def _control_path(node: Any, path: str = "$") -> str | None:
    if isinstance(node, str):
        return path if _CONTROL.search(node) else None
    if isinstance(node, dict):
        for key, value in node.items():
            found = _control_path(value, f"{path}.{key}")
            if found:
                return found
    if isinstance(node, list):
        for n, value in enumerate(node):
            found = _control_path(value, f"{path}[{n}]")
            if found:
                return found
    return None


def _yaml_top_keys(data: bytes) -> set[str]:
    """The keys of a YAML document's top mapping, from the event stream, which is left as
    soon as that mapping ends or the nesting grows absurd."""
    keys: set[str] = set()
    depth = entry = 0
    for event in yaml.parse(data, Loader=_LOADER):
        ends = isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent))
        if depth == 1 and not ends:
            # The top mapping's entries alternate key, value.
            if entry % 2 == 0 and isinstance(event, yaml.ScalarEvent):
                keys.add(event.value)
            entry += 1
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > _MAX_PEEK_DEPTH:
                break
        elif ends:
            depth -= 1
            if depth == 0:
                break
    return keys


def decode(kind: Kind, data: bytes, format: Format) -> tuple[Catalog | Scheme, bytes]:
    """The checked document and its canonical JSON; raises the kind's error with a node path."""
    document = kind.decode(data, format)
    canonical = msgspec.json.encode(document)
    bad = _control_path(msgspec.json.decode(canonical))
    if bad:
        raise kind.error("control characters are not allowed in text", bad)
    if document.version > MAX_VERSION:
        raise kind.error(f"version must be at most {MAX_VERSION}", "$.version")
    return document, canonical


async def store(session: AsyncSession, kind: Kind, data: bytes, format: Format, loaded_by: str) -> tuple[Any, bool]:
    """Store a document; ``(row, created)``. The same document again returns the stored row
    with ``created`` False (and nothing audited); another document under a stored code and
    version is a 409. A new version is audited as ``catalog.loaded`` / ``scheme.loaded``."""
    document, canonical = decode(kind, data, format)
    digest = hashlib.sha256(canonical).hexdigest()
    model = kind.model
    row = (await session.execute(
        select(model).where(model.code == document.code, model.version == document.version)
    )).scalar_one_or_none()
    if row is not None:
        if row.sha256 == digest:
            return row, False
        raise Conflict(
            f"{kind.name.capitalize()} {document.code} version {document.version} is already loaded with "
            "other content; a changed document needs a new version.",
            details={"code": document.code, "version": document.version, "sha256": row.sha256},
        )
    row = model(code=document.code, version=document.version, name=document.name, name_en=document.name_en,
                document=canonical.decode(), sha256=digest, loaded_by=loaded_by)
    session.add(row)
    audit.record(session, loaded_by, f"{kind.name}.loaded", kind.name, f"{document.code}@{document.version}", None,
                 {"code": document.code, "version": document.version, "name": document.name, "sha256": digest})
    await session.flush()
    return row, True


async def get(session: AsyncSession, kind: Kind, code: str, version: int) -> Any:
    model = kind.model
    row = (await session.execute(select(model).where(model.code == code, model.version == version))).scalar_one_or_none()
    if row is None:
        raise NotFound(f"No {kind.name} {code!r} version {version}.", details={"code": code, "version": version})
    return row


async def latest(session: AsyncSession, kind: Kind, code: str, version: int | None) -> Any:
    """Version ``version`` of ``code``, or its latest; a 422 naming the body field
    (``$.catalog_code`` / ``$.scheme_version`` ...) when there is none."""
    model = kind.model
    field = f"{kind.name}_code" if version is None else f"{kind.name}_version"
    if version is None:
        version = (await session.execute(select(func.max(model.version)).where(model.code == code))).scalar_one()
    row = None
    if version is not None:
        row = (await session.execute(select(model).where(model.code == code, model.version == version))).scalar_one_or_none()
    if row is None:
        wanted = code if version is None else f"{code} version {version}"
        message = f"no {kind.name} {wanted} is loaded"
        raise ValidationFailed(f"Invalid input: $.{field}: {message}", details=[{"path": f"$.{field}", "message": message}])
    return row


@lru_cache(maxsize=64)
def parse_catalog(document: str) -> Catalog:
    """A stored catalog (checked when it was loaded) as the scoring Struct."""
    return msgspec.json.decode(document, type=Catalog)


@lru_cache(maxsize=64)
def parse_scheme(document: str) -> Scheme:
    return msgspec.json.decode(document, type=Scheme)


def version_out(kind: Kind, row: Any) -> DocumentVersion:
    return DocumentVersion(kind=kind.name, code=row.code, version=row.version, name=row.name, name_en=row.name_en,
                           sha256=row.sha256, loaded_by=row.loaded_by, loaded_at=row.loaded_at)


def detail_out(kind: Kind, row: Any) -> DocumentDetail:
    return DocumentDetail(**msgspec.structs.asdict(version_out(kind, row)), document=msgspec.json.decode(row.document))
