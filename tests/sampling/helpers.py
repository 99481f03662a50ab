"""Shared builders for the sampling tests: deterministic random populations and rosters."""

from __future__ import annotations

import random

from sampling import CaseFile, Inspector, Population

RISK_CLASSES = ("I", "II", "III")
FILE_TYPES = ("registration", "enforcement", "complaint", "other")
# Ids that exercise canonical text: CJK, combining marks, a >31-byte id (keyed counters).
ODD_IDS = ("东莞市场监管所-01", "Zoë-7", "ab-1", "x" * 40, "南山分局第一市场监督管理所-龙岗", "é")


def unit_records(n: int, seed: int, *, grids: int = 6, odd: bool = True) -> list[dict[str, str]]:
    rng = random.Random(seed)
    ids = [f"9144{k:06d}" for k in range(n)]
    if odd:
        ids[: len(ODD_IDS)] = ODD_IDS[: min(n, len(ODD_IDS))]
    return [
        {
            "code": i,
            "risk_class": rng.choice(RISK_CLASSES),
            "district": rng.choice(("南山", "福田", "罗湖")),
            "grid": f"G{rng.randrange(grids)}",
        }
        for i in ids
    ]


def population(records: list[dict[str, str]]) -> Population:
    return Population.from_records(records)


def case_files(records: list[dict[str, str]], seed: int, most: int = 9) -> dict[str, list[CaseFile]]:
    rng = random.Random(seed)
    return {
        r["code"]: [CaseFile(f"{r['code']}/F{j}", rng.choice(FILE_TYPES)) for j in range(rng.randrange(most + 1))]
        for r in records
    }


def roster(n: int, seed: int, *, grids: int = 6, units: list[str] = ()) -> list[Inspector]:
    rng = random.Random(seed)
    out = []
    for k in range(n):
        quals = {"field_visit", "file_review"} if k % 3 else {rng.choice(("field_visit", "file_review"))}
        out.append(Inspector(
            inspector_id=f"I{k:03d}", qualifications=frozenset(quals), active=rng.random() > 0.05,
            home_unit=rng.choice(units) if units and rng.random() < 0.3 else None,
            home_grid=f"G{rng.randrange(grids)}" if rng.random() < 0.8 else None,
        ))
    return out
