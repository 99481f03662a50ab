"""Canonical encoding of ledger entries (the leaves of the Merkle log).

An entry is ``seq``, ``event_type``, ``received_at`` and a flat ``data``
mapping. Its canonical bytes are compact JSON with sorted keys, UTF-8, no
floats (decimals travel as strings), and the time as
``YYYY-MM-DDTHH:MM:SS.ffffffZ``::

    {"data":{...},"seq":0,"time":"2024-05-01T01:30:15.000000Z","type":"evidence.received","v":1}

It is exactly ``json.dumps(obj, sort_keys=True, separators=(",", ":"),
ensure_ascii=False).encode()``, so an auditor reproduces it with the standard
library alone (docs/ledger.md). The same shape carries evidence records now and
deduction decisions later: only ``event_type`` and ``data`` differ.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime, timezone

import msgspec

from evidence.errors import LedgerError
from evidence.merkle import leaf_hash

__all__ = [
    "ENCODING_VERSION",
    "EVIDENCE_RECEIVED",
    "LedgerEntry",
    "canonical_bytes",
    "decode_entry",
    "entry_hash",
    "evidence_entry",
]

ENCODING_VERSION = 1
EVIDENCE_RECEIVED = "evidence.received"

_KEY_RE = re.compile(r"[a-z][a-z0-9_]{0,63}")
_TYPE_RE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*")
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_INT_LIMIT = 1 << 63

Value = str | int | bool | None


class LedgerEntry(msgspec.Struct, frozen=True):
    """One event of the log. ``received_at`` must be timezone-aware."""

    seq: int
    event_type: str
    received_at: datetime
    data: dict[str, Value]


def _check(entry: LedgerEntry) -> None:
    if not isinstance(entry.seq, int) or isinstance(entry.seq, bool) or not 0 <= entry.seq < _INT_LIMIT:
        raise LedgerError(f"seq must be a non-negative 63-bit int, got {entry.seq!r}")
    if not _TYPE_RE.fullmatch(entry.event_type) or len(entry.event_type) > 64:
        raise LedgerError(f"bad event type {entry.event_type!r}")
    if entry.received_at.tzinfo is None:
        raise LedgerError("received_at must be timezone-aware")
    for key, value in entry.data.items():
        if not isinstance(key, str) or not _KEY_RE.fullmatch(key):
            raise LedgerError(f"data key {key!r} must be snake_case ASCII")
        if isinstance(value, float) or not isinstance(value, (str, int, bool, type(None))):
            raise LedgerError(f"data[{key!r}] must be str, int, bool or None (decimals as str)")
        if isinstance(value, int) and not -_INT_LIMIT <= value < _INT_LIMIT:
            raise LedgerError(f"data[{key!r}] does not fit 64 bits")


def _time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime(_TIME_FORMAT)


def canonical_bytes(entry: LedgerEntry) -> bytes:
    """The canonical bytes of ``entry`` (see the module docstring).

    Raises :class:`~evidence.errors.LedgerError` for values with no canonical
    form (floats, naive times, non-snake_case keys, out-of-range ints).
    """
    _check(entry)
    document = {
        "data": entry.data,
        "seq": entry.seq,
        "time": _time(entry.received_at),
        "type": entry.event_type,
        "v": ENCODING_VERSION,
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    try:
        return text.encode()
    except UnicodeEncodeError:
        raise LedgerError("ledger strings must be valid Unicode (no lone surrogates)") from None


def entry_hash(entry: LedgerEntry) -> bytes:
    """The Merkle leaf hash of ``entry``: ``SHA-256(0x00 || canonical_bytes)``."""
    return leaf_hash(canonical_bytes(entry))


def decode_entry(data: bytes) -> LedgerEntry:
    """Parse canonical bytes back; raise :class:`~evidence.errors.LedgerError`
    unless they are exactly the canonical encoding of the entry they describe."""
    try:
        document = json.loads(data)
        if set(document) != {"data", "seq", "time", "type", "v"} or document["v"] != ENCODING_VERSION:
            raise ValueError("unexpected fields or version")
        moment = datetime.strptime(document["time"], _TIME_FORMAT).replace(tzinfo=timezone.utc)
        entry = LedgerEntry(document["seq"], document["type"], moment, dict(document["data"]))
        canonical = canonical_bytes(entry)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise LedgerError(f"not a ledger entry: {exc}") from None
    if canonical != data:
        raise LedgerError("ledger entry bytes are not canonical")
    return entry


def evidence_entry(
    seq: int,
    *,
    evidence_id: str,
    sha256: str,
    size: int,
    task_id: str,
    inspector_id: str,
    metadata_sha256: str,
    received_at: datetime,
    extra: Mapping[str, Value] | None = None,
) -> LedgerEntry:
    """The entry recording that a piece of evidence was received.

    ``metadata_sha256`` is :func:`evidence.analysis.metadata_digest` of what was
    extracted, so the metadata shown to a chief is bound to the log as well.
    """
    data: dict[str, Value] = {
        "evidence_id": evidence_id,
        "inspector_id": inspector_id,
        "metadata_sha256": metadata_sha256,
        "sha256": sha256,
        "size": size,
        "task_id": task_id,
    }
    data.update(extra or {})
    return LedgerEntry(seq, EVIDENCE_RECEIVED, received_at, data)
