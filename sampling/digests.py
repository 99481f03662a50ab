"""Digests of the non-unit inputs of a draw: case files, roster and exclusions.

Each is SHA-256 over a label line and one tab-separated line per record, lines in
ascending UTF-8 byte order; canonical text has no tabs or newlines, so the encoding is
unambiguous. Empty optional values are written as the empty string.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from .canonical import utf8_key

__all__ = ["lines_digest"]


def lines_digest(label: str, rows: Iterable[tuple[str, ...]]) -> str:
    """SHA-256 hex of ``label + "\\n"`` then each row as ``"\\t".join(row) + "\\n"``, sorted."""
    lines = sorted(("\t".join(row) + "\n" for row in rows), key=utf8_key)
    h = hashlib.sha256((label + "\n").encode("utf-8"))
    for line in lines:
        h.update(line.encode("utf-8"))
    return h.hexdigest()
