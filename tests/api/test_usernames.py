"""A username is one name in any case: kept as typed, compared folded (NFKC + case folding)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from api.accounts import create_user
from api.errors import Conflict
from api.models import LoginThrottle, User
from api.models_review import AuditEvent
from api.schemas.auth import UserCreate

from tests.support.api import PASSWORD, add_user, assert_error, auth, insert_users, login, password_login
from tests.support.console import console_login


async def test_a_name_differing_only_in_case_is_taken(db, client):
    await add_user(db, "admin", "admin")
    admin = await login(client, "admin")
    made = await client.post("/api/v1/users", json={"username": "ZhangWei", "role": "inspector", "password": "long enough"},
                             headers=admin)
    assert made.status_code == 201 and made.json()["username"] == "ZhangWei"  # kept as typed
    for other in ("zhangwei", "ZHANGWEI", "Zhangwei"):
        body = assert_error(await client.post("/api/v1/users", json={"username": other, "role": "chief", "password": "long enough"},
                                              headers=admin), 409, "ALREADY_EXISTS")
        assert body["details"] == {"username": other, "existing_username": "ZhangWei"}
    # The exact same name keeps the answer it always had.
    body = assert_error(await client.post("/api/v1/users", json={"username": "ZhangWei", "role": "chief", "password": "long enough"},
                                          headers=admin), 409, "ALREADY_EXISTS")
    assert body["details"]["username"] == "ZhangWei"
    listed = (await client.get("/api/v1/users?role=inspector", headers=admin)).json()
    assert [u["username"] for u in listed["items"]] == ["ZhangWei"]
    # Reading and changing an account find it in any case, and answer with its own spelling.
    assert (await client.get("/api/v1/users/zhangWEI", headers=admin)).json()["username"] == "ZhangWei"
    changed = await client.patch("/api/v1/users/ZHANGWEI", json={"active": False}, headers=admin)
    assert changed.status_code == 200 and changed.json()["username"] == "ZhangWei"
    async with db() as session:
        created = (await session.execute(select(AuditEvent.object_id).where(AuditEvent.action == "user.created"))).scalars().all()
        disabled = (await session.execute(select(AuditEvent.object_id).where(AuditEvent.action == "user.disabled"))).scalars().all()
    assert "ZhangWei" in created and "zhangwei" not in created and disabled == ["ZhangWei"]


async def test_login_in_any_case_is_the_account_as_spelled(db, client):
    await add_user(db, "ZhangWei", "inspector")
    # As a phone capitalises it, all in capitals, and full-width as a Chinese IME types it.
    for typed in ("zhangwei", "ZHANGWEI", "Zhangwei", "ＺｈａｎｇＷｅｉ"):
        headers = await password_login(client, typed)
        me = (await client.get("/api/v1/me", headers=headers)).json()
        assert me == {"username": "ZhangWei", "role": "inspector", "unit_code": None}, typed
    assert_error(await client.post("/api/v1/auth/token", json={"username": "zhangwe1", "password": PASSWORD}), 401,
                 "INVALID_CREDENTIALS")


async def test_console_login_in_any_case_is_the_account_as_spelled(db, client):
    await add_user(db, "ZhangWei", "chief")
    await console_login(client, "zHANGwEI", PASSWORD)
    page = await client.get("/console/review")
    assert page.status_code == 200 and "ZhangWei · " in page.text


async def test_changing_case_does_not_escape_the_lockout(db, client):
    await add_user(db, "admin", "admin")
    await add_user(db, "ZhangWei", "chief")
    for typed in ("ZhangWei", "zhangwei", "ZHANGWEI"):  # settings fixture: login_max_failures=3
        assert_error(await client.post("/api/v1/auth/token", json={"username": typed, "password": "wrong"}), 401)
    for typed in ("ZhangWei", "zhangWei", "ｚｈａｎｇｗｅｉ"):
        assert_error(await client.post("/api/v1/auth/token", json={"username": typed, "password": PASSWORD}), 429, "LOGIN_LOCKED")
    async with db() as session:
        assert (await session.execute(select(LoginThrottle.username))).scalars().all() == ["zhangwei"]
        locked = (await session.execute(select(AuditEvent.object_id).where(AuditEvent.action == "user.locked_out"))).scalars().all()
    assert locked == ["ZhangWei"]  # the account as it is named everywhere else
    # A password reset opens the account at once, whatever case the admin typed the name in.
    admin = await login(client, "admin")
    reset = await client.patch("/api/v1/users/zhangwei", json={"password": "a new passphrase"}, headers=admin)
    assert reset.status_code == 200
    await password_login(client, "Zhangwei", "a new passphrase")


async def test_unknown_names_are_locked_in_any_case_too(client):
    for typed in ("Ghost", "ghost", "GHOST"):
        assert_error(await client.post("/api/v1/auth/token", json={"username": typed, "password": "x"}), 401)
    assert_error(await client.post("/api/v1/auth/token", json={"username": "gHoSt", "password": "x"}), 429, "LOGIN_LOCKED")


async def test_a_name_longer_once_folded_is_still_counted(client):
    # NFKC turns each "㍿" into four characters: 64 typed become 256, more than a key holds.
    for _ in range(3):
        assert_error(await client.post("/api/v1/auth/token", json={"username": "㍿" * 64, "password": "x"}), 401)
    assert_error(await client.post("/api/v1/auth/token", json={"username": "㍿" * 64, "password": "x"}), 429)


async def test_the_database_keeps_one_account_per_folded_name(db):
    await insert_users(db, [("LiNa", "chief", None)])
    async with db() as session:
        # Any insert gets the key from the name, even one that does not give it.
        assert (await session.execute(select(User.username_key).where(User.username == "LiNa"))).scalar_one() == "lina"
    with pytest.raises(IntegrityError):
        await insert_users(db, [("lina", "chief", None)])
    with pytest.raises(IntegrityError):  # a key that disagrees with its name is no way around it
        async with db() as session:
            await session.execute(insert(User).values(username="LINA", username_key="lina", role="chief",
                                                      password_hash="x", active=True, token_version=0))
            await session.commit()


async def test_two_creations_of_one_name_at_once_leave_one_account(db):
    """Both pass the check before either is committed; the database's key refuses the second,
    and the refusal is the usual 409, not a 500."""
    async with db() as first, db() as second:
        await create_user(first, UserCreate(username="WangFang", role="chief", password="long enough"), password_hash="x")
        racing = asyncio.create_task(
            create_user(second, UserCreate(username="wangfang", role="chief", password="long enough"), password_hash="x"))
        await asyncio.sleep(0.5)  # the second has checked and waits for the first's write
        await first.commit()
        with pytest.raises(Conflict) as refused:
            await racing
        assert refused.value.code == "ALREADY_EXISTS" and "existing_username" not in refused.value.details
        await second.rollback()
    async with db() as session:
        names = (await session.execute(select(User.username).where(User.username_key == "wangfang"))).scalars().all()
    assert names == ["WangFang"]


async def test_filters_by_a_name_find_it_in_any_case(app, db, client):
    # Stored names carry the account's spelling; a filter typed in another case finds them too.
    from tests.support.field import field_setup, finding_body

    field = await field_setup(app, db, client)
    task = field.task("field_visit")
    member = task["team"][0]
    typed = member.upper() if member != member.upper() else member.lower()
    made = await client.post("/api/v1/findings", json=finding_body(task, "inspection.window_conduct"),
                             headers=field.member(task))
    assert made.status_code == 201, made.text
    for path in (f"/api/v1/tasks?inspector={typed}", f"/api/v1/findings?inspector={typed}",
                 f"/api/v1/audit?actor={typed}&action=finding.created"):
        page = (await client.get(path, headers=field.chief)).json()
        assert page["total"] >= 1, (path, page)
    nobody = (await client.get("/api/v1/findings?inspector=nobody", headers=field.chief)).json()
    assert nobody["total"] == 0
