"""Catalogs and schemes load from YAML and JSON; bad nodes are named by path."""

from __future__ import annotations

import json

import pytest

from scoring import (
    CatalogError,
    SchemeError,
    decode_catalog,
    decode_scheme,
    load_catalog,
    load_scheme,
    shipped_catalog,
)

from .helpers import HEADER, catalog

GOOD_ITEM = """
items:
  - code: a
    name: 甲
    name_en: A
    points: 100
    indicators:
      - {code: a.err, name: 错, name_en: Error, rule: {kind: per_occurrence, points: 1}}
"""


def error_of(text: str, exc=CatalogError, decode=decode_catalog, fmt="yaml"):
    with pytest.raises(exc) as info:
        decode(text, fmt)
    return info.value


def test_type_error_names_the_exact_node():
    text = HEADER + """
items:
  - {code: a, name: A, name_en: A, points: 50, indicators: [{code: a.x, name: x, name_en: x, rule: {kind: per_occurrence, points: 1}}]}
  - {code: b, name: B, name_en: B, points: 25, indicators: [{code: b.x, name: x, name_en: x, rule: {kind: per_occurrence, points: 1}}]}
  - code: c
    name: C
    name_en: C
    points: 25
    indicators:
      - {code: c.x, name: x, name_en: x, rule: {kind: per_occurrence, points: -2}}
"""
    err = error_of(text)
    assert err.path == "$.items[2].indicators[0].rule.points"
    assert "> 0" in err.message
    assert str(err).endswith("- at `$.items[2].indicators[0].rule.points`")


def test_unknown_field_and_unknown_rule_kind_are_located():
    err = error_of(HEADER + "colour: red\n" + GOOD_ITEM)
    assert err.path == "$.colour"
    bad_kind = GOOD_ITEM.replace("per_occurrence", "per_moon")
    err = error_of(HEADER + bad_kind)
    assert err.path == "$.items[0].indicators[0].rule.kind"
    err = error_of(HEADER + GOOD_ITEM.replace("points: 1}", "points: 1, extra: 2}"))
    assert err.path == "$.items[0].indicators[0].rule.extra"


def test_bad_code_and_missing_field():
    err = error_of(HEADER + GOOD_ITEM.replace("code: a.err", "code: A-Err"))
    assert err.path == "$.items[0].indicators[0].code"
    err = error_of(HEADER + GOOD_ITEM.replace("    name_en: A\n", ""))
    assert err.path == "$.items[0]" and "name_en" in err.message


def test_json_is_accepted_and_checked_the_same_way():
    doc = {
        "code": "j", "version": 2, "name": "甲", "name_en": "J",
        "items": [{"code": "a", "name": "甲", "name_en": "A", "weight": 100,
                   "indicators": [{"code": "a.x", "name": "x", "name_en": "x",
                                   "rule": {"kind": "veto"}}]}],
    }
    assert decode_catalog(json.dumps(doc), "json").version == 2
    doc["items"][0]["weight"] = 101
    err = error_of(json.dumps(doc), fmt="json")
    assert err.path == "$.items[0].weight"


def test_syntax_error_is_a_catalog_error():
    err = error_of("items: [\n  {a: ")
    assert err.path == "$" and "not valid YAML" in err.message


@pytest.mark.parametrize(
    "body, path, words",
    [
        (GOOD_ITEM.replace("code: a.err", "code: a"), "$.items[0].indicators[0].code", "duplicate code 'a'"),
        (GOOD_ITEM.replace("points: 100", "points: 90"), "$.items", "sum to 90"),
        (GOOD_ITEM.replace("points: 100", "points: 100\n    weight: 100"), "$.items[0]", "exactly one"),
        (GOOD_ITEM.replace("points: 1}", "points: 0.0005}"), "$.items[0].indicators[0].rule.points", "multiple of 0.001"),
        (GOOD_ITEM.replace("rule: {kind: per_occurrence, points: 1}", "rule: {kind: per_occurrence, points: 1, max_points: -1}"),
         "$.items[0].indicators[0].rule.max_points", ">= 0"),
        (GOOD_ITEM.replace("    indicators:\n      - {code: a.err, name: 错, name_en: Error, rule: {kind: per_occurrence, points: 1}}\n", ""),
         "$.items[0]", "at least one indicator"),
    ],
)
def test_semantic_errors_name_the_node(body, path, words):
    err = error_of(HEADER + body)
    assert err.path == path
    assert words in err.message


def test_rule_kind_must_suit_the_item_kind():
    body = GOOD_ITEM + """
  - code: b
    name: 加分
    name_en: Bonus
    kind: bonus
    indicators:
      - {code: b.x, name: x, name_en: x, rule: {kind: per_occurrence, points: 1}}
"""
    err = error_of(HEADER + body)
    assert err.path == "$.items[1].indicators[0].rule.kind"
    assert "bonus item" in err.message


def test_penalty_item_needs_its_cap_and_bonus_takes_no_weight():
    body = GOOD_ITEM + """
  - code: p
    name: 扣分
    name_en: Penalty
    kind: penalty
    indicators:
      - {code: p.x, name: x, name_en: x, rule: {kind: per_occurrence, points: 1}}
"""
    assert error_of(HEADER + body).path == "$.items[1]"
    assert error_of(HEADER + body.replace("kind: penalty", "kind: bonus\n    weight: 5")).path == "$.items[1]"


def test_item_without_points_holds_only_vetoes():
    body = GOOD_ITEM + """
  - code: z
    name: 零
    name_en: Zero
    points: 0
    indicators:
      - {code: z.v, name: 否决, name_en: Veto, rule: {kind: veto}}
      - {code: z.x, name: x, name_en: x, rule: {kind: per_occurrence, points: 1}}
"""
    assert error_of(HEADER + body).path == "$.items[1].indicators[1].rule.kind"


def test_target_bases_must_fit_the_item():
    body = """
items:
  - code: a
    name: 甲
    name_en: A
    points: 100
    sub_items:
      - code: a.s
        name: 子
        name_en: S
        indicators:
          - {code: a.t1, name: t, name_en: t, rule: {kind: deduct_only_target, metric: m, target: 90, base: 60, deduct_per_step: 1}}
          - {code: a.t2, name: t, name_en: t, rule: {kind: deduct_only_target, metric: n, target: 90, base: 50, deduct_per_step: 1}}
"""
    err = error_of(HEADER + body)
    assert err.path == "$.items[0]" and "bases sum to 110" in err.message


def test_staged_levels_and_tiers_are_ordered():
    body = """
items:
  - code: a
    name: 甲
    name_en: A
    points: 100
    indicators:
      - code: a.p
        name: 进度
        name_en: Progress
        rule:
          kind: staged_target
          metric: m
          stages: [{at: 0.5, target: 50}, {at: 0.5, target: 90}]
          levels: [{level: watch, min_shortfall: 0}]
"""
    assert error_of(HEADER + body).path == "$.items[0].indicators[0].rule.stages[1].at"
    body2 = body.replace("{at: 0.5, target: 90}", "{at: 1, target: 90}").replace(
        "[{level: watch, min_shortfall: 0}]", "[{level: warning, min_shortfall: 5}, {level: watch, min_shortfall: 9}]"
    )
    assert error_of(HEADER + body2).path == "$.items[0].indicators[0].rule.levels[1].level"
    tiers = HEADER + "unit_tiers:\n  - {tier: 1, name: 一, name_en: one, min_entities: 100}\n" + GOOD_ITEM
    assert error_of(tiers).path == "$.unit_tiers[0].min_entities"


def test_tier_bonus_needs_one_value_per_tier():
    body = GOOD_ITEM + """
  - code: b
    name: 加分
    name_en: Bonus
    kind: bonus
    indicators:
      - {code: b.big, name: 大案, name_en: Big case, rule: {kind: tier_bonus, points: [3, 9]}}
"""
    header = HEADER + "unit_tiers:\n  - {tier: 1, name: 一, name_en: one, min_entities: 0}\n"
    err = error_of(header + body)
    assert err.path == "$.items[1].indicators[0].rule.points" and "1 tiers" in err.message


SCHEME = """
code: s
version: 1
name: 方案
name_en: Scheme
subject: unit
components:
  - {code: a, name: 甲, name_en: A, weight: 50, period: quarter, subperiods: 4}
  - {code: b, name: 乙, name_en: B, weight: 50, period: half_year, subperiods: 2}
grading:
  bands:
    - {code: good, name: 好, name_en: Good, min: 80}
    - {code: bad, name: 差, name_en: Bad}
"""


def test_scheme_errors_name_the_node():
    assert decode_scheme(SCHEME).components[1].subperiods == 2
    err = error_of(SCHEME.replace("weight: 50, period: half", "weight: 40, period: half"), SchemeError, decode_scheme)
    assert err.path == "$.components" and "sum to 90" in err.message
    err = error_of(SCHEME.replace("period: quarter", "period: fortnight"), SchemeError, decode_scheme)
    assert err.path == "$.components[0].period"
    bands = SCHEME.replace("min: 80}", "min: 80}\n    - {code: ok, name: 中, name_en: OK, min: 85}")
    err = error_of(bands, SchemeError, decode_scheme)
    assert err.path == "$.grading.bands[1].min"
    no_catch_all = SCHEME.replace("name_en: Bad}", "name_en: Bad, min: 10}")
    assert error_of(no_catch_all, SchemeError, decode_scheme).path == "$.grading.bands[1].min"
    ranking = SCHEME + "ranking: {tie_break: [a, c]}\n"
    assert error_of(ranking, SchemeError, decode_scheme).path == "$.ranking.tie_break[1]"


def test_load_from_files(tmp_path):
    (tmp_path / "c.yaml").write_text(HEADER + GOOD_ITEM, encoding="utf-8")
    assert load_catalog(tmp_path / "c.yaml").items[0].name == "甲"
    shipped = shipped_catalog("office_deductions")
    from msgspec import json as mjson

    (tmp_path / "c.json").write_bytes(mjson.encode(shipped))
    assert load_catalog(tmp_path / "c.json") == shipped
    (tmp_path / "s.yaml").write_text(SCHEME, encoding="utf-8")
    assert load_scheme(tmp_path / "s.yaml").code == "s"


def test_catalog_helper_round_trip():
    assert catalog(GOOD_ITEM).items[0].max_points(100) == 100


def test_thousand_point_scale_takes_weights_as_percent():
    header = HEADER + "scale: 1000\n"
    body = GOOD_ITEM.replace("points: 100\n", "weight: 100\n")
    cat = catalog(body, header)
    assert cat.items[0].max_points(cat.scale) == 1000


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("code: [" + "[" * 100_000, "nested deeper than 64"),  # the C loader would overflow the stack
        ("code:\n" + "- " * 100_000 + "x", "nested deeper than 64"),
        ("a: &a [x, x, x]\nb: &b [*a, *a, *a]\nitems: [*b, *b]\n", "aliases"),  # a few bytes, many nodes
    ],
)
def test_yaml_that_would_overwhelm_the_loader_is_refused_before_loading(text, message):
    for decode, exc in ((decode_catalog, CatalogError), (decode_scheme, SchemeError)):
        err = error_of(text, exc, decode)
        assert message in err.message and err.path == "$"

