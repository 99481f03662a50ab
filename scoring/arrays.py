"""Column arrays of findings and measurements for the batch scorer.

Build them from Structs with :func:`finding_arrays` / :func:`metric_arrays`,
or directly from a database query (one array per column) for speed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from .compiled import Kind, compile_catalog
from .errors import InputError
from .explain import index_measurements
from .inputs import Finding, Measurement, Unit
from .model import Catalog

__all__ = ["FindingArrays", "MetricArrays", "finding_arrays", "metric_arrays"]


@dataclass(frozen=True)
class FindingArrays:
    """One row per finding; numbers refer to ``units`` order and the catalog's
    indicator order (:func:`scoring.compiled.compile_catalog`).

    ``quantity`` is NaN when absent; ``level`` (a number from
    ``Compiled.level_keys``) and ``achievement`` (any integer key) are -1
    when absent; ``ids`` names rows in error messages when given; ``points``
    holds points adjusted on review (NaN: the rule decides), or is None.
    """

    unit: np.ndarray
    indicator: np.ndarray
    count: np.ndarray
    quantity: np.ndarray
    level: np.ndarray
    achievement: np.ndarray
    confirmed: np.ndarray
    ids: Sequence[str] | None = None
    points: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.unit)

    def take(self, mask: np.ndarray) -> "FindingArrays":
        """The rows where the boolean ``mask`` is true."""
        ids = None if self.ids is None else [i for i, keep in zip(self.ids, mask) if keep]
        return FindingArrays(
            self.unit[mask], self.indicator[mask], self.count[mask], self.quantity[mask],
            self.level[mask], self.achievement[mask], self.confirmed[mask], ids,
            None if self.points is None else self.points[mask],
        )

    def ref(self, row: int) -> str:
        return f"finding row {row}" if self.ids is None else self.ids[row]


@dataclass(frozen=True)
class MetricArrays:
    """``value[unit, metric]`` (NaN: not measured) and ``elapsed[unit, metric]``,
    metrics in ``Compiled.metrics`` order."""

    value: np.ndarray
    elapsed: np.ndarray


def finding_arrays(catalog: Catalog, units: Sequence[Unit], findings: Iterable[Finding]) -> FindingArrays:
    """Findings as columns; unknown units, indicators or levels are an :class:`InputError`."""
    compiled = compile_catalog(catalog)
    unit_no = {u.code: n for n, u in enumerate(units)}
    indicator_no = {code: n for n, code in enumerate(compiled.indicator_codes)}
    achievement_no: dict[str, int] = {}
    rows = []
    ids = []
    for f in findings:
        if f.unit not in unit_no:
            raise InputError(f"finding for unknown unit {f.unit!r}", f.id)
        if f.indicator not in indicator_no:
            raise InputError(f"unknown indicator {f.indicator!r}", f.id)
        level = -1
        # As in the explainable path, `level` matters only to level-table bonuses.
        if compiled.kind[indicator_no[f.indicator]] == Kind.BONUS_LEVELS:
            level = compiled.level_keys.get((f.indicator, f.level), -1)
            if level < 0:
                raise InputError(f"level {f.level!r} is not a level of {f.indicator}", f.id)
        achievement = -1
        if f.achievement is not None:
            achievement = achievement_no.setdefault(f.achievement, len(achievement_no))
        rows.append((
            unit_no[f.unit], indicator_no[f.indicator], f.count,
            np.nan if f.quantity is None else f.quantity, level, achievement,
            f.status == "confirmed", np.nan if f.points is None else f.points,
        ))
        ids.append(f.id)
    cols = list(zip(*rows)) if rows else [()] * 8
    return FindingArrays(
        unit=np.array(cols[0], np.int32),
        indicator=np.array(cols[1], np.int32),
        count=np.array(cols[2], np.int64),
        quantity=np.array(cols[3], np.float64),
        level=np.array(cols[4], np.int32),
        achievement=np.array(cols[5], np.int64),
        confirmed=np.array(cols[6], bool),
        ids=ids,
        points=np.array(cols[7], np.float64),
    )


def metric_arrays(
    catalog: Catalog, units: Sequence[Unit], measurements: Iterable[Measurement], period: str
) -> MetricArrays:
    """Measurements of ``period`` as a unit x metric matrix (checks as the explainable path)."""
    compiled = compile_catalog(catalog)
    unit_no = {u.code: n for n, u in enumerate(units)}
    metric_no = {m: n for n, m in enumerate(compiled.metrics)}
    value = np.full((len(units), len(compiled.metrics)), np.nan)
    elapsed = np.ones_like(value)
    for (unit, metric), m in index_measurements(catalog, measurements, period).items():
        if unit not in unit_no:
            raise InputError(f"measurement for unknown unit {unit!r}", m.id)
        value[unit_no[unit], metric_no[metric]] = m.value
        elapsed[unit_no[unit], metric_no[metric]] = m.elapsed
    return MetricArrays(value, elapsed)
