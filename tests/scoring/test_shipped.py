"""The shipped catalogs and schemes, computed by hand on small cases."""

from __future__ import annotations

from scoring import (
    list_shipped,
    rate_of,
    score_scheme,
    score_unit,
    shipped_catalog,
    shipped_scheme,
)

from .helpers import finding, measurement, unit


def test_shipped_listing():
    listed = {(e.kind, e.code) for e in list_shipped()}
    assert {("catalog", "dongguan_branch_2010"), ("catalog", "office_deductions"),
            ("scheme", "branch_annual")} <= listed
    assert all(e.version == 1 and e.name and e.name_en for e in list_shipped())


def test_dongguan_2010_weights():
    cat = shipped_catalog("dongguan_branch_2010")
    weights = {i.code: i.weight for i in cat.items if i.kind == "scored" and i.weight}
    assert weights == {"registration": 8, "enforcement": 20, "market": 23, "enterprise": 34,
                       "trademarks_ads": 7, "information": 8}
    assert sum(weights.values()) == 100
    assert len(cat.items) == 10
    assert [i.name for i in cat.items][:2] == ["登记注册", "执法办案"]


def test_dongguan_small_case_by_hand():
    cat = shipped_catalog("dongguan_branch_2010")
    u = unit("humen", entities=12000)  # tier 3: 6 points a big case
    fs = [
        finding("r1", "registration.file_quality.beyond_authority", "humen"),  # -2
        finding("r2", "registration.file_quality.conditions_not_met", "humen"),  # -2
        finding("e1", "enforcement.case_quality.facts_unclear", "humen", count=2),  # -4
        finding("m1", "market.patrol.record_incomplete", "humen", count=3),  # -1.5
        finding("i1", "information.research.half_year_missing", "humen"),  # -2
        finding("p1", "inspection.off_post", "humen", count=2),  # penalty 2
        finding("b1", "bonus.commendation", "humen", level="city", achievement="model market"),
        finding("b2", "bonus.commendation", "humen", level="province", achievement="model market"),
        finding("b3", "bonus.big_case", "humen"),  # +6
    ]
    ms = [
        measurement("mystery_shopping_stars", 4.5, "humen"),  # -0.5
        measurement("case_quota_completion_rate", 110, "humen"),  # +1 (10 x 0.1)
        measurement("market_patrol_completion_rate", 120, "humen"),  # deduct-only: 0
        measurement("complaint_handling_rate", 100, "humen"),
        measurement("callback_satisfaction_rate", 90, "humen"),  # -1 (5 x 0.2)
        measurement("household_patrol_rate", 100, "humen"),
        measurement("unlicensed_cleanup_rate", 95, "humen"),
        measurement("annual_inspection_rate", 90, "humen"),  # -2.5 (5 x 0.5); staged: warning
        measurement("licence_check_rate", 93, "humen"),  # +0.6 (3 x 0.2)
        measurement("trademark_guidance_rate", 100, "humen"),
    ]
    r = score_unit(cat, u, fs, ms, period="p")
    items = {i.code: i.score for i in r.items}
    assert items["registration"] == 3.5
    assert items["enforcement"] == 17
    assert items["market"] == 20.5
    assert items["enterprise"] == 32.1
    assert items["trademarks_ads"] == 7 and items["information"] == 6
    assert r.scored_total == 86.1
    assert items["bonus"] == 10  # 10 (province only) + 6 = 16, item cap 10
    assert r.penalty == 2
    assert r.total == 94.1
    assert [(w.indicator, w.level) for w in r.warnings] == [("enterprise.annual_inspection.progress", "warning")]
    assert r.missing_metrics == () and not r.vetoed


def test_office_catalog_small_case_by_hand():
    cat = shipped_catalog("office_deductions")
    fs = [
        finding("d1", "daily_affairs.relay_error", count=3),  # -3: daily 12
        finding("s1", "supervision.late", count=2),  # -4
        finding("s2", "supervision.not_handled"),  # -5
        finding("s3", "supervision.procedure_not_followed"),  # -5
        finding("s4", "supervision.returned_for_redo", count=2),  # -10: 24 > 20, exhausted
        finding("a1", "archives.not_organised"),  # -2
        finding("a2", "archives.non_standard", count=2),  # -2
        finding("a3", "archives.important_lost"),  # -5: archives 11
        finding("c1", "commendation.award", level="county", achievement="x"),
        finding("c2", "commendation.award", level="ministry", achievement="x"),  # 15 only
        finding("c3", "commendation.award", level="prefecture", achievement="y"),  # +5
    ]
    r = score_unit(cat, unit(), fs, period="2005")
    items = {i.code: i.score for i in r.items}
    assert items == {"daily_affairs": 12, "information": 15, "proposals": 15, "supervision": 0,
                     "documents": 15, "archives": 11, "confidentiality": 0, "commendation": 20}
    assert r.items[3].floored
    assert (r.scored_total, r.bonus, r.total) == (68, 20, 88)
    vetoed = score_unit(cat, unit(), fs + [finding("x", "confidentiality.incident")], period="2005")
    assert vetoed.total == 88 and vetoed.vetoed


def test_branch_annual_scheme_by_hand():
    scheme = shipped_scheme("branch_annual")
    r = score_scheme(scheme, "humen", {"key_work": [0.92, 0.88, 0.95, 0.85], "routine_work": [0.86, 0.80]},
                     bonus=12)
    # (0.90 x 50 % + 0.83 x 50 %) x 100 = 86.5; bonus 12 capped at 10.
    assert [c.rate for c in r.components] == [0.9, 0.83]
    assert (r.bonus_claimed, r.bonus, r.total, r.passed, r.accountability, r.grade) == (
        12, 10, 96.5, True, False, "passed")
    r = score_scheme(scheme, "b", {"key_work": [0.8] * 4, "routine_work": [0.76, 0.76]})
    assert (r.total, r.passed, r.accountability) == (78, False, False)
    r = score_scheme(scheme, "c", {"key_work": [0.7] * 4, "routine_work": [0.68, 0.68]})
    assert (r.total, r.passed, r.accountability, r.grade) == (69, False, True, "accountable")
    r = score_scheme(scheme, "d", {"key_work": [0.85] * 4, "routine_work": [0.85, 0.85]})
    assert (r.total, r.passed) == (85, True)
    r = score_scheme(scheme, "e", {"key_work": [0.95] * 4, "routine_work": [0.95, 0.95]}, vetoed=True)
    assert (r.total, r.passed, r.grade) == (95, False, "not_passed")


def test_published_total_decides_the_line():
    scheme = shipped_scheme("branch_annual")
    # 0.8499 x 50 + 0.85 x 50 = 84.995, published (half up, 2 decimals) as 85.00: passes.
    r = score_scheme(scheme, "a", {"key_work": [0.8499] * 4, "routine_work": [0.85, 0.85]})
    assert (r.total, r.passed) == (85, True)
    r = score_scheme(scheme, "a", {"key_work": [0.8498] * 4, "routine_work": [0.85, 0.85]})
    assert (r.total, r.passed) == (84.99, False)


def test_scheme_rates_from_catalog_scores():
    cat = shipped_catalog("office_deductions")
    scores = [
        score_unit(cat, unit(), [finding("f", "archives.important_lost", count=k)], period=f"h{k}")
        for k in (1, 3)
    ]
    rates = [rate_of(s) for s in scores]  # 95 / 100 and 85 / 100
    r = score_scheme(shipped_scheme("branch_annual"), "u1",
                     {"key_work": [0.9] * 4, "routine_work": rates})
    assert r.total == 90  # 0.9 x 50 + 0.9 x 50


def test_individual_and_department_schemes():
    ind = shipped_scheme("individual_annual")
    r = score_scheme(ind, "zhang", {"monthly_work": [0.9] * 12, "democratic_evaluation": [0.9]}, bonus=5)
    assert (r.total, r.grade) == (95, "excellent")
    r = score_scheme(ind, "li", {"monthly_work": [0.9] * 12, "democratic_evaluation": [0.9]}, bonus=4.99)
    assert (r.total, r.grade) == (94.99, "good")
    dep = shipped_scheme("department_annual")
    r = score_scheme(dep, "office", {"half_year_work": [0.9, 0.8], "grassroots_evaluation": [0.95]})
    assert r.total == 88  # 0.85 x 70 + 0.95 x 30
