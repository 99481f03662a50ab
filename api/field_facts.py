"""What the field hot path knows without asking the database every time.

A task's team, unit, kind, sampled case files and period never change after the draw, and
a loaded catalog version never changes at all; each worker keeps them once read. What does
change (task status, period status) is read once per batch by the handlers. Only the
worker's group-commit writer uses these caches.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any, Iterable

from sqlalchemy import Connection, select

from api import documents
from api.models import Unit
from api.models_draws import Plan, Task, TaskInspector
from api.models_scoring import Period
from scoring import Catalog, Indicator

__all__ = ["FieldFacts", "PeriodFacts", "TaskFacts", "UnitFacts"]

MAX_TASKS = 100_000
UNIT_TTL = 60.0  # the registry (tiers, parents, positions) changes rarely; a minute is current enough


@dataclass(frozen=True, slots=True)
class TaskFacts:
    id: uuid.UUID
    unit_code: str
    kind: str
    case_files: frozenset[str]
    team: frozenset[str]
    period: str | None


@dataclass(frozen=True, slots=True)
class PeriodFacts:
    """What never changes about a period (its status does, and is read per batch)."""

    code: str
    catalog_code: str
    catalog_version: int
    unit_kind: str
    parent_code: str | None


@dataclass(frozen=True, slots=True)
class UnitFacts:
    code: str
    kind: str
    tier: int | None
    parent_code: str | None
    lat: float | None
    lon: float | None


def _indicators(catalog: Catalog) -> dict[str, Indicator]:
    found: dict[str, Indicator] = {}
    for item in catalog.items:
        for indicator in item.indicators:
            found[indicator.code] = indicator
        for sub in item.sub_items:
            for indicator in sub.indicators:
                found[indicator.code] = indicator
    return found


class FieldFacts:
    def __init__(self) -> None:
        self._tasks: dict[uuid.UUID, TaskFacts] = {}
        self._catalogs: dict[tuple[str, int], tuple[Catalog, dict[str, Indicator]]] = {}
        self._units: dict[str, tuple[float, UnitFacts]] = {}
        self._periods: dict[str, PeriodFacts] = {}

    def periods(self, connection: Connection, codes: Iterable[str]) -> dict[str, PeriodFacts]:
        missing = [c for c in codes if c not in self._periods]
        if missing:
            columns = (Period.code, Period.catalog_code, Period.catalog_version, Period.unit_kind, Period.parent_code)
            for row in connection.execute(select(*columns).where(Period.code.in_(missing))).all():
                self._periods[row.code] = PeriodFacts(*row)
        return {c: self._periods[c] for c in codes if c in self._periods}

    def tasks(self, connection: Connection, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, TaskFacts]:
        wanted = set(ids)
        missing = [i for i in wanted if i not in self._tasks]
        if missing:
            rows = connection.execute(
                select(Task.id, Task.unit_code, Task.kind, Task.case_files, Plan.period)
                .join(Plan, Plan.id == Task.plan_id).where(Task.id.in_(missing))
            ).all()
            teams: dict[uuid.UUID, set[str]] = {}
            for task_id, username in connection.execute(
                select(TaskInspector.task_id, TaskInspector.username).where(TaskInspector.task_id.in_(missing))
            ).all():
                teams.setdefault(task_id, set()).add(username)
            if len(self._tasks) > MAX_TASKS:
                self._tasks.clear()
            for task_id, unit_code, kind, files, period in rows:
                self._tasks[task_id] = TaskFacts(task_id, unit_code, kind, frozenset(files), frozenset(teams.get(task_id, ())), period)
        return {i: self._tasks[i] for i in wanted if i in self._tasks}

    def catalog(self, connection: Connection, period: Any) -> tuple[Catalog, dict[str, Indicator]]:
        key = (period.catalog_code, period.catalog_version)
        if key not in self._catalogs:
            model = documents.CATALOGS.model
            document = connection.execute(select(model.document).where(model.code == key[0], model.version == key[1])).scalar_one()
            catalog = documents.parse_catalog(document)
            self._catalogs[key] = (catalog, _indicators(catalog))
        return self._catalogs[key]

    def known(self, task_id: uuid.UUID) -> tuple[TaskFacts, PeriodFacts, tuple[Catalog, dict[str, Indicator]], dict[str, UnitFacts]] | None:
        """A task's facts with its period, catalog and units (with ancestors), if all are
        cached and current; ``None`` otherwise. Reads nothing."""
        task = self._tasks.get(task_id)
        period = self._periods.get(task.period) if task is not None and task.period else None
        if task is None or period is None:
            return None
        catalog = self._catalogs.get((period.catalog_code, period.catalog_version))
        now = time.monotonic()
        units: dict[str, UnitFacts] = {}
        code: str | None = task.unit_code
        while code is not None:
            entry = self._units.get(code)
            if entry is None or entry[0] < now:
                return None
            units[code] = entry[1]
            code = entry[1].parent_code
        return (task, period, catalog, units) if catalog is not None else None

    def units(self, connection: Connection, codes: Iterable[str]) -> dict[str, UnitFacts]:
        """Units by code, with their ancestors (to charge a finding to the assessed office)."""
        now = time.monotonic()
        found: dict[str, UnitFacts] = {}
        todo = set(codes)
        while todo:
            missing = [c for c in todo if c not in self._units or self._units[c][0] < now]
            if missing:
                columns = (Unit.code, Unit.kind, Unit.tier, Unit.parent_code, Unit.lat, Unit.lon)
                for u in connection.execute(select(*columns).where(Unit.code.in_(missing))).all():
                    self._units[u.code] = (now + UNIT_TTL, UnitFacts(u.code, u.kind, u.tier, u.parent_code, u.lat, u.lon))
            for code in todo:
                if code in self._units:
                    found[code] = self._units[code][1]
            todo = {f.parent_code for f in found.values() if f.parent_code and f.parent_code not in found}
        return found
