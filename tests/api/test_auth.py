"""Accounts and access: tokens, 401/403/404, revocation, throttling."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import jwt
import pytest
from sqlalchemy import select

from api.accounts import get_user, update_user
from api.errors import Conflict
from api.models import User
from api.schemas.auth import UserUpdate

from tests.conftest import TEST_SECRET
from tests.support.api import PASSWORD, add_user, assert_error, auth, login, password_login, seed_registry


async def test_token_has_the_documented_shape_and_works(db, client):
    await add_user(db, "chief", "chief")
    response = await client.post("/api/v1/auth/token", json={"username": "chief", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_at", "role"}
    assert body["token_type"] == "bearer" and body["role"] == "chief"
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(hours=7) < expires - datetime.now(timezone.utc) <= timedelta(hours=8)
    me = await client.get("/api/v1/me", headers=auth(body["access_token"]))
    assert me.json() == {"username": "chief", "role": "chief", "unit_code": None}


@pytest.mark.parametrize("path", ["/api/v1/units", "/api/v1/case-files", "/api/v1/inspectors", "/api/v1/users", "/api/v1/me"])
async def test_every_endpoint_needs_a_token(client, path):
    assert_error(await client.get(path), 401, "UNAUTHORIZED")
    assert_error(await client.get(path, headers=auth("not-a-jwt")), 401, "UNAUTHORIZED")


async def test_health_and_docs_need_no_token(client):
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/readyz")).json()["schema_revision"]
    assert (await client.get("/schema/openapi.json")).json()["openapi"].startswith("3.1")


async def test_expired_and_forged_tokens_are_rejected(db, client):
    await add_user(db, "admin", "admin")
    headers = await login(client, "admin")
    claims = jwt.decode(headers["Authorization"][7:], TEST_SECRET, algorithms=["HS256"])
    expired = jwt.encode({**claims, "exp": int(datetime.now(timezone.utc).timestamp()) - 5}, TEST_SECRET, algorithm="HS256")
    assert_error(await client.get("/api/v1/me", headers=auth(expired)), 401)
    forged = jwt.encode(claims, "another-secret-of-sufficient-length-0000000", algorithm="HS256")
    assert_error(await client.get("/api/v1/me", headers=auth(forged)), 401)
    elevated = jwt.encode({**claims, "sub": "999999"}, "x" * 40, algorithm="HS256")
    assert_error(await client.get("/api/v1/me", headers=auth(elevated)), 401)


async def test_logout_and_disabling_revoke_tokens(db, client):
    await add_user(db, "admin", "admin")
    await add_user(db, "chief", "chief")
    admin = await login(client, "admin")
    chief = await login(client, "chief")
    assert (await client.post("/api/v1/auth/logout", headers=chief)).status_code == 204
    assert_error(await client.get("/api/v1/me", headers=chief), 401)
    chief = await login(client, "chief")
    response = await client.patch("/api/v1/users/chief", json={"active": False}, headers=admin)
    assert response.status_code == 200 and response.json()["active"] is False
    assert_error(await client.get("/api/v1/me", headers=chief), 401)
    assert_error(await client.post("/api/v1/auth/token", json={"username": "chief", "password": PASSWORD}), 401, "INVALID_CREDENTIALS")


async def test_wrong_role_is_403_and_invisible_object_is_404(db, client):
    await seed_registry(db)
    await add_user(db, "insp01", "inspector")
    await add_user(db, "hm", "unit", unit_code="DG-HM")
    inspector = await login(client, "insp01")
    unit = await login(client, "hm")
    assert_error(await client.get("/api/v1/users", headers=inspector), 403, "FORBIDDEN")
    assert_error(await client.post("/api/v1/units", json={"code": "X", "name": "x", "kind": "office"}, headers=inspector), 403)
    assert_error(await client.get("/api/v1/inspectors", headers=unit), 403)
    # A unit account may not learn whether another unit or its files exist.
    assert (await client.get("/api/v1/units/DG-HM", headers=unit)).status_code == 200
    other = assert_error(await client.get("/api/v1/units/DG-CA", headers=unit), 404, "NOT_FOUND")
    missing = assert_error(await client.get("/api/v1/units/NO-SUCH", headers=unit), 404, "NOT_FOUND")
    assert other["message"].replace("DG-CA", "?") == missing["message"].replace("NO-SUCH", "?")
    assert_error(await client.get("/api/v1/case-files/长安市监罚〔2025〕1号", headers=unit), 404)
    # An inspector sees their own record only.
    assert (await client.get("/api/v1/inspectors/insp01", headers=inspector)).status_code == 200
    assert_error(await client.get("/api/v1/inspectors/insp02", headers=inspector), 404)
    listed = (await client.get("/api/v1/inspectors", headers=inspector)).json()
    assert [i["username"] for i in listed["items"]] == ["insp01"]


async def test_role_change_revokes_old_token(db, client):
    await add_user(db, "admin", "admin")
    await add_user(db, "boss", "chief")
    admin = await login(client, "admin")
    boss = await login(client, "boss")
    assert (await client.patch("/api/v1/users/boss", json={"role": "inspector"}, headers=admin)).status_code == 200
    assert_error(await client.get("/api/v1/me", headers=boss), 401)


async def test_failed_logins_lock_the_username(db, client):
    await add_user(db, "chief", "chief")
    for _ in range(3):  # settings fixture: login_max_failures=3
        assert_error(await client.post("/api/v1/auth/token", json={"username": "chief", "password": "wrong"}), 401)
    # Now locked: even the right password is refused, with a Retry-After.
    locked = await client.post("/api/v1/auth/token", json={"username": "chief", "password": PASSWORD})
    body = assert_error(locked, 429, "LOGIN_LOCKED")
    assert 0 < int(locked.headers["retry-after"]) <= 31
    assert body["details"]["retry_after_seconds"] == int(locked.headers["retry-after"])
    # Unknown usernames are throttled the same way, so probing reveals nothing.
    for _ in range(3):
        assert_error(await client.post("/api/v1/auth/token", json={"username": "ghost", "password": "x"}), 401)
    assert_error(await client.post("/api/v1/auth/token", json={"username": "ghost", "password": "x"}), 429)


async def test_success_resets_the_failure_count(db, client):
    await add_user(db, "chief", "chief")
    for _ in range(2):
        assert_error(await client.post("/api/v1/auth/token", json={"username": "chief", "password": "wrong"}), 401)
    await password_login(client, "chief")
    for _ in range(2):
        assert_error(await client.post("/api/v1/auth/token", json={"username": "chief", "password": "wrong"}), 401)
    await password_login(client, "chief")


async def test_user_management_rules(db, client):
    await seed_registry(db)
    await add_user(db, "admin", "admin")
    admin = await login(client, "admin")
    created = await client.post("/api/v1/users", json={"username": "hm", "role": "unit", "password": "long enough", "unit_code": "DG-HM"}, headers=admin)
    assert created.status_code == 201 and created.json()["unit_code"] == "DG-HM"
    assert_error(await client.post("/api/v1/users", json={"username": "hm", "role": "chief", "password": "long enough"}, headers=admin), 409, "ALREADY_EXISTS")
    body = assert_error(await client.post("/api/v1/users", json={"username": "u2", "role": "unit", "password": "long enough"}, headers=admin), 422)
    assert body["details"][0]["path"] == "$.unit_code"
    assert_error(await client.post("/api/v1/users", json={"username": "u3", "role": "unit", "password": "long enough", "unit_code": "NOPE"}, headers=admin), 422)
    assert_error(await client.post("/api/v1/users", json={"username": "c2", "role": "chief", "password": "long enough", "unit_code": "DG-HM"}, headers=admin), 422)
    assert_error(await client.post("/api/v1/users", json={"username": "c3", "role": "chief", "password": "short"}, headers=admin), 422)
    assert_error(await client.get("/api/v1/users/nobody", headers=admin), 404)
    listed = (await client.get("/api/v1/users?role=unit", headers=admin)).json()
    assert [u["username"] for u in listed["items"]] == ["hm"]
    assert "password" not in str(listed) and "hash" not in str(listed)


async def test_the_last_active_admin_cannot_be_demoted_or_disabled(db, client):
    await add_user(db, "admin", "admin")
    admin = await login(client, "admin")
    for change in ({"role": "chief"}, {"active": False}):
        body = assert_error(await client.patch("/api/v1/users/admin", json=change, headers=admin), 409, "LAST_ADMIN")
        assert body["details"] == {"username": "admin"}
    assert (await client.get("/api/v1/users/admin", headers=admin)).json()["role"] == "admin"  # nothing changed
    assert (await client.get("/api/v1/me", headers=admin)).status_code == 200  # and the token still works
    # With a second active admin, either may step down; a disabled admin does not count.
    await add_user(db, "admin2", "admin")
    assert (await client.patch("/api/v1/users/admin2", json={"active": False}, headers=admin)).status_code == 200
    assert_error(await client.patch("/api/v1/users/admin", json={"role": "chief"}, headers=admin), 409, "LAST_ADMIN")
    assert (await client.patch("/api/v1/users/admin2", json={"active": True}, headers=admin)).status_code == 200
    assert (await client.patch("/api/v1/users/admin", json={"role": "chief", "password": "a new passphrase"},
                               headers=admin)).status_code == 200
    admin2 = await login(client, "admin2")
    assert_error(await client.patch("/api/v1/users/admin2", json={"active": False}, headers=admin2), 409, "LAST_ADMIN")
    # Other changes of the last admin (a new password, enabling) stay possible.
    assert (await client.patch("/api/v1/users/admin2", json={"password": "another passphrase", "active": True},
                               headers=admin2)).status_code == 200


async def test_two_admins_demoting_each_other_at_once_leave_one_admin(db):
    await add_user(db, "a1", "admin")
    await add_user(db, "a2", "admin")
    loaded = asyncio.Barrier(2)

    async def demote(actor: str, target: str) -> None:
        async with db() as session:
            user = await get_user(session, target)
            await loaded.wait()  # both have read their target before either changes anything
            await update_user(session, user, UserUpdate(role="chief"), actor)
            await session.commit()

    results = await asyncio.gather(demote("a1", "a2"), demote("a2", "a1"), return_exceptions=True)
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(refused) == 1 and refused[0].code == "LAST_ADMIN" and results.count(None) == 1
    async with db() as session:
        admins = (await session.execute(select(User.username).where(User.role == "admin", User.active.is_(True)))).scalars().all()
    assert len(admins) == 1
