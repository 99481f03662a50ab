"""Benchmark: recompute every score of a period, vectorized vs a per-row Python loop.

10,000 units x 200 indicators x 1,000,000 findings (deductions, bonuses,
vetoes) plus a measurement matrix for the target indicators. The vectorized
path is :func:`scoring.score_batch` on column arrays (as a database query
would return them); the loop is the straightforward per-row Python version of
the same rules. Both must agree to the milli-point before any time is printed.

    /work/main/.venv/bin/python bench/scoring.py [--units N] [--findings N] [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and its name
# would shadow the `scoring` package: import from the repository root instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import msgspec  # noqa: E402
import numpy as np  # noqa: E402

from scoring import Catalog, GradeBand, Grading, Ranking, Unit, check_catalog, score_batch  # noqa: E402
from scoring.arrays import FindingArrays, MetricArrays  # noqa: E402
from scoring.compiled import Kind, compile_catalog  # noqa: E402

N_INDICATORS = 200


def synthetic_catalog() -> Catalog:
    """20 items: 16 scored (10 indicators each, some target-type), bonus, penalty, veto."""
    items = []
    for i in range(16):
        indicators = []
        for k in range(10):
            code = f"i{i:02d}.k{k}"
            if k == 0:
                rule = {"kind": "target", "metric": f"m{i}", "target": 95, "base": 1,
                        "add_per_step": 0.1, "max_addition": 0.5, "deduct_per_step": 0.2}
            elif k == 1:
                rule = {"kind": "deduct_only_target", "metric": f"n{i}", "target": 100, "base": 1,
                        "deduct_per_step": 0.3}
            elif k == 2 and i < 4:
                rule = {"kind": "staged_target", "metric": f"m{i}", "stages": [
                    {"at": 0.5, "target": 50}, {"at": 1, "target": 95}],
                    "levels": [{"level": "watch", "min_shortfall": 0},
                               {"level": "warning", "min_shortfall": 5}]}
            elif k == 3:
                rule = {"kind": "per_quantity", "points": 0.25, "quantity_unit": "day"}
            else:
                rule = {"kind": "per_occurrence", "points": [0.5, 1, 2, 5][k % 4],
                        **({"max_points": 3} if k == 9 else {})}
            indicators.append({"code": code, "name": f"指标{i}-{k}", "name_en": f"Indicator {i}-{k}", "rule": rule})
        items.append({"code": f"i{i:02d}", "name": f"大项{i}", "name_en": f"Item {i}",
                      "points": 6.25, "indicators": indicators})
    levels = [{"code": c, "name": c, "name_en": c, "points": p}
              for c, p in [("county", 2), ("prefecture", 5), ("province", 10), ("ministry", 15)]]
    bonus = [{"code": f"b.l{k}", "name": "表彰", "name_en": "Award", "rule": {"kind": "bonus_levels", "levels": levels}}
             for k in range(8)]
    bonus += [{"code": f"b.t{k}", "name": "大案", "name_en": "Big case",
               "rule": {"kind": "tier_bonus", "points": [3, 4.5, 6, 7.5, 9]}} for k in range(8)]
    bonus += [{"code": f"b.o{k}", "name": "加分", "name_en": "Bonus",
               "rule": {"kind": "bonus_per_occurrence", "points": 1}} for k in range(4)]
    items.append({"code": "bonus", "name": "加分", "name_en": "Bonus", "kind": "bonus", "indicators": bonus})
    items.append({"code": "discipline", "name": "违纪", "name_en": "Discipline", "kind": "penalty", "points": 10,
                  "indicators": [{"code": f"d{k}", "name": "违纪", "name_en": "Sanction",
                                  "rule": {"kind": "per_occurrence", "points": 2}} for k in range(15)]})
    items.append({"code": "veto", "name": "否决", "name_en": "Veto", "points": 0,
                  "indicators": [{"code": f"v{k}", "name": "否决", "name_en": "Veto", "rule": {"kind": "veto"}}
                                 for k in range(5)]})
    doc = {"code": "bench", "version": 1, "name": "基准", "name_en": "Benchmark", "bonus_cap": 10,
           "unit_tiers": [{"tier": t + 1, "name": f"{t + 1}类", "name_en": f"Tier {t + 1}", "min_entities": m}
                          for t, m in enumerate([30000, 20000, 10000, 5000, 0])],
           "items": items}
    catalog = check_catalog(msgspec.convert(doc, Catalog))
    assert len(compile_catalog(catalog).indicator_codes) == N_INDICATORS
    return catalog


def synthetic_data(catalog: Catalog, n_units: int, n_findings: int, seed: int = 20240601):
    c = compile_catalog(catalog)
    rng = np.random.default_rng(seed)
    units = [Unit(code=f"u{n:05d}", entities=int(e)) for n, e in enumerate(rng.integers(0, 60000, n_units))]
    takes_findings = np.flatnonzero(~np.isin(c.kind, Kind.MEASURED))
    weights = np.where(c.kind[takes_findings] == Kind.VETO, 0.02, 1.0)  # about 1 finding in 2,000 vetoes
    indicator = rng.choice(takes_findings, n_findings, p=weights / weights.sum()).astype(np.int32)
    kind = c.kind[indicator]
    level = np.full(n_findings, -1, np.int32)
    is_level = kind == Kind.BONUS_LEVELS
    owners = {k: np.flatnonzero(c.level_indicator == k) for k in np.unique(indicator[is_level])}
    picks = rng.integers(0, 4, n_findings)
    for k, levels in owners.items():
        rows = is_level & (indicator == k)
        level[rows] = levels[picks[rows]]
    findings = FindingArrays(
        unit=rng.integers(0, n_units, n_findings).astype(np.int32),
        indicator=indicator,
        count=rng.choice([1, 1, 1, 2, 3], n_findings).astype(np.int64),
        quantity=np.where(kind == Kind.PER_QUANTITY, np.round(rng.uniform(0, 10, n_findings), 2), np.nan),
        level=level,
        achievement=np.where(is_level, rng.integers(0, 3, n_findings), -1).astype(np.int64),
        confirmed=rng.random(n_findings) < 0.7,
    )
    value = np.round(rng.uniform(60, 110, (n_units, len(c.metrics))), 2)
    value[rng.random(value.shape) < 0.05] = np.nan
    metrics = MetricArrays(value, rng.choice([0.5, 1.0], value.shape))
    return units, findings, metrics


def python_loop(catalog: Catalog, units, f: FindingArrays, m: MetricArrays) -> list[int]:
    """The straightforward version: one Python iteration per finding, then per unit."""
    c = compile_catalog(catalog)
    kinds, items = c.kind.tolist(), c.item.tolist()
    per_occ, per_qty = c.points_milli.tolist(), c.points_float.tolist()
    level_milli = c.level_milli.tolist()
    tiers = [next(t.tier for t in catalog.unit_tiers if u.entities >= t.min_entities) for u in units]
    sums: dict[tuple[int, int], int] = defaultdict(int)
    best: dict[tuple[int, int, int], int] = {}
    vetoed = set()
    for u, k, count, qty, lvl, ach in zip(f.unit.tolist(), f.indicator.tolist(), f.count.tolist(),
                                          f.quantity.tolist(), f.level.tolist(), f.achievement.tolist()):
        kind = kinds[k]
        if kind in (Kind.PER_OCCURRENCE, Kind.BONUS_OCCURRENCE):
            sums[u, k] += count * per_occ[k]
        elif kind == Kind.PER_QUANTITY:
            sums[u, k] += round(qty * per_qty[k] * 1000)
        elif kind == Kind.TIER_BONUS:
            sums[u, k] += count * int(c.tier_milli[k, tiers[u] - 1])
        elif kind == Kind.BONUS_LEVELS:
            key = (u, k, ach)
            best[key] = max(best.get(key, 0), level_milli[lvl])
        elif kind == Kind.VETO:
            vetoed.add(u)
    for (u, k, _), points in best.items():
        sums[u, k] += points
    caps, adds = c.cap_milli.tolist(), c.adds.tolist()
    n_items = len(c.item_codes)
    deducted = [[0] * n_items for _ in units]
    added = [[0] * n_items for _ in units]
    for (u, k), points in sums.items():
        points = min(points, caps[k])
        (added if adds[k] else deducted)[u][items[k]] += points
    values = m.value.tolist()
    for k, metric, rule in c.targets:
        for u in range(len(units)):
            value = values[u][metric]
            if value != value:  # NaN: not measured
                continue
            diff = value - rule.target
            if diff >= 0:
                if rule.__struct_config__.tag == "target":
                    added[u][items[k]] += min(round(diff / rule.step * rule.add_per_step * 1000),
                                              round(rule.max_addition * 1000))
            else:
                deducted[u][items[k]] += round(-diff / rule.step * rule.deduct_per_step * 1000)
    kinds_of_items, item_caps = c.item_kind.tolist(), c.item_cap_milli.tolist()
    totals = []
    for u in range(len(units)):
        scored = bonus = penalty = 0
        for i in range(n_items):
            if kinds_of_items[i] == 0:
                scored += max(0, item_caps[i] + added[u][i] - deducted[u][i])
            elif kinds_of_items[i] == 1:
                bonus += min(added[u][i], item_caps[i])
            else:
                penalty += min(deducted[u][i], item_caps[i])
        totals.append(max(0, scored + min(bonus, c.bonus_cap_milli) - penalty))
    return [int(t) for t in totals]


def timed(fn, repeat: int):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return result, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--findings", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    catalog = synthetic_catalog()
    units, findings, metrics = synthetic_data(catalog, args.units, args.findings)
    grading = Grading(bands=(GradeBand(code="a", name="达标", name_en="Passed", min=85),
                             GradeBand(code="b", name="不达标", name_en="Not passed")),
                      pass_line=85, accountability_line=70, veto_grade="b")
    ranking = Ranking(commend_top_share=0.3, flag_bottom=5, tie_break=("i00",))

    def vectorized(basis="provisional"):
        return score_batch(catalog, units, findings, metrics, basis=basis, grading=grading, ranking=ranking)

    vectorized()  # warm the compiled-catalog cache, as a running service would have it
    batch, times = timed(vectorized, args.repeat)
    _, confirmed_times = timed(lambda: vectorized("confirmed"), args.repeat)
    loop_totals, loop_times = timed(lambda: python_loop(catalog, units, findings, metrics), 1)
    assert loop_totals == [round(t * 1000) for t in batch.total.tolist()], "loop and batch disagree"
    best, loop = min(times), loop_times[0]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, numpy {np.__version__}")
    print(f"data: {args.units:,} units x {N_INDICATORS} indicators x {args.findings:,} findings; "
          f"{int(batch.vetoed.sum())} vetoed, {int((batch.warning_level > 0).sum())} with warnings")
    print(f"vectorized (provisional, with grades and ranks): best {best:.3f} s, "
          f"median {statistics.median(times):.3f} s over {args.repeat} runs")
    print(f"vectorized (confirmed only): best {min(confirmed_times):.3f} s")
    print(f"per-row Python loop (totals only): {loop:.3f} s")
    print(f"ratio loop / vectorized: {loop / best:.1f}x")
    print(f"goal < 1 s: {'met' if best < 1 else 'NOT met'}")


if __name__ == "__main__":
    main()
