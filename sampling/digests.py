"""Digests of the non-unit inputs of a draw: case files, roster and exclusions.

Each is SHA-256 over a label line and one tab-separated line per record, lines in
ascending UTF-8 byte order; canonical text has no tabs or newlines, so the encoding is
unambiguous. Empty optional values are written as the empty string.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


__all__ = ["lines_digest"]


def lines_digest(label: str, rows: Iterable[tuple[str, ...]]) -> str:
    """SHA-256 hex of ``label + "\n"`` then each row as ``"\t".join(row) + "\n"``, sorted."""
    # Code point order is UTF-8 byte order, so plain str sorting is the documented order.
    lines = sorted("\t".join(row) + "\n" for row in rows)
    return hashlib.sha256((label + "\n" + "".join(lines)).encode("utf-8")).hexdigest()
