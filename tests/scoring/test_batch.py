"""The vectorized batch scorer gives exactly the explainable path's numbers."""

from __future__ import annotations

import random

import numpy as np
import pytest

from scoring import (
    BonusLevels,
    DeductOnlyTarget,
    Finding,
    GradeBand,
    Grading,
    InputError,
    Measurement,
    PerQuantity,
    Ranking,
    StagedTarget,
    Target,
    Unit,
    finding_arrays,
    metric_arrays,
    score_batch,
    score_period,
    shipped_catalog,
)
from scoring.compiled import compile_catalog

from .test_rules import CAT

GRADING = Grading(
    bands=(GradeBand(code="a", name="甲", name_en="A", min=90),
           GradeBand(code="b", name="乙", name_en="B", min=60, min_inclusive=False),
           GradeBand(code="c", name="丙", name_en="C")),
    pass_line=85, accountability_line=70, veto_grade="c",
)


def random_case(catalog, seed, n_units=40, n_findings=600):
    """Units, findings and measurements drawn at random, with many exact ties."""
    rng = random.Random(seed)
    units = [Unit(code=f"u{n:03d}", entities=rng.choice([0, 4999, 5000, 12000, 20000, 30000, 50000]))
             for n in range(n_units)]
    indicators = [ind for _, _, ind in catalog.indicators()
                  if not isinstance(ind.rule, (Target, DeductOnlyTarget, StagedTarget))]
    findings = []
    for n in range(n_findings):
        ind = rng.choice(indicators)
        kw = {}
        if isinstance(ind.rule, BonusLevels):
            kw = dict(level=rng.choice(ind.rule.levels).code, achievement=f"ach{rng.randrange(3)}")
        if isinstance(ind.rule, PerQuantity):
            kw = dict(quantity=rng.choice([0.5, 1.25, 3.3333, 7]))
        if rng.random() < 0.1:
            kw["points"] = rng.choice([0.0, 0.5, 2.25, 12.0])  # adjusted on review
        findings.append(Finding(
            id=f"f{n}", unit=rng.choice(units[: n_units // 2 + 1]).code, indicator=ind.code,
            count=rng.choice([1, 1, 1, 2, 5]), status=rng.choice(["proposed", "confirmed"]), **kw))
    metrics = compile_catalog(catalog).metrics
    measurements = [
        Measurement(id=f"{u.code}.{m}", unit=u.code, period="p", metric=m,
                    value=rng.choice([rng.uniform(-20, 130), 95.0, 100.0, 89.95, 60.0]),
                    source="sys", elapsed=rng.choice([0.1, 0.25, 0.5, 0.75, 1.0]))
        for u in units for m in metrics if rng.random() < 0.85
    ]
    return units, findings, measurements


@pytest.mark.parametrize("catalog_name", ["all_kinds", "dongguan_branch_2010", "office_deductions"])
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("basis", ["provisional", "confirmed"])
def test_batch_equals_explainable(catalog_name, seed, basis):
    catalog = CAT if catalog_name == "all_kinds" else shipped_catalog(catalog_name)
    units, findings, measurements = random_case(catalog, seed)
    ranking = Ranking(commend_top_share=0.3, flag_bottom=5, tie_break=(catalog.items[0].code,))
    explained = score_period(catalog, units, findings, measurements, period="p", basis=basis,
                             grading=GRADING, ranking=ranking)
    batch = score_batch(catalog, units, finding_arrays(catalog, units, findings),
                        metric_arrays(catalog, units, measurements, "p"), basis=basis,
                        grading=GRADING, ranking=ranking)
    assert batch.units == tuple(u.code for u in units)
    assert batch.items.tolist() == [[i.score for i in s.items] for s in explained]
    for field in ("total", "scored_total", "bonus", "penalty", "vetoed", "rank", "commended",
                  "flagged", "passed", "accountability"):
        assert getattr(batch, field).tolist() == [getattr(s, field) for s in explained], field
    assert list(batch.grade) == [s.grade for s in explained]
    assert batch.warnings.tolist() == [len(s.warnings) for s in explained]
    levels = {"watch": 1, "warning": 2, "serious_warning": 3}
    assert batch.warning_level.tolist() == [max((levels[w.level] for w in s.warnings), default=0)
                                            for s in explained]
    # The random data must exercise what it claims to.
    assert any(s.vetoed for s in explained) and len({s.total for s in explained}) > 5


def test_batch_without_findings_or_measurements():
    units = [Unit(code="a"), Unit(code="b")]
    batch = score_batch(CAT, units, finding_arrays(CAT, units, []))
    assert batch.total.tolist() == [100, 100] and batch.rank is None and batch.grade is None


def test_batch_refuses_what_the_explainable_path_refuses():
    units = [Unit(code="a")]
    with pytest.raises(InputError, match="unknown unit"):
        finding_arrays(CAT, units, [Finding(id="x", unit="zz", indicator="work.err")])
    bad = finding_arrays(CAT, units, [Finding(id="x", unit="a", indicator="work.late")])
    with pytest.raises(InputError, match="quantity") as info:
        score_batch(CAT, units, bad)
    assert info.value.ref == "x"
    arrays = finding_arrays(CAT, units, [Finding(id="x", unit="a", indicator="work.err")])
    moved = type(arrays)(arrays.unit, np.array([4], np.int32), arrays.count, arrays.quantity,
                         arrays.level, arrays.achievement, arrays.confirmed)
    with pytest.raises(InputError, match="measurements") as info:
        score_batch(CAT, units, moved)
    assert info.value.ref == "finding row 0"
