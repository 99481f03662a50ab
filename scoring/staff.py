"""Responsible-person attribution: unit deductions charged to the people named.

The seeds: a deduction against a unit is also charged to the responsible
person; a unit head who should have deducted and did not is charged double.
A person is charged the finding's own points (before the unit's item floor),
because the floor protects the unit's item, not the individual's record.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable

from .index import catalog_index
from .inputs import Basis, Finding, select
from .model import Catalog, MEASUREMENT_RULES, Veto
from .points import from_milli
from .results import StaffCharge, StaffTotal
from .rules import finding_milli

__all__ = ["staff_totals"]


def staff_totals(
    catalog: Catalog, findings: Iterable[Finding], *, basis: Basis = "provisional"
) -> list[StaffTotal]:
    """Points charged to each person by the deductions of ``findings``, sorted by person.

    Only findings that deduct (scored or penalty items, not vetoes or bonuses)
    are charged. In ``split`` mode the points are shared equally, the
    indivisible milli-points going to the first people in name order, so the
    shares always add up to the finding's points.
    """
    index = catalog_index(catalog)
    attribution = catalog.attribution
    charges: dict[str, list[tuple[int, StaffCharge]]] = defaultdict(list)
    for f in select(findings, basis):
        entry = index.lookup(f)
        rule = entry.indicator.rule
        if entry.item.kind == "bonus" or isinstance(rule, (Veto, *MEASUREMENT_RULES)):
            continue
        milli = finding_milli(rule, f)
        if milli == 0:
            continue
        people = sorted(set(f.staff))
        shares = [milli] * len(people)
        if attribution.mode == "split" and people:
            whole, rest = divmod(milli, len(people))
            shares = [whole + (1 if n < rest else 0) for n in range(len(people))]
        for person, share in zip(people, shares):
            charges[person].append((share, _charge(f, share, "responsible")))
        if f.failed_to_deduct_by is not None:
            doubled = round(milli * attribution.head_multiplier)
            charges[f.failed_to_deduct_by].append(
                (doubled, _charge(f, doubled, "head_failed_to_deduct"))
            )
    return [
        StaffTotal(
            staff=person,
            points=from_milli(sum(m for m, _ in items)),
            charges=tuple(c for _, c in items),
        )
        for person, items in sorted(charges.items())
    ]


def _charge(f: Finding, milli: int, role: str) -> StaffCharge:
    return StaffCharge(
        finding=f.id, unit=f.unit, indicator=f.indicator, points=from_milli(milli), role=role
    )
