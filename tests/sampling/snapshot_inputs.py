"""Inputs of the pinned draws, built from formulas only (no random module), so the
snapshots cannot move when other test helpers change."""

from __future__ import annotations

from sampling import (
    AssignmentParams,
    CaseFile,
    CaseFileSampling,
    DrawParams,
    Inspector,
    Population,
    Quota,
    StratumRule,
    UnitSampling,
)

CLASSES = ("I", "II", "III")
TYPES = ("registration", "enforcement", "complaint", "other")


def records() -> list[dict[str, str]]:
    return [
        {"code": f"91440300MA{k:08d}", "risk_class": CLASSES[(k * 7) % 3], "grid": f"网格{(k * 5) % 9:02d}"}
        for k in range(600)
    ]


def population() -> Population:
    return Population.from_records(records())


def case_files() -> dict[str, list[CaseFile]]:
    return {
        r["code"]: [CaseFile(f"案{k % 97:02d}-{j}", TYPES[(k + j) % 4]) for j in range(k % 7)]
        for k, r in enumerate(records())
    }


def inspectors() -> list[Inspector]:
    return [
        Inspector(
            f"督察员{k:02d}",
            frozenset({"field_visit", "file_review"} if k % 4 else {"field_visit"}),
            active=k % 11 != 5,
            home_grid=f"网格{k % 9:02d}",
        )
        for k in range(30)
    ]


def params(algorithm: str) -> DrawParams:
    return DrawParams(
        algorithm=algorithm,
        units=UnitSampling(
            stratify_by=("risk_class",),
            rules=(StratumRule(where={"risk_class": "I"}, rate=0.05, min=3), StratumRule(size=6)),
        ),
        case_files=CaseFileSampling(per_type={"registration": Quota(size=1), "enforcement": Quota(rate=0.5)}),
        assignment=AssignmentParams(task_kinds=("field_visit", "file_review")),
    )
