"""Canonical ids and the order-independent population digest."""

from __future__ import annotations

import random

import numpy as np
import pytest

from sampling import Categorical, InvalidParameters, InvalidPopulation, Population, canonical_id, canonical_value
from sampling import reference as ref

from .helpers import unit_records


def test_canonical_id_normalizes_and_refuses_reprs():
    assert canonical_id("e\u0301") == "\u00e9"
    assert canonical_id(42) == "42"
    for bad in (1.0, True, None, b"x", ("a",)):
        with pytest.raises(InvalidPopulation):
            canonical_id(bad)


@pytest.mark.parametrize("bad", ["", " a", "a ", "a\tb", "a\nb", "\x85x", "a\x00"])
def test_canonical_id_refuses_invisible_or_ambiguous_text(bad):
    with pytest.raises(InvalidPopulation):
        canonical_id(bad)


def test_canonical_value_treats_int_and_missing_plainly():
    assert canonical_value(5) == "5" == canonical_value("5")
    assert canonical_value(None) == ""
    with pytest.raises(InvalidPopulation):
        canonical_value(0.5)


def test_digest_equals_the_reference_and_ignores_row_order():
    records = unit_records(300, seed=1)
    fields = ["district", "grid", "risk_class"]
    expected = ref.population_digest({r["code"]: r for r in records}, fields)
    assert Population.from_records(records).digest(fields) == expected
    shuffled = records[:]
    random.Random(2).shuffle(shuffled)
    assert Population.from_records(shuffled).digest(fields) == expected
    assert Population.from_records(shuffled).digest(["risk_class"]) == ref.population_digest(
        {r["code"]: r for r in records}, ["risk_class"]
    )


def test_digest_changes_with_any_digested_record_change():
    records = unit_records(50, seed=3)
    base = Population.from_records(records).digest()
    for change in ({"risk_class": "II" if records[9]["risk_class"] != "II" else "I"}, {"code": "NEW-1"}):
        changed = [dict(r) for r in records]
        changed[9].update(change)
        assert Population.from_records(changed).digest() != base
    assert Population.from_records(records[:-1]).digest() != base
    assert Population.from_records(records).digest(["grid"]) != base


def test_digest_covers_only_the_named_fields():
    records = unit_records(50, seed=3)
    changed = [dict(r) for r in records]
    changed[0]["district"] = "其他"
    assert Population.from_records(changed).digest(["risk_class"]) == Population.from_records(records).digest(
        ["risk_class"]
    )


def test_repeated_ids_are_refused_by_the_digest():
    records = unit_records(20, seed=4)
    with pytest.raises(InvalidPopulation, match="more than once"):
        Population.from_records(records + [dict(records[5])]).digest()


def test_non_nfc_ids_from_an_s_array_are_normalized():
    nfd = np.array(["e\u0301x".encode(), b"b"], dtype="S8")
    population = Population.from_columns(nfd)
    assert population.ids_at([0, 1]) == ["\u00e9x", "b"]


@pytest.mark.parametrize("ids", [
    np.array([b"a", b"a\x01"], dtype="S4"), np.array([b"a", b""], dtype="S4"),
    np.array([b"a", b" b"], dtype="S4"), np.array([b"\xff\xfe"], dtype="S4"), ["a", "b\n"],
    np.array([b"ok", b"a\x00b"], dtype="S4"), np.array([b"ok", b"b "], dtype="S4"),
])
def test_bad_ids_are_refused_on_every_input_path(ids):
    with pytest.raises(InvalidPopulation):
        Population.from_columns(ids)


def test_every_input_form_gives_the_same_population():
    records = unit_records(200, seed=5, odd=False)
    ids = [r["code"] for r in records]
    classes = [r["risk_class"] for r in records]
    levels = sorted(set(classes))
    forms = [
        Population.from_records(records, fields=["risk_class"]),
        Population.from_columns(ids, {"risk_class": classes}),
        Population.from_columns(np.array(ids), {"risk_class": np.array(classes)}),
        Population.from_columns(np.array([i.encode() for i in ids]), {
            "risk_class": Categorical([levels.index(c) for c in classes], levels)}),
        Population.from_columns(np.array([int(i) for i in ids]), {"risk_class": classes}),
        Population.from_columns(np.array([i.encode() for i in ids], dtype="S40"), {"risk_class": classes}),
        Population.from_columns(np.array(ids, dtype="U40"), {"risk_class": classes}),
    ]
    assert len({p.digest() for p in forms}) == 1


def test_columns_must_match_and_fields_must_exist():
    with pytest.raises(InvalidPopulation):
        Population.from_columns(["a", "b"], {"risk_class": ["I"]})
    with pytest.raises(InvalidParameters):
        Population.from_columns(["a"]).digest(["risk_class"])
    with pytest.raises(InvalidPopulation):
        Categorical([0, 2], ["I", "II"])
    with pytest.raises(InvalidPopulation):
        Categorical([0, 1], ["é", "e\u0301"])
    with pytest.raises(InvalidPopulation):
        Population.from_columns(["a"], {"grid": [["G1"]]})
    with pytest.raises(InvalidPopulation):
        Population.from_columns(["a"], {"grid": [1.5]})


def test_equal_values_of_different_spelling_are_one_level():
    population = Population.from_columns(["a", "b", "c"], {"grid": [5, "5", "e\u0301"]})
    assert population.column("grid").levels == ("5", "\u00e9")
