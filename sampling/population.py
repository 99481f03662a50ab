"""The population of units a draw is taken from: canonical ids plus categorical columns.

Columnar on purpose: ten million units as Python objects would not fit the memory goal,
while an ``S`` array of ids and small integer codes per attribute do. Construction
validates ids and values (vectorized for ASCII ids); uniqueness is checked together with
the canonical order the digest needs, lazily, and every draw computes the digest.

Population digest, version 1 (SHA-256 over these bytes; docs/sampling.md):

    "spotcheck-population/1\\n"
    "records " N "\\n"
    "fields " name_1 "\\t" name_2 ... "\\n"          fields in ascending UTF-8 order
    "width " W "\\n"                                 W = bytes of the longest id (0 if none)
    for every unit, ids in ascending UTF-8 byte order: the id zero-padded to W bytes
    per field, in the same order:
        "levels " K "\\n"  then each distinct value present + "\\n", ascending UTF-8
        per unit, in id order: the index of its value among those levels, 4 bytes LE
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from .canonical import canonical_id, canonical_value, utf8_key
from .errors import InvalidParameters, InvalidPopulation
from .idarray import as_id_array, byte_rows, row_lengths

__all__ = ["Categorical", "Population", "DIGEST_LABEL"]

DIGEST_LABEL = b"spotcheck-population/1\n"
_CHUNK = 1 << 20
_NON_ASCII, _CONTROL = 1, 2
_BYTE_CLASS = np.zeros(256, np.uint8)
_BYTE_CLASS[0x80:] = _NON_ASCII
_BYTE_CLASS[0x01:0x20] = _CONTROL
_BYTE_CLASS[0x7F] = _CONTROL


class Categorical:
    """A column given as integer ``codes`` into ``levels`` (canonical values, distinct).

    The cheap way to hand over a large column: no Python object per unit.
    """

    __slots__ = ("codes", "levels")

    def __init__(self, codes: np.ndarray | Sequence[int], levels: Sequence[str | int | None]) -> None:
        canonical = [canonical_value(v, "attribute value") for v in levels]
        if len(set(canonical)) != len(canonical):
            raise InvalidPopulation("categorical levels must be distinct after normalization")
        codes = np.asarray(codes)
        if codes.ndim != 1 or codes.dtype.kind not in "iu":
            raise InvalidPopulation("categorical codes must be a 1-D integer array")
        if len(codes) and (int(codes.min()) < 0 or int(codes.max()) >= len(canonical)):
            raise InvalidPopulation("categorical codes out of range of the levels")
        small = np.int16 if len(canonical) < 2**15 else np.int32
        self.codes = codes.astype(small)
        self.codes.flags.writeable = False
        self.levels: tuple[str, ...] = tuple(canonical)

    @classmethod
    def from_values(cls, values: Sequence[str | int | None] | np.ndarray) -> Categorical:
        """Code an arbitrary column of values (strings, integers or None)."""
        if isinstance(values, np.ndarray) and values.dtype.kind in "iuSU":
            levels, codes = np.unique(values, return_inverse=True)
            try:
                raw = [v.decode("utf-8") if isinstance(v, bytes) else v for v in levels.tolist()]
            except UnicodeDecodeError:
                raise InvalidPopulation("attribute values in a bytes array must be UTF-8") from None
            return cls._merge(codes, raw)
        # dict.fromkeys and map run in C: about ten times faster than a Python loop.
        try:
            lookup = {v: k for k, v in enumerate(dict.fromkeys(values))}
        except TypeError:
            raise InvalidPopulation("attribute values must be strings, integers or None") from None
        codes = np.fromiter(map(lookup.__getitem__, values), np.int32, len(values))
        return cls._merge(codes, list(lookup))

    @classmethod
    def _merge(cls, codes: np.ndarray, raw: list) -> Categorical:
        # Distinct raw values may share a canonical form (5 and "5", NFD and NFC).
        canonical, remap = {}, []
        for v in raw:
            remap.append(canonical.setdefault(canonical_value(v, "attribute value"), len(canonical)))
        return cls(np.asarray(remap, np.int32)[codes], list(canonical))


def _bad_rows(part: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Per-row flags of the byte rules: empty, edge space, control byte, interior NUL."""
    nonzero = part != 0
    bad = (lengths == 0) | (part[:, 0] == 0x20)
    bad |= part[np.arange(len(part)), np.maximum(lengths - 1, 0)] == 0x20
    bad |= np.any(((part < 0x20) & nonzero) | (part == 0x7F), axis=1)
    bad |= np.any(nonzero[:, 1:] & ~nonzero[:, :-1], axis=1)
    return bad


def _check_rows(ids: np.ndarray) -> np.ndarray:
    """Validate an ``S`` id array in place; return it, rebuilt if some id was not NFC."""
    rows = byte_rows(ids)
    fixes: dict[int, str] = {}
    for start in range(0, len(ids), _CHUNK):
        part = rows[start : start + _CHUNK]
        lengths = row_lengths(part)
        # Whole-chunk tests first (one table lookup per byte); reductions along rows are
        # slow, and needed only to name the offending id.
        worst = int(_BYTE_CLASS[part].max()) if part.size else 0
        suspicious = (
            worst == _CONTROL or not bool(lengths.all()) or bool((part[:, 0] == 0x20).any())
            or bool((part[np.arange(len(part)), np.maximum(lengths - 1, 0)] == 0x20).any())
            # lengths count the non-NUL bytes, so full rows cannot hide an interior NUL
            or (not bool((lengths == part.shape[1]).all()) and bool(((part[:, :-1] == 0) & (part[:, 1:] != 0)).any()))
        )
        if suspicious:
            for row in np.flatnonzero(_bad_rows(part, lengths)).tolist():
                canonical_id(bytes(part[row]).decode("utf-8", "replace"))  # raises the precise error
                raise InvalidPopulation(f"id at row {start + row} is not canonical", row=start + row)
        if worst != _NON_ASCII:
            continue
        for row in np.flatnonzero(np.any(part >= 0x80, axis=1)).tolist():
            raw = ids[start + row]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidPopulation(f"id at row {start + row} is not valid UTF-8", row=start + row) from None
            fixed = canonical_id(text)
            if fixed != text:
                fixes[start + row] = fixed
    if fixes:
        texts = [b.decode("utf-8") for b in ids.tolist()]
        for row, text in fixes.items():
            texts[row] = text
        return as_id_array(texts)
    return ids


def _tight(ids: np.ndarray) -> np.ndarray:
    """Narrow an ``S`` array to the length of its longest id (at least 1 byte)."""
    if len(ids) == 0:
        return ids.astype("S1")
    width = int(row_lengths(byte_rows(ids)).max())
    return ids if width == ids.dtype.itemsize else ids.astype(f"S{max(width, 1)}")


def _id_array(ids: Sequence[str | int] | np.ndarray) -> np.ndarray:
    return _tight(_checked_ids(ids))


def _checked_ids(ids: Sequence[str | int] | np.ndarray) -> np.ndarray:
    if isinstance(ids, np.ndarray):
        if ids.dtype.kind == "S":
            return _check_rows(np.array(ids, dtype=ids.dtype))
        if ids.dtype.kind == "U" and (ids.size == 0 or int(ids.view(np.uint32).max()) < 128):
            return _check_rows(ids.astype(f"S{max(ids.dtype.itemsize // 4, 1)}"))
        if ids.dtype.kind in "iu":
            return _check_rows(ids.astype(str).astype("S"))
        ids = ids.tolist()
    ids = list(ids)
    try:
        joined = "\n".join(ids)
    except TypeError:
        joined = None
    # ASCII without stray newlines: numpy encodes it directly and the rows are checked
    # vectorized; anything else goes through canonical_id one by one.
    if joined is not None and joined.isascii() and joined.count("\n") == max(len(ids) - 1, 0) and ids:
        return _check_rows(np.array(ids, dtype="S"))
    return as_id_array([canonical_id(i) for i in ids])


class Population:
    """An immutable set of units: canonical ids and categorical attribute columns.

    Build it with ``from_records`` or ``from_columns``. Draws depend only on the *set* of
    units (ids with their values), never on row order.
    """

    __slots__ = ("_ids", "_columns", "_order", "_digests")

    def __init__(self, ids: np.ndarray, columns: Mapping[str, Categorical]) -> None:
        """Internal: use ``from_records`` or ``from_columns``."""
        self._ids = ids
        self._ids.flags.writeable = False
        self._columns = dict(columns)
        self._order: np.ndarray | None | bool = False  # False: not computed yet
        self._digests: dict[tuple[str, ...], str] = {}

    @classmethod
    def from_columns(
        cls,
        ids: Sequence[str | int] | np.ndarray,
        columns: Mapping[str, Sequence[str | int | None] | np.ndarray | Categorical] | None = None,
    ) -> Population:
        """Build a population from an id column and attribute columns of the same length.

        Ids may be a sequence of str/int or a numpy ``S`` (UTF-8), ``U`` or integer array;
        columns may be sequences, numpy arrays or ``Categorical``. Raises
        ``InvalidPopulation`` for a non-canonical id or value, or a length mismatch.
        """
        array = _id_array(ids)
        coded = {}
        for name, column in (columns or {}).items():
            name = canonical_id(name, "field name")
            if name in coded:
                raise InvalidPopulation(f"field {name!r} given twice", field=name)
            column = column if isinstance(column, Categorical) else Categorical.from_values(column)
            if len(column.codes) != len(array):
                raise InvalidPopulation(
                    f"column {name!r} has {len(column.codes)} values for {len(array)} ids", field=name
                )
            coded[name] = column
        return cls(array, coded)

    @classmethod
    def from_records(
        cls, records: Iterable[Mapping[str, object]], *, id_field: str = "code",
        fields: Sequence[str] | None = None,
    ) -> Population:
        """Build a population from mappings (rows of a registry export).

        ``id_field`` names the unit id; ``fields`` the attributes to keep (default: every
        other key seen). A missing attribute counts as the empty value.
        """
        records = list(records)
        if fields is None:
            seen = dict.fromkeys(k for r in records for k in r)
            fields = [k for k in seen if k != id_field]
        ids = []
        for number, record in enumerate(records):
            if id_field not in record:
                raise InvalidPopulation(f"record {number} has no {id_field!r}", row=number)
            ids.append(record[id_field])
        columns = {f: [r.get(f) for r in records] for f in fields}
        return cls.from_columns(ids, columns)

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def fields(self) -> tuple[str, ...]:
        """Attribute names, in ascending UTF-8 order."""
        return tuple(sorted(self._columns, key=utf8_key))

    @property
    def id_array(self) -> np.ndarray:
        """The ids as a read-only zero-padded UTF-8 ``S`` array, in input order."""
        return self._ids

    def column(self, field: str) -> Categorical:
        """Return the column ``field`` or raise ``InvalidParameters``."""
        try:
            return self._columns[field]
        except KeyError:
            raise InvalidParameters(
                f"the population has no field {field!r}; fields: {', '.join(self.fields) or 'none'}",
                field=field,
            ) from None

    def ids_at(self, rows: Iterable[int]) -> list[str]:
        """Return the ids of the given rows."""
        return [bytes(self._ids[r]).decode("utf-8") for r in rows]

    def values_at(self, field: str, rows: Iterable[int]) -> list[str]:
        """Return the values of ``field`` at the given rows."""
        column = self.column(field)
        return [column.levels[c] for c in column.codes[list(rows)].tolist()]

    def canonical_order(self) -> np.ndarray | None:
        """Return the permutation sorting ids by UTF-8 bytes (None if already sorted).

        Raises ``InvalidPopulation`` naming a repeated id. Computed once.
        """
        if self._order is False:
            ids = self._ids
            if len(ids) < 2 or bool(np.all(ids[1:] > ids[:-1])):
                order = None
            else:
                order = np.argsort(ids, kind="stable")
                ranked = ids[order]
                repeated = np.flatnonzero(ranked[1:] == ranked[:-1])
                if len(repeated):
                    dup = bytes(ranked[repeated[0]]).decode("utf-8")
                    raise InvalidPopulation(f"unit id {dup!r} appears more than once", id=dup)
            self._order = order
        return self._order

    def digest(self, fields: Iterable[str] | None = None) -> str:
        """Return the population digest (hex) over the ids and ``fields`` (default: all).

        Order-independent: equal for any row order of the same set of units; changes when
        an id, a value of a digested field, or the set of digested fields changes.
        """
        names = tuple(sorted(set(self.fields if fields is None else fields), key=utf8_key))
        for name in names:
            self.column(name)
        if names not in self._digests:
            self._digests[names] = self._compute_digest(names)
        return self._digests[names]

    def _compute_digest(self, names: tuple[str, ...]) -> str:
        order = self.canonical_order()
        n = len(self._ids)
        h = hashlib.sha256(DIGEST_LABEL)
        h.update(b"records %d\nfields " % n + "\t".join(names).encode("utf-8") + b"\n")
        # The id array is exactly as wide as the longest id (see _tight), so its rows are
        # the documented zero-padded records: no per-record work before hashing.
        h.update(b"width %d\n" % (self._ids.dtype.itemsize if n else 0))
        for start in range(0, n, _CHUNK):
            part = self._ids[start : start + _CHUNK] if order is None else self._ids[order[start : start + _CHUNK]]
            h.update(np.ascontiguousarray(part))
        for name in names:
            column = self._columns[name]
            present = np.flatnonzero(np.bincount(column.codes, minlength=len(column.levels)))
            levels = sorted((column.levels[i] for i in present.tolist()), key=utf8_key)
            rank = np.zeros(len(column.levels), "<u4")
            for position, level in enumerate(levels):
                rank[column.levels.index(level)] = position
            h.update(b"levels %d\n" % len(levels) + "".join(v + "\n" for v in levels).encode("utf-8"))
            for start in range(0, n, _CHUNK):
                codes = column.codes[start : start + _CHUNK] if order is None else column.codes[order[start : start + _CHUNK]]
                h.update(rank[codes].tobytes())
        return h.hexdigest()
