"""A drawn plan in the demo period, ready for field work."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from api.demo_scoring import DEMO_PERIOD, load_scoring_demo
from tests.support.api import add_user, add_users_with_tokens, demo_registry, login, seed_demo_registry

VISITS = {  # offices and entities, field visits and file reviews, teams of two
    "units": {"filter": {"kind": ["office", "entity"]}, "stratify_by": ["kind"],
              "rules": [{"where": {"kind": "office"}, "size": 6}, {"where": {"kind": "entity"}, "size": 6}]},
    "case_files": {"per_unit": {"size": 2}},
    "assignment": {"task_kinds": ["field_visit", "file_review"], "team_size": 2},
}


@dataclass
class Field:
    chief: dict[str, str]
    plan: dict[str, Any]
    tasks: list[dict[str, Any]]
    inspectors: dict[str, dict[str, str]]  # username -> auth headers

    def task(self, kind: str, unit_kind: str = "office") -> dict[str, Any]:
        codes = {u["code"]: u["kind"] for u in demo_registry().units}
        return next(t for t in self.tasks if t["kind"] == kind and codes[t["unit_code"]] == unit_kind)

    def member(self, task: dict[str, Any]) -> dict[str, str]:
        return self.inspectors[task["team"][0]]

    def outsider(self, task: dict[str, Any]) -> dict[str, str]:
        return next(h for name, h in self.inspectors.items() if name not in task["team"])


def unit_position(code: str) -> tuple[float, float]:
    """Where a demo unit is (lat, lon)."""
    unit = next(u for u in demo_registry().units if u["code"] == code)
    return unit["lat"], unit["lon"]


def now() -> str:
    return datetime.now(timezone.utc).isoformat()


def finding_body(task: dict[str, Any], indicator: str, **extra: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "task_id": task["id"], "indicator": indicator, "recorded_at": now(), **extra}


async def field_setup(app: Any, db: Any, client: Any, *, period: str | None = DEMO_PERIOD) -> Field:
    await seed_demo_registry(db)
    registry = demo_registry()
    offices = [u["code"] for u in registry.units if u["parent_code"] == "DG"]
    async with db() as session:
        await load_scoring_demo(session, offices, ["张伟", "李娜"], seed=1)
        await session.commit()
    await add_user(db, "chief", "chief")
    chief = await login(client, "chief")
    body = {"name": "外勤测试", "params": VISITS, "due_from": "2026-11-01", "due_to": "2026-12-31", "period": period}
    plan = (await client.post("/api/v1/plans", json=body, headers=chief)).json()
    drawn = await client.post(f"/api/v1/plans/{plan['id']}/draw", json={"seed": "field-1"}, headers=chief)
    assert drawn.status_code == 201, drawn.text
    tasks = (await client.get(f"/api/v1/tasks?plan_id={plan['id']}&limit=500", headers=chief)).json()["items"]
    roster = [i["username"] for i in registry.inspectors]
    inspectors = await add_users_with_tokens(app, db, roster, "inspector")
    return Field(chief=chief, plan=plan, tasks=tasks, inspectors=inspectors)


async def submit(client: Any, field: Field, task: dict[str, Any]) -> None:
    """Submit ``task`` as its team's first member: its findings' deductions go to review."""
    r = await client.post(f"/api/v1/tasks/{task['id']}/submit", headers=field.member(task))
    assert r.status_code == 200, r.text
