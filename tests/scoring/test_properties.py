"""Property tests: scores stay in bounds; one more deduction never raises a score.

Bounded and derandomized so runs are quick and repeatable.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import Finding, Measurement, Unit, score_batch, finding_arrays, metric_arrays, score_unit

from .test_rules import CAT

SETTINGS = settings(max_examples=150, derandomize=True, deadline=None)
UNIT = Unit(code="u1", entities=12000)
DEDUCTING = ["work.err", "work.capped", "work.late", "discipline.sanction"]
METRICS = ["inspection", "patrol", "whole"]


@st.composite
def findings(draw, max_size=12):
    out = []
    for n in range(draw(st.integers(0, max_size))):
        indicator = draw(st.sampled_from(DEDUCTING + ["bonus.award", "bonus.case", "work.veto"]))
        kw = {}
        if indicator == "work.late":
            kw["quantity"] = draw(st.floats(0, 50, allow_nan=False).map(lambda q: round(q, 3)))
        if indicator == "bonus.award":
            kw["level"] = draw(st.sampled_from(["county", "prefecture", "province", "ministry"]))
            kw["achievement"] = draw(st.sampled_from(["a", "b"]))
        out.append(Finding(id=f"f{n}", unit="u1", indicator=indicator, count=draw(st.integers(1, 6)), **kw))
    return out


measurements = st.lists(
    st.tuples(st.sampled_from(METRICS), st.floats(-300, 300, allow_nan=False), st.sampled_from([0.2, 0.5, 1.0])),
    max_size=3, unique_by=lambda t: t[0],
).map(lambda ms: [Measurement(id=m, unit="u1", period="p", metric=m, value=v, source="s", elapsed=e)
                  for m, v, e in ms])

deduction = st.builds(
    lambda ind, count, q: Finding(id="extra", unit="u1", indicator=ind, count=count,
                                  quantity=q if ind == "work.late" else None),
    st.sampled_from(DEDUCTING), st.integers(1, 6), st.floats(0, 50, allow_nan=False),
)


def score(fs, ms):
    return score_unit(CAT, UNIT, fs, ms, period="p")


@SETTINGS
@given(findings(), measurements)
def test_scores_stay_within_bounds(fs, ms):
    r = score(fs, ms)
    for item, spec in zip(r.items, CAT.items):
        cap = spec.max_points(CAT.scale)
        assert item.score >= 0
        if spec.kind == "scored":
            # A scored item can exceed its points only by its targets' capped additions (1 here).
            assert item.score <= cap + (1 if spec.code == "rates" else 0)
        elif cap is not None:
            assert item.score <= cap
    assert 0 <= r.bonus <= CAT.bonus_cap
    assert 0 <= r.penalty <= 5
    assert 0 <= r.total <= CAT.scale + 1 + CAT.bonus_cap
    assert r.vetoed == any(f.indicator == "work.veto" for f in fs)


@SETTINGS
@given(findings(), measurements, deduction)
def test_adding_a_deduction_never_raises_a_score(fs, ms, extra):
    before, after = score(fs, ms), score(fs + [extra], ms)
    assert after.total <= before.total
    for b, a in zip(before.items, after.items):
        if b.kind == "scored":
            assert a.score <= b.score
    assert after.vetoed == before.vetoed


@SETTINGS
@given(findings(), st.sampled_from(METRICS), st.floats(-300, 300, allow_nan=False), st.floats(0, 100, allow_nan=False))
def test_a_lower_measurement_never_raises_a_score(fs, metric, value, drop):
    high = [Measurement(id="m", unit="u1", period="p", metric=metric, value=value, source="s")]
    low = [Measurement(id="m", unit="u1", period="p", metric=metric, value=value - drop, source="s")]
    assert score(fs, low).total <= score(fs, high).total


@settings(max_examples=60, derandomize=True, deadline=None)
@given(findings(), measurements)
def test_batch_matches_on_arbitrary_cases(fs, ms):
    units = [UNIT]
    batch = score_batch(CAT, units, finding_arrays(CAT, units, fs), metric_arrays(CAT, units, ms, "p"))
    r = score(fs, ms)
    assert batch.total.tolist() == [r.total]
    assert batch.items.tolist() == [[i.score for i in r.items]]
