"""Load the demo bureau (api.demo_data), its scoring data (api.demo_scoring) and its accounts
into an empty database."""

from __future__ import annotations

import secrets
import uuid
from datetime import date
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api import audit, demo_data
from api.accounts import create_user
from api.demo_scoring import DEMO_PERIOD, load_scoring_demo
from api.drawing import execute_draw
from api.importing import import_records
from api.models import Unit
from api.models_draws import Plan
from api.registry import CASE_FILES, INSPECTORS, UNITS
from api.schemas.auth import UserCreate
from sampling import seed_commitment

__all__ = ["DemoAccount", "has_registry", "load_demo", "load_demo_data"]


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str
    password: str
    unit_code: str | None = None


async def has_registry(session: AsyncSession) -> bool:
    return (await session.execute(select(func.count()).select_from(Unit))).scalar_one() > 0


# Unannounced visits to regulated entities, riskier classes sampled harder (domain brief:
# "higher sampling rates for riskier strata"); findings count against the supervising office.
DEMO_PLAN = {
    "units": {"filter": {"kind": ["entity"]}, "stratify_by": ["risk_class"],
              "rules": [{"where": {"risk_class": "I"}, "rate": 0.05}, {"where": {"risk_class": "II"}, "rate": 0.03},
                        {"where": {"risk_class": "III"}, "rate": 0.01}]},
    "case_files": None,
    "assignment": {"task_kinds": ["field_visit"], "team_size": 2},
}
DEMO_SEED = "20261121"


async def _demo_draw(session: AsyncSession) -> None:
    """A drawn plan in the demo period, so the demo inspectors have tasks to work on."""
    plan = Plan(id=uuid.uuid4(), name="2026年第四季度双随机抽查（演示）", params=DEMO_PLAN, period=DEMO_PERIOD,
                unannounced=True, due_from=date(2026, 11, 16), due_to=date(2026, 12, 31), exclude_recent_draws=0,
                seed_commitment=seed_commitment(DEMO_SEED), status="draft", created_by="chief")
    session.add(plan)
    audit.record(session, plan.created_by, "plan.created", "plan", plan.id, None,
                 {"status": "draft", "name": plan.name, "period": plan.period, "seed_commitment": plan.seed_commitment})
    await session.flush()
    await execute_draw(session, plan, DEMO_SEED, plan.created_by)


async def load_demo_data(session: AsyncSession, seed: int = demo_data.DEFAULT_SEED) -> list[DemoAccount]:
    """Import the demo registry, scoring data and drawn plan; return the demo's accounts (six,
    two of them chiefs: an appeal is answered by a chief other than the one who decided the
    deduction) with fresh random passwords, not yet created. The caller commits."""
    registry = demo_data.generate(seed)
    await import_records(session, UNITS, registry.units)
    await import_records(session, CASE_FILES, registry.case_files)
    await import_records(session, INSPECTORS, registry.inspectors)
    offices = [u["code"] for u in registry.units if u["kind"] == "office" and u.get("parent_code") == demo_data.ROOT_CODE]
    handlers = sorted({h for f in registry.case_files for h in f["handlers"]})
    await load_scoring_demo(session, offices, handlers, seed)
    await _demo_draw(session)
    inspectors = [i["username"] for i in registry.inspectors if i["active"]][:2]
    return [
        DemoAccount("admin", "admin", secrets.token_urlsafe(12)),
        DemoAccount("chief", "chief", secrets.token_urlsafe(12)),
        DemoAccount("chief2", "chief", secrets.token_urlsafe(12)),
        *(DemoAccount(name, "inspector", secrets.token_urlsafe(12)) for name in inspectors),
        DemoAccount("unit-humen", "unit", secrets.token_urlsafe(12), demo_data.DEMO_UNIT_ACCOUNT_UNIT),
    ]


async def load_demo(session: AsyncSession, seed: int = demo_data.DEFAULT_SEED) -> list[DemoAccount]:
    """Load the demo data (:func:`load_demo_data`) and create its accounts.

    Returns the accounts with their passwords (shown once; only hashes are stored).
    The caller commits.
    """
    accounts = await load_demo_data(session, seed)
    for account in accounts:
        await create_user(session, UserCreate(username=account.username, role=account.role,  # type: ignore[arg-type]
                                              password=account.password, unit_code=account.unit_code))
    return accounts
