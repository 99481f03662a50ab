"""Catalogs and schemes shipped inside the package (``scoring/catalogs/``).

Files are named ``<code>.catalog.yaml`` / ``<code>.scheme.yaml`` (a later
version of the same code would be ``<code>.v2.catalog.yaml``); the code and
version that count are the ones inside the file.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Literal

from msgspec import Struct

from .errors import CatalogError, SchemeError
from .loading import decode_catalog, decode_scheme
from .model import Catalog
from .schemes import Scheme

__all__ = ["ShippedEntry", "list_shipped", "shipped_catalog", "shipped_scheme"]


class ShippedEntry(Struct, frozen=True, kw_only=True):
    kind: Literal["catalog", "scheme"]
    code: str
    version: int
    name: str
    name_en: str
    file: str


@lru_cache(maxsize=1)
def _load_all() -> tuple[tuple[ShippedEntry, Catalog | Scheme], ...]:
    out = []
    folder = resources.files(__package__) / "catalogs"
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        name = path.name
        if name.endswith(".catalog.yaml"):
            kind, doc = "catalog", decode_catalog(path.read_bytes())
        elif name.endswith(".scheme.yaml"):
            kind, doc = "scheme", decode_scheme(path.read_bytes())
        else:
            continue
        entry = ShippedEntry(
            kind=kind, code=doc.code, version=doc.version, name=doc.name, name_en=doc.name_en, file=name
        )
        out.append((entry, doc))
    return tuple(out)


def list_shipped() -> list[ShippedEntry]:
    """Every shipped catalog and scheme, catalogs first, then by code and version."""
    return sorted((e for e, _ in _load_all()), key=lambda e: (e.kind, e.code, e.version))


def _find(kind: str, code: str, version: int | None):
    matches = [(e, d) for e, d in _load_all() if e.kind == kind and e.code == code]
    if version is not None:
        matches = [(e, d) for e, d in matches if e.version == version]
    if not matches:
        error = CatalogError if kind == "catalog" else SchemeError
        wanted = code if version is None else f"{code} version {version}"
        raise error(f"no shipped {kind} {wanted}")
    return max(matches, key=lambda m: m[0].version)[1]


def shipped_catalog(code: str, version: int | None = None) -> Catalog:
    """The shipped catalog ``code`` at ``version`` (default: the latest shipped)."""
    return _find("catalog", code, version)


def shipped_scheme(code: str, version: int | None = None) -> Scheme:
    """The shipped scheme ``code`` at ``version`` (default: the latest shipped)."""
    return _find("scheme", code, version)
