"""Inspector assignment: random teams, exclusion rules, even workload.

Procedure (docs/sampling.md, "Inspector assignment"):

1. Tasks are the selected units in draw order, times ``task_kinds`` in the given order.
2. An inspector is eligible for a task if active, qualified for its kind, not homed in
   the unit, not homed in the unit's grid, and the (inspector, unit) pair is neither a
   declared conflict nor a recent inspection. A task with fewer eligible inspectors than
   the team size makes the plan infeasible (``InfeasibleAssignment`` names the unit).
3. Greedy: each task takes the eligible inspectors with the smallest (current workload,
   rank in round ``workload``), where round r ranks the pool by its tickets under
   ``derive_seed(seed, "inspectors", str(r))``. A round is thus a fresh random order, and
   teams form at random while workloads stay level.
4. Balancing: while some inspector s could hand a task to an inspector with at least two
   tasks fewer along a chain of swaps (each swap keeps every rule), the first such chain
   found by breadth-first search is applied. Each step lowers the sum of squared
   workloads, and when none is left the workload vector is the decreasingly minimal one
   (Frank & Murota, 2022), so max minus min is the smallest the rules allow: at most 1
   whenever that is feasible. Greedy alone can miss it (a rarely eligible inspector).
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable, Sequence

import msgspec

from .algorithms import CONSISTENT_SHA256, exact_order, get_algorithm
from .canonical import canonical_id, utf8_key
from .digests import lines_digest
from .errors import InfeasibleAssignment, InvalidPopulation
from .params import AssignmentParams
from .records import QUALIFICATION_FOR_KIND, Inspector
from .results import Assignment, Task, Workload
from .seeds import PURPOSE_INSPECTORS, canonical_seed, derive_seed

__all__ = ["AssignmentUnit", "assign_inspectors", "exclusions_digest", "roster_digest"]


class AssignmentUnit(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A selected unit as the assignment sees it: id, grid (None if unknown), stratum label."""

    unit_id: str
    grid: str | None = None
    stratum: str = ""


def roster_digest(inspectors: Iterable[Inspector]) -> str:
    """Digest of the roster: one row (id, active 1/0, qualifications, home unit, home grid)."""
    rows = (
        (i.inspector_id, "1" if i.active else "0", ",".join(sorted(i.qualifications)),
         i.home_unit or "", i.home_grid or "")
        for i in inspectors
    )
    return lines_digest("spotcheck-roster/1", rows)


def exclusions_digest(conflicts: Iterable[tuple[str, str]], recent: Iterable[tuple[str, str]]) -> str:
    """Digest of the exclusion pairs: rows ("conflict"|"recent", inspector id, unit id)."""
    rows = {("conflict", i, u) for i, u in conflicts} | {("recent", i, u) for i, u in recent}
    return lines_digest("spotcheck-exclusions/1", rows)


def _roster(inspectors: Iterable[Inspector]) -> list[Inspector]:
    roster, seen = [], set()
    for ins in inspectors:
        ins = msgspec.structs.replace(
            ins,
            inspector_id=canonical_id(ins.inspector_id, "inspector id"),
            home_unit=None if ins.home_unit is None else canonical_id(ins.home_unit, "home unit"),
            home_grid=None if ins.home_grid is None else canonical_id(ins.home_grid, "home grid"),
            qualifications=frozenset(ins.qualifications),
        )
        unknown = ins.qualifications - set(QUALIFICATION_FOR_KIND.values())
        if unknown:
            raise InvalidPopulation(f"inspector {ins.inspector_id!r} has unknown qualifications {sorted(unknown)}")
        if ins.inspector_id in seen:
            raise InvalidPopulation(f"inspector {ins.inspector_id!r} appears twice", inspector_id=ins.inspector_id)
        seen.add(ins.inspector_id)
        roster.append(ins)
    return sorted(roster, key=lambda i: utf8_key(i.inspector_id))


def _pairs(pairs: Iterable[tuple[str, str]], what: str) -> set[tuple[str, str]]:
    return {(canonical_id(i, f"{what} inspector id"), canonical_id(u, f"{what} unit id")) for i, u in pairs}


class _Planner:
    """State of one assignment run; methods follow the steps of the module docstring."""

    def __init__(self, units, roster, params, seed, algo, excluded):
        self.units = units
        self.info = {i.inspector_id: i for i in roster}
        self.params = params
        self.algo = algo
        self.seed = seed
        # Per unit: inspectors it must not get (conflicts, recent visits, home unit).
        self.barred: dict[str, set[str]] = {}
        for inspector, unit_id in excluded:
            self.barred.setdefault(unit_id, set()).add(inspector)
        for ins in roster:
            if ins.home_unit is not None:
                self.barred.setdefault(ins.home_unit, set()).add(ins.inspector_id)
        self.home_grid = {i.inspector_id: i.home_grid for i in roster}
        self.tasks = [(u, kind) for u in units for kind in params.task_kinds]
        needed = {QUALIFICATION_FOR_KIND[k] for k in params.task_kinds}
        self.pool = [i.inspector_id for i in roster if i.active and i.qualifications & needed]
        self.ranks: list[dict[str, int]] = []
        self.by_qual = {
            q: sorted((i for i in self.pool if q in self.info[i].qualifications), key=lambda i: self.rank(0, i))
            for q in sorted(needed)
        }
        self.load = dict.fromkeys(self.pool, 0)
        self.teams: list[list[str]] = []
        self.tasks_of: dict[str, list[int]] = {i: [] for i in self.pool}

    def rank(self, round_: int, inspector: str) -> int:
        while len(self.ranks) <= round_:
            round_seed = derive_seed(self.seed, PURPOSE_INSPECTORS, str(len(self.ranks)))
            order = exact_order(self.algo, [i.encode("utf-8") for i in self.pool], round_seed)
            self.ranks.append({self.pool[k]: position for position, k in enumerate(order)})
        return self.ranks[round_][inspector]

    def eligible(self, inspector: str, task: int) -> bool:
        unit, _ = self.tasks[task]
        grid = self.home_grid[inspector]
        return (grid is None or grid != unit.grid) and inspector not in self.barred.get(unit.unit_id, ())

    def greedy(self) -> None:
        heaps = {q: [(0, self.rank(0, i), i) for i in members] for q, members in self.by_qual.items()}
        for heap in heaps.values():
            heapq.heapify(heap)
        size = self.params.team_size
        load, home_grid, pop, push = self.load, self.home_grid, heapq.heappop, heapq.heappush
        quals = {i: [q for q in self.info[i].qualifications if q in heaps] for i in self.pool}
        for t, (unit, kind) in enumerate(self.tasks):
            heap = heaps[QUALIFICATION_FOR_KIND[kind]]
            barred, grid = self.barred.get(unit.unit_id, ()), unit.grid
            picked, skipped = [], []
            while len(picked) < size and heap:
                entry = pop(heap)
                i = entry[2]
                if entry[0] != load[i]:
                    continue  # stale: the inspector's workload changed since the push
                if i in barred or (grid is not None and home_grid[i] == grid):
                    skipped.append(entry)
                else:
                    picked.append(i)
            if len(picked) < size:
                self.infeasible(t)
            for entry in skipped:
                push(heap, entry)
            for i in picked:
                load[i] += 1
                self.tasks_of[i].append(t)
                key = (load[i], self.rank(load[i], i), i)
                for q in quals[i]:
                    push(heaps[q], key)
            self.teams.append(picked)

    def infeasible(self, t: int) -> None:
        unit, kind = self.tasks[t]
        members = self.by_qual[QUALIFICATION_FOR_KIND[kind]]
        available = sum(1 for i in members if self.eligible(i, t))
        raise InfeasibleAssignment(
            f"cannot staff the {kind} of unit {unit.unit_id} (stratum {unit.stratum or 'all'}): "
            f"{available} eligible inspector(s), team size {self.params.team_size}",
            unit_id=unit.unit_id, stratum=unit.stratum, kind=kind,
            available=available, needed=self.params.team_size,
        )

    def capable(self) -> list[str]:
        """Inspectors eligible for at least one task: the ones the workload is spread over."""
        def can(i: str) -> bool:
            quals = self.info[i].qualifications
            return any(QUALIFICATION_FOR_KIND[k] in quals and self.eligible(i, t) for t, (_, k) in enumerate(self.tasks))
        return [i for i in self.pool if self.load[i] > 0 or can(i)]

    def chain(self, source: str) -> list[tuple[str, int, str]] | None:
        """Shortest chain of swaps moving one task from ``source`` to an inspector with
        at most load(source) - 2 tasks, as (giver, task, taker) steps; None if none."""
        limit = self.load[source] - 2
        parent: dict[str, tuple[str, int] | None] = {source: None}
        seen_tasks: set[int] = set()
        queue = deque([source])
        while queue:
            giver = queue.popleft()
            for t in self.tasks_of[giver]:
                if t in seen_tasks:
                    continue
                seen_tasks.add(t)
                for taker in self.by_qual[QUALIFICATION_FOR_KIND[self.tasks[t][1]]]:
                    if taker in parent or taker in self.teams[t] or not self.eligible(taker, t):
                        continue
                    parent[taker] = (giver, t)
                    if self.load[taker] <= limit:
                        steps, node = [], taker
                        while parent[node] is not None:
                            prev, task = parent[node]
                            steps.append((prev, task, node))
                            node = prev
                        return steps
                    queue.append(taker)
        return None

    def balance(self, capable: list[str]) -> None:
        while True:
            low = min(self.load[i] for i in capable)
            sources = sorted(
                (i for i in capable if self.load[i] >= low + 2), key=lambda i: (-self.load[i], self.rank(0, i))
            )
            for source in sources:
                steps = self.chain(source)
                if steps:
                    for giver, t, taker in steps:
                        self.teams[t][self.teams[t].index(giver)] = taker
                        self.tasks_of[giver].remove(t)
                        self.tasks_of[taker].append(t)
                        self.tasks_of[taker].sort()
                    self.load[source] -= 1
                    self.load[steps[0][2]] += 1
                    break
            else:
                return


def assign_inspectors(
    units: Sequence[AssignmentUnit], inspectors: Iterable[Inspector], params: AssignmentParams, seed: str,
    algorithm: str = CONSISTENT_SHA256, *, conflicts: Iterable[tuple[str, str]] = (),
    recent: Iterable[tuple[str, str]] = (),
) -> Assignment:
    """Staff one task per unit and kind with a team of ``params.team_size`` inspectors.

    ``seed`` is the public draw seed (round seeds are derived from it); ``conflicts`` and
    ``recent`` are (inspector id, unit id) pairs to keep apart. Deterministic: equal inputs
    (as sets) give equal teams. Raises ``InfeasibleAssignment`` naming the first unit that
    cannot be staffed, ``InvalidPopulation`` for a malformed or repeated inspector.
    """
    algo = get_algorithm(algorithm)
    seed = canonical_seed(seed)
    roster = _roster(inspectors)
    conflicts, recent = _pairs(conflicts, "conflict"), _pairs(recent, "recent")
    units = [
        AssignmentUnit(canonical_id(u.unit_id, "unit id"), None if not u.grid else canonical_id(u.grid, "grid"), u.stratum)
        for u in units
    ]
    planner = _Planner(units, roster, params, seed, algo, conflicts | recent)
    planner.greedy()
    capable = planner.capable()
    if capable and max(planner.load[i] for i in capable) - min(planner.load[i] for i in capable) > 1:
        planner.balance(capable)
    loads = [planner.load[i] for i in capable]
    return Assignment(
        algorithm=algo.name, algorithm_version=algo.version,
        roster_digest=roster_digest(roster), exclusions_digest=exclusions_digest(conflicts, recent),
        tasks=tuple(
            Task(unit_id=u.unit_id, kind=k, team=tuple(sorted(team)))
            for (u, k), team in zip(planner.tasks, planner.teams)
        ),
        workload=tuple(Workload(inspector_id=i, tasks=planner.load[i]) for i in capable),
        spread=max(loads) - min(loads) if loads else 0,
    )
