"""The demo registry must be reproducible everywhere and internally consistent."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import os
import re
import subprocess
import sys
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.demo_data import DEMO_UNIT_ACCOUNT_UNIT, DemoRegistry, generate

REPO = Path(__file__).resolve().parents[2]

# The brief's list of Dongguan's 4 streets, 28 towns and Songshan Lake.
TOWNS = (
    "莞城 南城 东城 万江 石碣 石龙 茶山 石排 企石 横沥 桥头 谢岗 东坑 常平 寮步 樟木头 大朗 "
    "黄江 清溪 塘厦 凤岗 大岭山 长安 虎门 厚街 沙田 道滘 洪梅 麻涌 望牛墩 中堂 高埗 松山湖"
).split()
DISTRICTS = {"城区片区", "水乡片区", "埔田片区", "东南临深片区", "滨海片区", "松山湖片区"}
UNIT_KEYS = {
    "code", "name", "kind", "district", "grid", "lat", "lon", "risk_class", "credit", "tier",
    "parent_code",
}
CASE_KEYS = {"code", "unit_code", "type", "closed_on", "handlers"}
INSPECTOR_KEYS = {"username", "name", "home_unit", "home_grid", "qualifications", "active"}
HAN = re.compile(r"^[\u4e00-\u9fff]{2,4}$")
# sha256 of the JSON of generate(): the promise "identical on every machine and Python 3.11+".
# Update it only when the data is changed on purpose, and say so in the commit message.
GOLDEN_DIGEST = "680607814724727880af5e7a16d60162b771ce74dd08fcab831e9fdcbbcc9110"


def digest(registry: DemoRegistry) -> str:
    return hashlib.sha256(msgspec.json.encode(registry)).hexdigest()


@pytest.fixture(scope="module")
def reg() -> DemoRegistry:
    return generate()


def offices(reg: DemoRegistry) -> list[dict[str, Any]]:
    return [u for u in reg.units if u["kind"] == "office"]


def entities(reg: DemoRegistry) -> list[dict[str, Any]]:
    return [u for u in reg.units if u["kind"] == "entity"]


def grids_by_office(reg: DemoRegistry) -> dict[str, set[str]]:
    owned: dict[str, set[str]] = {}
    for u in reg.units:
        if u["grid"] is None:
            continue
        office = u["code"] if u["kind"] == "office" else u["parent_code"]
        owned.setdefault(office, set()).add(u["grid"])
    return owned


def km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(
        math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


def check_invariants(reg: DemoRegistry) -> None:
    """What must hold for every seed: referential integrity, enums, uniqueness, geography."""
    units = {u["code"]: u for u in reg.units}
    assert len(units) == len(reg.units), "unit codes must be unique"
    assert all(set(u) == UNIT_KEYS for u in reg.units)
    assert all(set(c) == CASE_KEYS for c in reg.case_files)
    assert all(set(i) == INSPECTOR_KEYS for i in reg.inspectors)
    for u in reg.units:
        assert u["code"].isascii()
        assert u["kind"] in {"office", "entity"}
        assert u["risk_class"] in {"I", "II", "III"}
        assert u["credit"] in {"A", "B", "C", "D"}
        assert 22.65 <= u["lat"] <= 23.15 and 113.5 <= u["lon"] <= 114.25
        assert round(u["lat"], 6) == u["lat"] and round(u["lon"], 6) == u["lon"]
        if u["code"] != "DG":
            assert units[u["parent_code"]]["kind"] == "office"
            assert u["district"] in DISTRICTS
            assert re.fullmatch(r"G\d\d", u["grid"])
    owned = grids_by_office(reg)
    owners = Counter(g for gs in owned.values() for g in gs)
    assert set(owners.values()) == {1}, "a grid belongs to exactly one office"
    assert len(owners) == 73
    for e in entities(reg):
        office = units[e["parent_code"]]
        assert e["district"] == office["district"]
        assert km(e["lat"], e["lon"], office["lat"], office["lon"]) <= 3.0

    assert 3000 <= len(reg.case_files) <= 4000
    assert len({c["code"] for c in reg.case_files} | set(units)) == len(reg.case_files) + len(
        units), "case-file codes unique across the whole registry"
    for c in reg.case_files:
        assert units[c["unit_code"]]["kind"] == "office" and c["unit_code"] != "DG"
        assert c["type"] in {"registration", "enforcement", "complaint", "other"}
        assert "2025-01-01" <= c["closed_on"] <= "2026-10-31"
        assert dt.date.fromisoformat(c["closed_on"]).isoformat() == c["closed_on"]
        assert 1 <= len(c["handlers"]) <= 2 and len(set(c["handlers"])) == len(c["handlers"])
        assert all(HAN.match(h) for h in c["handlers"])

    assert [i["username"] for i in reg.inspectors] == [f"insp{n:02d}" for n in range(1, 41)]
    assert len({i["name"] for i in reg.inspectors}) == 40
    for i in reg.inspectors:
        assert HAN.match(i["name"])
        assert i["home_unit"] in owned, "home unit is a branch office"
        assert i["home_grid"] in owned[i["home_unit"]]
        assert i["qualifications"] == sorted(set(i["qualifications"]))
        assert set(i["qualifications"]) <= {"field_visit", "file_review"}
        assert i["qualifications"], "an inspector with no qualification cannot be drawn"
    assert sum(not i["active"] for i in reg.inspectors) in {2, 3}
    handlers = {h for c in reg.case_files for h in c["handlers"]}
    assert handlers.isdisjoint(i["name"] for i in reg.inspectors), "one name, one person"


def test_default_registry_is_consistent(reg: DemoRegistry) -> None:
    check_invariants(reg)


@settings(max_examples=15, deadline=None)
@given(st.integers(min_value=0, max_value=2**64))
def test_any_seed_gives_a_consistent_registry(seed: int) -> None:
    check_invariants(generate(seed))


def test_same_seed_same_data_different_seed_different_data(reg: DemoRegistry) -> None:
    assert generate(20101) == reg
    assert generate() == reg
    assert digest(generate(20102)) != digest(reg)


def test_output_is_pinned_and_independent_of_hash_randomization(reg: DemoRegistry) -> None:
    # Fresh interpreters with different string-hash seeds catch any set/dict-order leak.
    code = "import hashlib, msgspec, api.demo_data as d;" \
           "print(hashlib.sha256(msgspec.json.encode(d.generate())).hexdigest())"
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, check=True,
                             capture_output=True, text=True).stdout.strip()
        assert out == digest(reg)
    assert digest(reg) == GOLDEN_DIGEST


def test_round_trips_through_json(reg: DemoRegistry) -> None:
    assert msgspec.json.decode(msgspec.json.encode(reg), type=DemoRegistry) == reg
    with pytest.raises(AttributeError):
        reg.units = []  # type: ignore[misc]


def test_all_text_is_nfc(reg: DemoRegistry) -> None:
    def strings(value: Any) -> list[str]:
        if isinstance(value, str):
            return [value]
        if isinstance(value, dict):
            return [s for k, v in value.items() for s in strings(k) + strings(v)]
        if isinstance(value, list):
            return [s for v in value for s in strings(v)]
        return []

    texts = strings(reg.units) + strings(reg.case_files) + strings(reg.inspectors)
    assert texts and all(unicodedata.is_normalized("NFC", s) for s in texts)


def test_bureau_root_and_its_33_offices(reg: DemoRegistry) -> None:
    root = reg.units[0]
    assert (root["code"], root["name"], root["kind"], root["parent_code"]) == (
        "DG", "东莞市市场监督管理局", "office", None)
    branches = offices(reg)[1:]
    assert len(offices(reg)) == 34
    assert sorted(b["name"] for b in branches) == sorted(f"{t}分局" for t in TOWNS)
    assert all(b["parent_code"] == "DG" and 1 <= b["tier"] <= 5 for b in branches)
    assert {b["district"] for b in branches} == DISTRICTS
    by_name = {b["name"]: b for b in branches}
    assert all(by_name[f"{t}分局"]["tier"] <= 2 for t in ("虎门", "长安", "常平"))
    assert {b["tier"] for b in branches} == {1, 2, 3, 4, 5}
    assert by_name["虎门分局"]["code"] == DEMO_UNIT_ACCOUNT_UNIT


def test_entities_form_meaningful_strata(reg: DemoRegistry) -> None:
    ents = entities(reg)
    assert 550 <= len(ents) <= 650
    assert len({e["name"] for e in ents}) == len(ents)
    assert all(e["name"].startswith("东莞市") and e["tier"] is None for e in ents)
    risk = Counter(e["risk_class"] for e in ents)
    credit = Counter(e["credit"] for e in ents)
    assert min(risk.values()) >= 50, "each risk class needs enough units to sample"
    assert credit["A"] > credit["B"] > credit["C"] > credit["D"] > 0
    # Class I is food, drugs and hazardous chemicals, as the brief defines it.
    class_i = [e["name"] for e in ents if e["risk_class"] == "I"]
    assert all(any(w in n for w in ("食品", "餐", "酒家", "药", "超市", "便利店", "化工", "加油",
                                    "燃气")) for n in class_i)
    # Every office supervises some entities, bigger offices more.
    per_office = Counter(e["parent_code"] for e in ents)
    assert len(per_office) == 33
    assert per_office[DEMO_UNIT_ACCOUNT_UNIT] > per_office["DG-HONGMEI"]


def test_case_files_follow_office_size_and_law(reg: DemoRegistry) -> None:
    tier = {o["code"]: o["tier"] for o in offices(reg)}
    per_office = Counter(c["unit_code"] for c in reg.case_files)
    assert len(per_office) == 33
    mean = {t: sum(n for o, n in per_office.items() if tier[o] == t) / sum(
        1 for o in per_office if tier[o] == t) for t in range(1, 6)}
    assert mean[1] > mean[3] > mean[5]
    types = Counter(c["type"] for c in reg.case_files)
    assert types["registration"] > types["enforcement"] > types["other"] > 0
    assert types["complaint"] > types["other"]
    # Administrative penalties need two officers (行政处罚法), so every enforcement file has two.
    assert all(len(c["handlers"]) == 2 for c in reg.case_files if c["type"] == "enforcement")
    # Files are closed on working days.
    assert all(dt.date.fromisoformat(c["closed_on"]).weekday() < 5 for c in reg.case_files)
