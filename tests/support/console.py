"""Helpers for the console's tests: the demo bureau with its field work, console sessions
(through the login form, or minted like the API's tokens) and form posts with the CSRF token."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.demo import load_demo_data
from api.demo_field import load_field_demo
from api.models import User
from api.models_evidence import Evidence
from api.models_scoring import Deduction
from api.security import issue_token
from api.settings import Settings
from tests.support.api import insert_users

__all__ = ["ConsoleDemo", "console_login", "csrf", "flash", "load_console_demo", "post_form", "sign_in"]

CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')
FLASH = re.compile(r'<div class="flash (\w+)" role="\w+">([^<]*)</div>')


@dataclass
class ConsoleDemo:
    flagged: uuid.UUID  # the deduction citing a reused photo (虎门, against DG-HUMEN)
    reused: uuid.UUID  # that photo
    original: uuid.UUID  # the earlier photo it repeats (厚街 visit, filed by insp01)
    proposed: list[uuid.UUID]  # the demo's deductions without a finding, oldest first


async def load_console_demo(db: async_sessionmaker[AsyncSession], settings: Settings) -> ConsoleDemo:
    """The demo bureau with its field work; its accounts (all with password PASSWORD) and a
    unit account of another office, unit-changan."""
    async with db() as session:
        accounts = await load_demo_data(session)
        await session.commit()
        await load_field_demo(session, msgspec.structs.replace(settings, evidence_workers=1))
    await insert_users(db, [(a.username, a.role, a.unit_code) for a in accounts] + [("unit-changan", "unit", "DG-CHANGAN")])
    async with db() as session:
        flagged = (await session.execute(select(Deduction).where(Deduction.unit_code == "DG-HUMEN",
                                                                 Deduction.finding_id.is_not(None)))).scalar_one()
        photos = (await session.execute(select(Evidence).order_by(Evidence.received_at))).scalars().all()
        reused = next(p for p in photos if any(f["code"] == "reused_exact" for f in p.flags))
        original = uuid.UUID(next(f for f in reused.flags if f["code"] == "reused_exact")["evidence_ids"][0])
        proposed = list((await session.execute(select(Deduction.id).where(Deduction.finding_id.is_(None))
                                               .order_by(Deduction.created_at, Deduction.id))).scalars())
    return ConsoleDemo(flagged=flagged.id, reused=reused.id, original=original, proposed=proposed)


async def sign_in(client: AsyncTestClient[Litestar], db: async_sessionmaker[AsyncSession], username: str | None) -> None:
    """A fresh cookie jar holding ``username``'s console session (None: nobody), its token
    minted as the login would (no argon2: the login form has its own tests)."""
    client.cookies.clear()
    if username is None:
        return
    async with db() as session:
        user = (await session.execute(select(User).where(User.username == username))).scalar_one()
    app = client.app
    token, _ = issue_token(app.state.jwt_auth, app.state.settings, user)
    client.cookies.set("spotcheck_console", token, domain="testserver.local", path="/console")


async def csrf(client: AsyncTestClient[Litestar]) -> str:
    """The CSRF token of the client's current session (or, signed out, of its pre-session
    nonce), read from a page's form as a browser has it. The console binds it to those
    cookies, so it is fetched again whenever they change."""
    key = (client.cookies.get("spotcheck_console"), client.cookies.get("spotcheck_presession"))
    known: dict[tuple[str | None, str | None], str] = client.__dict__.setdefault("_console_csrf", {})
    if key not in known:
        # Signed out: the login form; signed in: it redirects to the role's start page,
        # whose logout form carries the token.
        page = await client.get("/console/login", follow_redirects=True)
        token = CSRF_FIELD.search(page.text)
        assert token is not None, page.text
        key = (client.cookies.get("spotcheck_console"), client.cookies.get("spotcheck_presession"))
        known[key] = token.group(1)
    return known[key]


async def console_login(client: AsyncTestClient[Litestar], username: str, password: str) -> None:
    """Log in through the login form, as a browser does (a fresh cookie jar first)."""
    client.cookies.clear()
    form = await client.get("/console/login")
    token = CSRF_FIELD.search(form.text)
    assert token is not None, form.text
    answer = await client.post("/console/login", data={"_csrf_token": token.group(1), "username": username,
                                                       "password": password, "next": "/console"},
                               follow_redirects=False)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/console"


async def post_form(client: AsyncTestClient[Litestar], path: str, data: dict[str, Any], *, follow: bool = False) -> Any:
    return await client.post(path, data={"_csrf_token": await csrf(client), **data}, follow_redirects=follow)


def flash(page: Any) -> tuple[str, str] | None:
    """The one-shot message a page shows after a form: (ok|error, text)."""
    found = FLASH.search(page.text)
    return (found.group(1), found.group(2)) if found else None
