"""Each rule kind of the domain brief, on small hand-computed cases."""

from __future__ import annotations

import pytest

from scoring import InputError, propose, score_unit, shipped_catalog

from .helpers import catalog, finding, measurement, unit

CAT = catalog("""
unit_tiers:
  - {tier: 1, name: 一类, name_en: Tier 1, min_entities: 30000}
  - {tier: 2, name: 二类, name_en: Tier 2, min_entities: 20000}
  - {tier: 3, name: 三类, name_en: Tier 3, min_entities: 10000}
  - {tier: 4, name: 四类, name_en: Tier 4, min_entities: 5000}
  - {tier: 5, name: 五类, name_en: Tier 5, min_entities: 0}
bonus_cap: 10
items:
  - code: work
    name: 工作
    name_en: Work
    points: 10
    indicators:
      - {code: work.err, name: 差错, name_en: Error, rule: {kind: per_occurrence, points: 2}}
      - {code: work.capped, name: 小错, name_en: Minor, rule: {kind: per_occurrence, points: 1, max_points: 3}}
      - {code: work.late, name: 逾期, name_en: Late, rule: {kind: per_quantity, points: 0.25, quantity_unit: day}}
      - {code: work.veto, name: 否决, name_en: Veto, rule: {kind: veto}}
  - code: rates
    name: 指标
    name_en: Rates
    points: 90
    indicators:
      - code: rates.inspection
        name: 年检率
        name_en: Inspection rate
        rule: {kind: target, metric: inspection, target: 95, base: 10, add_per_step: 0.2, max_addition: 1, deduct_per_step: 0.5}
      - code: rates.patrol
        name: 巡查
        name_en: Patrol
        rule: {kind: deduct_only_target, metric: patrol, target: 100, base: 10, deduct_per_step: 0.3}
      - code: rates.whole
        name: 整数
        name_en: Whole steps
        rule: {kind: deduct_only_target, metric: whole, target: 100, base: 10, deduct_per_step: 1, whole_steps: true}
      - code: rates.progress
        name: 进度
        name_en: Progress
        rule:
          kind: staged_target
          metric: inspection
          stages: [{at: 0.25, target: 30}, {at: 0.5, target: 60}, {at: 1, target: 95}]
          levels: [{level: watch, min_shortfall: 0}, {level: warning, min_shortfall: 5}, {level: serious_warning, min_shortfall: 10}]
  - code: bonus
    name: 加分
    name_en: Bonus
    kind: bonus
    points: 12
    indicators:
      - code: bonus.award
        name: 表彰
        name_en: Award
        rule:
          kind: bonus_levels
          levels:
            - {code: county, name: 县级, name_en: County, points: 2}
            - {code: prefecture, name: 地区级, name_en: Prefecture, points: 5}
            - {code: province, name: 省级, name_en: Province, points: 10}
            - {code: ministry, name: 部级, name_en: Ministry, points: 15}
      - {code: bonus.case, name: 大案, name_en: Big case, rule: {kind: tier_bonus, points: [3, 4.5, 6, 7.5, 9]}}
  - code: discipline
    name: 违纪
    name_en: Discipline
    kind: penalty
    points: 5
    indicators:
      - {code: discipline.sanction, name: 处分, name_en: Sanction, rule: {kind: per_occurrence, points: 2}}
""")


def score(findings=(), measurements=(), u=None, **kw):
    return score_unit(CAT, u or unit(entities=1000), findings, measurements, period="p", **kw)


def item(result, code):
    return next(i for i in result.items if i.code == code)


def test_per_occurrence_deducts_until_the_item_is_exhausted():
    r = score([finding("f1", "work.err", count=3)])
    assert item(r, "work").score == 4  # 10 - 3 x 2
    r = score([finding("f1", "work.err", count=3), finding("f2", "work.err", count=4)])
    work = item(r, "work")
    assert work.deducted == 14 and work.score == 0 and work.floored
    assert r.total == 90  # the exhausted item takes nothing from the other items


def test_indicator_cap_and_per_quantity():
    r = score([finding("f1", "work.capped", count=5), finding("f2", "work.late", quantity=6)])
    ind = {i.code: i for i in item(r, "work").indicators}
    assert ind["work.capped"].deducted == 3 and ind["work.capped"].capped
    assert ind["work.late"].deducted == 1.5
    assert item(r, "work").score == 5.5
    with pytest.raises(InputError):
        score([finding("f1", "work.late")])


def test_target_base_additions_capped_deductions_unbounded_but_item_floored():
    ok = score(measurements=[measurement("inspection", 95)])
    assert item(ok, "rates").score == 90 and ok.total == 100
    above = score(measurements=[measurement("inspection", 97.5)])
    assert item(above, "rates").added == 0.5 and above.total == 100.5  # 2.5 % x 0.2
    way_above = score(measurements=[measurement("inspection", 100)])
    assert item(way_above, "rates").added == 1  # 5 % x 0.2 capped at 1
    below = score(measurements=[measurement("inspection", 70)])
    # 25 % below x 0.5 = 12.5: more than the indicator's base of 10, taken from the item.
    assert item(below, "rates").deducted == 12.5 and item(below, "rates").score == 77.5
    floor = score(measurements=[measurement("inspection", 95 - 200), measurement("patrol", 0)])
    assert item(floor, "rates").score == 0 and item(floor, "rates").floored


def test_deduct_only_target_and_whole_steps():
    r = score(measurements=[measurement("patrol", 120), measurement("whole", 97.5)])
    ind = {i.code: i for i in item(r, "rates").indicators}
    assert ind["rates.patrol"].added == 0 and ind["rates.patrol"].deducted == 0
    assert ind["rates.whole"].deducted == 2  # 2.5 % below counts as 2 whole steps
    r = score(measurements=[measurement("patrol", 90)])
    assert item(r, "rates").deducted == 3  # 10 % x 0.3
    assert ind["rates.patrol"].measurement.source == "test"


def test_missing_measurement_is_neutral_and_reported():
    r = score()
    assert r.total == 100 and set(r.missing_metrics) == {"inspection", "patrol", "whole"}


@pytest.mark.parametrize(
    "value, elapsed, level",
    [
        (40, 0.2, None),  # before the first stage: nothing is due yet
        (30, 0.25, None),
        (29.5, 0.25, "watch"),
        (25, 0.3, "warning"),  # shortfall exactly 5: warning (inclusive)
        (56, 0.5, "watch"),
        (50.5, 0.5, "warning"),
        (50, 0.6, "serious_warning"),  # shortfall exactly 10
        (94, 1.0, "watch"),
    ],
)
def test_staged_target_levels(value, elapsed, level):
    r = score(measurements=[measurement("inspection", value, elapsed=elapsed)])
    assert [w.level for w in r.warnings] == ([] if level is None else [level])
    if level:
        assert r.warnings[0].indicator == "rates.progress" and r.warnings[0].measurement == "u1:inspection"


def test_only_the_highest_level_per_achievement_counts():
    awards = [
        finding("a1", "bonus.award", level="county", achievement="flood relief"),
        finding("a2", "bonus.award", level="province", achievement="flood relief"),
        finding("a3", "bonus.award", level="prefecture", achievement="flood relief"),
    ]
    r = score(awards)
    assert r.bonus == 10
    lines = item(r, "bonus").indicators[0].lines
    assert [(l.finding, l.counted) for l in lines] == [("a1", False), ("a2", True), ("a3", False)]
    r = score(awards[:1] + [finding("a4", "bonus.award", level="county", achievement="model market")])
    assert r.bonus == 4  # two achievements, each at county level


def test_bonus_caps_item_then_catalog():
    awards = [finding("a1", "bonus.award", level="ministry", achievement="x")]
    r = score(awards)
    assert item(r, "bonus").score == 12 and item(r, "bonus").capped  # item cap 12
    assert r.bonus == 10 and r.bonus_capped and r.total == 110  # catalog cap 10


@pytest.mark.parametrize(
    "entities, points",
    [(30000, 3), (29999, 4.5), (20000, 4.5), (10000, 6), (9999, 7.5), (5000, 7.5), (4999, 9), (0, 9)],
)
def test_big_case_bonus_is_scaled_by_unit_tier(entities, points):
    f = finding("c1", "bonus.case")
    u = unit(entities=entities)
    assert propose(CAT, f, u).points == points
    assert score([f], u=u).bonus == points
    assert score([finding("c1", "bonus.case", count=2)], u=unit(tier=5)).bonus == 10  # 18, capped


def test_tier_bonus_needs_the_units_size():
    with pytest.raises(InputError):
        score([finding("c1", "bonus.case")], u=unit())


def test_veto_overrides_points():
    from scoring import GradeBand, Grading

    grading = Grading(
        bands=(GradeBand(code="passed", name="达标", name_en="Passed", min=85),
               GradeBand(code="failed", name="不达标", name_en="Failed")),
        pass_line=85, veto_grade="failed",
    )
    clean = score(grading=grading)
    assert clean.passed and clean.grade == "passed"
    vetoed = score([finding("v1", "work.veto")], grading=grading)
    assert vetoed.total == 100 and vetoed.vetoed and not vetoed.passed and vetoed.grade == "failed"
    assert [(v.indicator, v.finding) for v in vetoed.vetoes] == [("work.veto", "v1")]


def test_penalty_item_takes_off_the_total_up_to_its_cap():
    r = score([finding("d1", "discipline.sanction", count=2)])
    assert r.penalty == 4 and r.total == 96
    r = score([finding("d1", "discipline.sanction", count=5)])
    assert r.penalty == 5 and item(r, "discipline").capped and r.total == 95


def test_total_never_goes_below_zero():
    everything = [finding("f1", "work.err", count=10), finding("d1", "discipline.sanction", count=9)]
    r = score(everything, [measurement("inspection", -500)])
    assert r.total == 0 and r.scored_total == 0


def test_confirmed_basis_counts_only_confirmed_findings():
    fs = [finding("f1", "work.err", status="confirmed"), finding("f2", "work.err", count=2)]
    assert score(fs).total == 94
    assert score(fs, basis="confirmed").total == 98


def test_propose_explains_each_rule():
    p = propose(CAT, finding("f1", "work.err", count=3))
    assert (p.points, p.effect, p.item, p.explanation) == (6, "deduct", "work", "3 x 2 = 6 points")
    assert propose(CAT, finding("v", "work.veto")).effect == "veto"
    award = propose(CAT, finding("a", "bonus.award", level="prefecture", achievement="x"))
    assert (award.points, award.effect) == (5, "add")
    with pytest.raises(InputError, match="unknown indicator"):
        propose(CAT, finding("x", "nope"))
    with pytest.raises(InputError, match="measurements"):
        propose(CAT, finding("x", "rates.patrol"))
    with pytest.raises(InputError, match="achievement"):
        propose(CAT, finding("x", "bonus.award", level="county"))
    with pytest.raises(InputError, match="not one of"):
        propose(CAT, finding("x", "bonus.award", level="galaxy", achievement="x"))


def test_bad_inputs_are_refused():
    with pytest.raises(InputError, match="not 'u1'"):
        score([finding("f1", "work.err", unit="u2")])
    with pytest.raises(InputError, match="period"):
        score(measurements=[measurement("patrol", 90, period="q")])
    with pytest.raises(InputError, match="second measurement"):
        score(measurements=[measurement("patrol", 90), measurement("patrol", 91)])


def test_explanation_traces_to_finding_ids():
    r = score([finding("f9", "work.err", staff=("zhang",))])
    line = item(r, "work").indicators[0].lines[0]
    assert (line.finding, line.points, line.staff, line.status) == ("f9", 2, ("zhang",), "proposed")


def test_office_catalog_sub_items_explain():
    cat = shipped_catalog("dongguan_branch_2010")
    r = score_unit(cat, unit(entities=100), [finding("f", "registration.file_quality.beyond_authority")], period="p")
    reg = r.items[0]
    assert reg.sub_items[0].code == "registration.file_quality" and reg.sub_items[0].deducted == 2


def test_points_adjusted_on_review_replace_the_rules():
    adjusted = finding("f1", "work.err", count=3, points=1.5, status="confirmed")
    p = propose(CAT, adjusted)
    assert (p.points, p.explanation) == (1.5, "adjusted on review to 1.5 points")
    r = score([adjusted], basis="confirmed")
    assert r.total == 98.5 and item(r, "work").indicators[0].lines[0].points == 1.5
    # A lower level adjusted above a higher one becomes the award that counts.
    awards = [finding("a1", "bonus.award", level="province", achievement="x"),
              finding("a2", "bonus.award", level="county", achievement="x", points=11)]
    lines = item(score(awards), "bonus").indicators[0].lines
    assert [(l.finding, l.counted) for l in lines] == [("a1", False), ("a2", True)]
    assert score([finding("v", "work.veto", points=3)]).total == 100  # a veto has no points
    # The rule still checks the finding: a per-quantity finding needs its quantity.
    with pytest.raises(InputError, match="quantity"):
        propose(CAT, finding("x", "work.late", points=1))


def test_an_equal_copy_of_a_catalog_explains_its_sub_items_too():
    import msgspec

    from scoring import decode_catalog

    cat = shipped_catalog("dongguan_branch_2010")
    copy = decode_catalog(msgspec.json.encode(cat), "json")  # as api/ reads a stored version
    assert copy == cat and copy is not cat
    f = [finding("f", "registration.file_quality.beyond_authority")]
    for c in (cat, copy):  # the second shares the first's cached index
        sub = score_unit(c, unit(entities=100), f, period="p").items[0].sub_items[0]
        assert sub.deducted == 2 and [i.code for i in sub.indicators][:1] == ["registration.file_quality.beyond_authority"]
