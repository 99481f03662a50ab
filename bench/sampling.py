"""Benchmark of the sampling library: prints time and peak memory of complete draws.

    python bench/sampling.py            # 1,000,000 and 10,000,000 units, both algorithms
    python bench/sampling.py --quick    # 100,000 units only (smoke run)

Population: ids like unified social credit codes ("91440300MA" + 8 digits), 5 risk classes
(unequal shares), 73 grids. Draw: 10,000 units stratified by class (3000/2500/2000/1500/1000),
case files per type in every selected unit (5 to 19 files each, generated on demand),
teams of 2 for a field visit and a file review of each unit (20,000 tasks) from 300
inspectors with home grids, 500 declared conflicts and 2,000 recent inspections.

Every measurement runs in a fresh child process; peak memory is the child's ru_maxrss,
which includes the interpreter, numpy and the population itself. The consistent_sampler
package is timed in the same run on the same 1,000,000 ids (per stratum, as a third party
re-checking the draw would call it).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sampling import (  # noqa: E402
    AssignmentParams,
    CaseFile,
    CaseFileSampling,
    Categorical,
    DrawParams,
    Inspector,
    Population,
    Quota,
    StratumRule,
    UnitSampling,
    derive_seed,
    run_draw,
)

SEED = "20240521|0731"
CLASSES = ["A", "B", "C", "D", "E"]
SHARES = [0.05, 0.15, 0.2, 0.25, 0.35]
SIZES = [3000, 2500, 2000, 1500, 1000]
GRIDS = [f"G{g:02d}" for g in range(73)]
TYPES = ("registration", "enforcement", "complaint", "other")


def id_array(n: int, shuffle: bool = False) -> np.ndarray:
    numbers = np.arange(n, dtype=np.int64)
    if shuffle:
        numbers = np.random.default_rng(9).permutation(numbers)
    digits = np.empty((n, 18), np.uint8)
    digits[:, :10] = np.frombuffer(b"91440300MA", np.uint8)
    for k in range(8):
        digits[:, 17 - k] = (numbers // 10**k) % 10 + 48
    return digits.view("S18").ravel()


def columns(n: int) -> dict[str, Categorical]:
    rng = np.random.default_rng(1)
    return {
        "risk_class": Categorical(rng.choice(len(CLASSES), n, p=SHARES), CLASSES),
        "grid": Categorical(rng.integers(0, len(GRIDS), n), GRIDS),
    }


class Registry(Mapping):
    """Case files generated on demand from the unit id (only selected units are read)."""

    def __getitem__(self, unit_id: str) -> list[CaseFile]:
        h = int(unit_id[-6:])
        return [CaseFile(f"{unit_id}-{j:02d}", TYPES[(h + j * j) % 4]) for j in range(5 + h % 15)]

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def roster(n_units: int) -> tuple[list[Inspector], set, set]:
    rng = np.random.default_rng(2)
    inspectors = [
        Inspector(
            f"I{k:03d}", frozenset({"field_visit", "file_review"} if k % 5 else {"field_visit"}),
            active=k % 37 != 0, home_grid=GRIDS[k % len(GRIDS)],
        )
        for k in range(300)
    ]
    ids = [b.decode() for b in id_array(n_units)[rng.integers(0, n_units, 2500)].tolist()]
    conflicts = {(f"I{rng.integers(300):03d}", u) for u in ids[:500]}
    recent = {(f"I{rng.integers(300):03d}", u) for u in ids[500:]}
    return inspectors, conflicts, recent


def params(algorithm: str) -> DrawParams:
    return DrawParams(
        algorithm=algorithm,
        units=UnitSampling(
            stratify_by=("risk_class",),
            rules=tuple(StratumRule(where={"risk_class": c}, size=s) for c, s in zip(CLASSES, SIZES)),
        ),
        case_files=CaseFileSampling(per_type={
            "registration": Quota(size=2), "enforcement": Quota(rate=0.3, min=1), "complaint": Quota(size=1),
        }),
        assignment=AssignmentParams(task_kinds=("field_visit", "file_review")),
    )


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_draw(n: int, algorithm: str, source: str) -> dict:
    inspectors, conflicts, recent = roster(n)
    if source == "list":  # the same Python lists the package gets
        ids = [b.decode() for b in id_array(n).tolist()]
        cols = columns(n)
        classes = [CLASSES[c] for c in cols["risk_class"].codes.tolist()]
        grids = [GRIDS[c] for c in cols["grid"].codes.tolist()]
        start = time.perf_counter()
        population = Population.from_columns(ids, {"risk_class": classes, "grid": grids})
    else:
        ids, cols = id_array(n), columns(n)
        start = time.perf_counter()
        population = Population.from_columns(ids, cols)
    built = time.perf_counter()
    population.digest(["grid", "risk_class"])
    digested = time.perf_counter()
    draw = run_draw(population, params(algorithm), SEED, case_files=Registry(), inspectors=inspectors,
                    conflicts=conflicts, recent=recent)
    done = time.perf_counter()
    units_only = DrawParams(algorithm=algorithm, units=params(algorithm).units, assignment=None)
    t0 = time.perf_counter()
    run_draw(population, units_only, SEED)
    units_time = time.perf_counter() - t0
    return {
        "build": built - start, "digest": digested - built, "draw": done - digested,
        "units": units_time, "total": done - start, "peak_mb": peak_mb(),
        "selected": len(draw.units.units), "tasks": len(draw.assignment.tasks), "spread": draw.assignment.spread,
        "files": sum(len(u.files) for u in draw.case_files.units),
    }


def child_digest_shuffled(n: int) -> dict:
    population = Population.from_columns(id_array(n, shuffle=True), columns(n))
    start = time.perf_counter()
    population.digest(["grid", "risk_class"])
    return {"digest": time.perf_counter() - start, "peak_mb": peak_mb()}


def child_package(n: int) -> dict:
    from consistent_sampler import sampler

    ids = [b.decode() for b in id_array(n).tolist()]
    codes = columns(n)["risk_class"].codes.tolist()
    strata = [[i for i, c in zip(ids, codes) if c == k] for k in range(len(CLASSES))]
    ticket_seed = derive_seed(SEED, "units")
    start = time.perf_counter()
    drawn = [list(sampler(members, seed=ticket_seed, take=size)) for members, size in zip(strata, SIZES)]
    return {"package": time.perf_counter() - start, "selected": sum(map(len, drawn)), "peak_mb": peak_mb()}


def run_child(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def machine() -> str:
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
    model = next((line.split(":", 1)[1].strip() for line in lscpu if line.startswith("Model name")), "?")
    return (f"{platform.machine()}, {os.cpu_count()} cores ({model}), Python {platform.python_version()}, "
            f"numpy {np.__version__}, load average at start {os.getloadavg()[0]:.2f}")


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        kind, *rest = sys.argv[2:]
        result = {"draw": lambda: child_draw(int(rest[0]), rest[1], rest[2]),
                  "shuffled": lambda: child_digest_shuffled(int(rest[0])),
                  "package": lambda: child_package(int(rest[0]))}[kind]()
        print(json.dumps(result))
        return
    sizes = [100_000] if "--quick" in sys.argv else [1_000_000, 10_000_000]
    print(f"machine: {machine()}")
    print("draw = units + case files + teams; times in seconds; memory = peak RSS of the child process")
    header = f"{'units':>11} {'algorithm':<18} {'input':<6} {'build':>6} {'digest':>6} {'draw':>6} " \
             f"{'(units)':>7} {'total':>6} {'peak MB':>8}  selected/files/tasks/spread"
    print(header)
    results = {}
    for n in sizes:
        runs = [("consistent-sha256", "list"), ("consistent-sha256", "numpy"), ("philox-keyed", "numpy")]
        if n <= 1_000_000:
            runs.append(("philox-keyed", "list"))
        for algorithm, source in runs:
            r = run_child("draw", str(n), algorithm, source)
            results[(n, algorithm, source)] = r
            print(f"{n:>11,} {algorithm:<18} {source:<6} {r['build']:6.2f} {r['digest']:6.2f} {r['draw']:6.2f} "
                  f"{r['units']:7.2f} {r['total']:6.2f} {r['peak_mb']:8.0f}  "
                  f"{r['selected']}/{r['files']}/{r['tasks']}/{r['spread']}")
        s = run_child("shuffled", str(n))
        print(f"{n:>11,} digest of the same population with shuffled rows (sorts the ids): "
              f"{s['digest']:.2f} s, peak {s['peak_mb']:.0f} MB")
    n = sizes[0]
    p = run_child("package", str(n))
    ours = results[(n, "consistent-sha256", "list")]
    print(f"\nconsistent_sampler {n:,} ids, 5 strata, {p['selected']} drawn: {p['package']:.2f} s "
          f"(peak {p['peak_mb']:.0f} MB)")
    print(f"ratio package / consistent-sha256 complete draw from the same lists "
          f"(build + digest + units + case files + teams, {ours['total']:.2f} s): {p['package'] / ours['total']:.1f}x")
    from_lists = ours["build"] + ours["digest"] + ours["units"]
    print(f"ratio package / consistent-sha256 unit draw from the same lists (build + digest + units, "
          f"{from_lists:.2f} s): {p['package'] / from_lists:.1f}x")
    print(f"ratio package / consistent-sha256 unit draw alone (population already loaded, "
          f"{ours['units']:.2f} s): {p['package'] / ours['units']:.1f}x")


if __name__ == "__main__":
    main()
