"""Responsible-person attribution: unit deductions charged to named staff."""

from __future__ import annotations

from msgspec.structs import replace

from scoring import staff_totals

from .helpers import finding
from .test_rules import CAT


def totals(findings, catalog=CAT, **kw):
    return {t.staff: t for t in staff_totals(catalog, findings, **kw)}


def test_each_named_person_is_charged_the_findings_points():
    t = totals([
        finding("f1", "work.err", count=2, staff=("zhang", "li")),
        finding("f2", "discipline.sanction", staff=("zhang",)),
        finding("f3", "bonus.award", level="county", achievement="x", staff=("wang",)),  # a bonus: no charge
        finding("f4", "work.veto", staff=("wang",)),  # a veto: no points to charge
    ])
    assert set(t) == {"zhang", "li"}
    assert t["zhang"].points == 6 and t["li"].points == 4
    assert [(c.finding, c.points, c.role) for c in t["zhang"].charges] == [
        ("f1", 4, "responsible"), ("f2", 2, "responsible")]


def test_person_is_charged_even_when_the_unit_item_is_exhausted():
    t = totals([finding("f1", "work.err", count=8, staff=("zhang",))])  # 16 > the item's 10
    assert t["zhang"].points == 16


def test_head_who_failed_to_deduct_is_charged_double():
    t = totals([finding("f1", "work.err", count=3, staff=("li",), failed_to_deduct_by="head")])
    assert t["li"].points == 6 and t["head"].points == 12
    assert t["head"].charges[0].role == "head_failed_to_deduct"


def test_split_mode_shares_points_exactly():
    split = replace(CAT, attribution=replace(CAT.attribution, mode="split"))
    t = totals([finding("f1", "work.capped", staff=("c", "a", "b"))], split)
    # 1 point over three people: 0.334 + 0.333 + 0.333, extra milli-point to the first name.
    assert [t[p].points for p in "abc"] == [0.334, 0.333, 0.333]


def test_confirmed_basis():
    fs = [finding("f1", "work.err", staff=("zhang",)),
          finding("f2", "work.err", staff=("zhang",), status="confirmed")]
    assert totals(fs)["zhang"].points == 4
    assert totals(fs, basis="confirmed")["zhang"].points == 2


def test_people_are_charged_the_adjusted_points():
    t = totals([finding("f1", "work.err", count=3, staff=("li",), failed_to_deduct_by="head", points=1)])
    assert t["li"].points == 1 and t["head"].points == 2
