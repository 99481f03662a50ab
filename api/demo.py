"""Load the demo bureau (api.demo_data), its scoring data (api.demo_scoring) and its accounts
into an empty database."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api import demo_data
from api.accounts import create_user
from api.demo_scoring import load_scoring_demo
from api.importing import import_records
from api.models import Unit
from api.registry import CASE_FILES, INSPECTORS, UNITS
from api.schemas.auth import UserCreate

__all__ = ["DemoAccount", "has_registry", "load_demo"]


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str
    password: str
    unit_code: str | None = None


async def has_registry(session: AsyncSession) -> bool:
    return (await session.execute(select(func.count()).select_from(Unit))).scalar_one() > 0


async def load_demo(session: AsyncSession, seed: int = demo_data.DEFAULT_SEED) -> list[DemoAccount]:
    """Import the demo registry and scoring data, and create five accounts with fresh random passwords.

    Returns the accounts with their passwords (shown once; only hashes are stored).
    The caller commits.
    """
    registry = demo_data.generate(seed)
    await import_records(session, UNITS, registry.units)
    await import_records(session, CASE_FILES, registry.case_files)
    await import_records(session, INSPECTORS, registry.inspectors)
    offices = [u["code"] for u in registry.units if u["kind"] == "office" and u.get("parent_code") == demo_data.ROOT_CODE]
    handlers = sorted({h for f in registry.case_files for h in f["handlers"]})
    await load_scoring_demo(session, offices, handlers, seed)
    inspectors = [i["username"] for i in registry.inspectors if i["active"]][:2]
    accounts = [
        DemoAccount("admin", "admin", secrets.token_urlsafe(12)),
        DemoAccount("chief", "chief", secrets.token_urlsafe(12)),
        *(DemoAccount(name, "inspector", secrets.token_urlsafe(12)) for name in inspectors),
        DemoAccount("unit-humen", "unit", secrets.token_urlsafe(12), demo_data.DEMO_UNIT_ACCOUNT_UNIT),
    ]
    for account in accounts:
        await create_user(session, UserCreate(username=account.username, role=account.role,  # type: ignore[arg-type]
                                              password=account.password, unit_code=account.unit_code))
    return accounts
