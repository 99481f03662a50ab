"""Helpers for API tests: accounts, logins and error-shape checks."""

from __future__ import annotations

import functools
from typing import Any

import msgspec
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from litestar.testing import AsyncTestClient

from api import demo_data
from api.accounts import create_user
from api.importing import import_records
from api.registry import CASE_FILES, INSPECTORS, UNITS
from api.schemas.auth import UserCreate

__all__ = ["PASSWORD", "add_user", "assert_error", "auth", "demo_registry", "insert_users", "login", "password_login",
           "seed_demo_registry", "seed_registry"]

PASSWORD = "correct horse battery"


async def add_user(db: async_sessionmaker[AsyncSession], username: str, role: str, unit_code: str | None = None, password: str = PASSWORD) -> None:
    """An account made by ``create_user`` (binding checked, creation audited); the default
    password is hashed once per test run, not once per account."""
    async with db() as session:
        await create_user(session, UserCreate(username=username, role=role, password=password, unit_code=unit_code),  # type: ignore[arg-type]
                          password_hash=_shared_hash() if password == PASSWORD else None)
        await session.commit()


async def password_login(client: AsyncTestClient[Litestar], username: str, password: str = PASSWORD) -> dict[str, str]:
    """Headers with a token from ``POST /api/v1/auth/token``: the password checked, the
    failure count reset."""
    response = await client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return auth(response.json()["access_token"])


async def login(client: AsyncTestClient[Litestar], username: str) -> dict[str, str]:
    """Headers with a bearer token for an active account, minted as ``POST /api/v1/auth/token``
    mints it after the password check. The argon2 check (0.1 s of CPU) is left to the tests of
    login itself (tests/api/test_auth.py, test_security.py), which call the endpoint."""
    from sqlalchemy import select

    from api.db import make_engine
    from api.models import User
    from api.security import issue_token

    app = client.app
    # An engine of the test's own event loop: the app's belongs to the loop serving requests.
    engine = make_engine(app.state.settings.effective_database_url, pool_size=1)
    try:
        async with engine.connect() as connection:
            user = (await connection.execute(select(User.id, User.role, User.active, User.token_version)
                                             .where(User.username == username))).one()
    finally:
        await engine.dispose()
    assert user.active, f"{username} is disabled: the login endpoint would refuse it"
    return auth(issue_token(app.state.jwt_auth, app.state.settings, user)[0])  # type: ignore[arg-type]


async def insert_users(db: async_sessionmaker[AsyncSession], accounts: list[tuple[str, str, str | None]]) -> None:
    """Accounts ``(username, role, unit_code)`` at once, all with password ``PASSWORD`` hashed
    once per test run (argon2 costs half a second a hash on a busy machine)."""
    from sqlalchemy import insert

    from api.models import User

    async with db() as session:
        await session.execute(insert(User), [{"username": n, "role": role, "unit_code": unit, "password_hash": _shared_hash(),
                                               "active": True, "token_version": 0} for n, role, unit in accounts])
        await session.commit()


async def add_users_with_tokens(app: Litestar, db: async_sessionmaker[AsyncSession], names: list[str], role: str) -> dict[str, dict[str, str]]:
    """Many accounts at once, with tokens minted directly (no argon2 per account or login)."""
    from sqlalchemy import select

    from api.models import User
    from api.security import issue_token

    await insert_users(db, [(n, role, None) for n in names])
    async with db() as session:
        users = (await session.execute(select(User).where(User.username.in_(names)))).scalars().all()
    return {u.username: auth(issue_token(app.state.jwt_auth, app.state.settings, u)[0]) for u in users}


_HASH: list[str] = []


def _shared_hash() -> str:
    from api.security import hash_password

    if not _HASH:
        _HASH.append(hash_password(PASSWORD))
    return _HASH[0]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The response has ``status`` and exactly the error shape; returns the body."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "message", "details"}, body
    assert isinstance(body["code"], str) and body["code"].isupper()
    assert isinstance(body["message"], str) and body["message"]
    if code is not None:
        assert body["code"] == code, body
    return body


# A small registry: two offices in different grids, an entity, case files, inspectors.
UNIT_ROWS = [
    {"code": "DG", "name": "东莞市市场监督管理局", "kind": "office"},
    {"code": "DG-HM", "name": "虎门分局", "kind": "office", "district": "滨海片区", "grid": "G01",
     "lat": 22.82, "lon": 113.67, "risk_class": "III", "credit": "A", "tier": 1, "parent_code": "DG"},
    {"code": "DG-CA", "name": "长安分局", "kind": "office", "district": "滨海片区", "grid": "G02",
     "lat": 22.81, "lon": 113.80, "risk_class": "III", "credit": "B", "tier": 2, "parent_code": "DG"},
    {"code": "DG-HM-001", "name": "东莞市虎门镇某某食品店", "kind": "entity", "grid": "G01",
     "lat": 22.83, "lon": 113.66, "risk_class": "I", "credit": "C", "parent_code": "DG-HM"},
]
CASE_FILE_ROWS = [
    {"code": "虎门市监罚〔2025〕1号", "unit_code": "DG-HM", "type": "enforcement", "closed_on": "2025-03-04", "handlers": ["张伟", "李娜"]},
    {"code": "虎门市监登〔2025〕2号", "unit_code": "DG-HM", "type": "registration", "closed_on": "2025-05-06", "handlers": ["张伟"]},
    {"code": "长安市监罚〔2025〕1号", "unit_code": "DG-CA", "type": "enforcement", "closed_on": "2025-06-01", "handlers": ["王芳"]},
]
INSPECTOR_ROWS = [
    {"username": "insp01", "name": "陈静", "home_unit": "DG-HM", "home_grid": "G01", "qualifications": ["field_visit", "file_review"]},
    {"username": "insp02", "name": "刘洋", "home_unit": "DG-CA", "home_grid": "G02", "qualifications": ["file_review"]},
]


async def seed_registry(db: async_sessionmaker[AsyncSession]) -> None:
    async with db() as session:
        await import_records(session, UNITS, UNIT_ROWS)
        await import_records(session, CASE_FILES, CASE_FILE_ROWS)
        await import_records(session, INSPECTORS, INSPECTOR_ROWS)
        await session.commit()


@functools.cache
def _demo_registry_bytes() -> bytes:
    return msgspec.msgpack.encode(demo_data.generate())


def demo_registry() -> demo_data.DemoRegistry:
    """``demo_data.generate()``, generated once per test process (50 ms, asked for several
    times by most field and draw tests); each call decodes a fresh copy that a test may change."""
    return msgspec.msgpack.decode(_demo_registry_bytes(), type=demo_data.DemoRegistry)


async def seed_demo_registry(db: async_sessionmaker[AsyncSession]) -> None:
    """The demo bureau's registry (635 units, ~3,600 case files, 40 inspectors)."""
    registry = demo_registry()
    async with db() as session:
        await import_records(session, UNITS, registry.units)
        await import_records(session, CASE_FILES, registry.case_files)
        await import_records(session, INSPECTORS, registry.inspectors)
        await session.commit()
