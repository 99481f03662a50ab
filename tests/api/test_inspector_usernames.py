"""One person, one name across accounts and the inspector registry: an inspector record is one
name in any case, as an account is, and an inspector's account is spelled as their record."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from api import registry
from api.errors import Conflict
from api.models import Inspector
from api.models_review import AuditEvent
from api.schemas.registry import InspectorCreate

from tests.support.api import add_user, assert_error, login, seed_registry


@pytest.fixture
async def chief(db, client):
    await seed_registry(db)  # inspectors insp01, insp02
    await add_user(db, "chief", "chief")
    return await login(client, "chief")


async def names(client, headers):
    return [i["username"] for i in (await client.get("/api/v1/inspectors", headers=headers)).json()["items"]]


async def test_a_record_in_another_case_is_refused_naming_the_stored_spelling(client, chief):
    for typed in ("Insp01", "INSP01", "iNSP01"):
        body = assert_error(await client.post("/api/v1/inspectors", json={"username": typed, "name": "陈静"}, headers=chief),
                            409, "ALREADY_EXISTS")
        assert body["details"] == {"username": typed, "existing_username": "insp01"} and "'insp01'" in body["message"]
    # The same spelling keeps the answer it always had.
    body = assert_error(await client.post("/api/v1/inspectors", json={"username": "insp01", "name": "陈静"}, headers=chief),
                        409, "ALREADY_EXISTS")
    assert body["details"] == {"username": "insp01"}
    assert await names(client, chief) == ["insp01", "insp02"]


async def test_a_record_is_read_and_changed_in_any_case(db, client, chief):
    got = await client.get("/api/v1/inspectors/INSP01", headers=chief)
    assert got.status_code == 200 and got.json()["username"] == "insp01"
    changed = await client.patch("/api/v1/inspectors/Insp02", json={"active": False}, headers=chief)
    assert changed.status_code == 200 and changed.json() == {**changed.json(), "username": "insp02", "active": False}
    async with db() as session:
        updated = (await session.execute(select(AuditEvent.object_id).where(AuditEvent.action == "inspector.updated"))).scalars().all()
    assert updated == ["insp02"]  # the record as it is spelled everywhere else
    # An inspector reads their own record in any case, and still no one else's.
    await add_user(db, "insp01", "inspector")
    own = await login(client, "insp01")
    assert (await client.get("/api/v1/inspectors/Insp01", headers=own)).json()["username"] == "insp01"
    assert_error(await client.get("/api/v1/inspectors/INSP02", headers=own), 404)


async def test_an_import_refuses_rows_folding_onto_a_record_or_onto_each_other(client, chief):
    csv = ("username,name\n"
           "Insp01,陈静\n"     # row 2: insp01 exists
           "insp05,黄磊\n"     # row 3
           "INSP05,黄磊\n"     # row 4: row 3 in another case
           "insp02,刘洋\n"     # row 5: insp02 as stored, an update
           "insp01,陈静\n")    # row 6: insp01 as stored
    body = assert_error(await client.post("/api/v1/imports/inspectors", content=csv.encode(), headers=chief), 422, "IMPORT_INVALID")
    assert [(e["row"], e["column"]) for e in body["details"]] == [(2, "username"), (4, "username")]
    assert "'insp01'" in body["details"][0]["message"]
    assert "row 3" in body["details"][1]["message"] and "'insp05'" in body["details"][1]["message"]
    assert await names(client, chief) == ["insp01", "insp02"]  # all or nothing
    good = "username,name\ninsp01,陈静\ninsp05,黄磊\n"
    assert (await client.post("/api/v1/imports/inspectors", content=good.encode(), headers=chief)).status_code == 200
    assert await names(client, chief) == ["insp01", "insp02", "insp05"]


async def test_an_inspector_account_is_spelled_as_its_record(db, client):
    await seed_registry(db)
    await add_user(db, "admin", "admin")
    admin = await login(client, "admin")
    account = {"username": "Insp01", "role": "inspector", "password": "long enough"}
    body = assert_error(await client.post("/api/v1/users", json=account, headers=admin), 409, "ALREADY_EXISTS")
    assert body["details"] == {"username": "Insp01", "inspector_username": "insp01"} and "'insp01'" in body["message"]
    made = await client.post("/api/v1/users", json={**account, "username": "insp01"}, headers=admin)
    assert made.status_code == 201, made.text
    # Other roles are other people as far as the registry knows; becoming an inspector is checked.
    chief = await client.post("/api/v1/users", json={**account, "username": "Insp02", "role": "chief"}, headers=admin)
    assert chief.status_code == 201, chief.text
    body = assert_error(await client.patch("/api/v1/users/Insp02", json={"role": "inspector"}, headers=admin), 409, "ALREADY_EXISTS")
    assert body["details"] == {"username": "Insp02", "inspector_username": "insp02"}
    assert (await client.get("/api/v1/users/insp02", headers=admin)).json()["role"] == "chief"


async def test_a_record_is_spelled_as_its_inspector_account(db, client, chief):
    await add_user(db, "Insp09", "inspector")
    body = assert_error(await client.post("/api/v1/inspectors", json={"username": "insp09", "name": "周敏"}, headers=chief),
                        409, "ALREADY_EXISTS")
    assert body["details"] == {"username": "insp09", "account_username": "Insp09"}
    imported = await client.post("/api/v1/imports/inspectors", content="username,name\ninsp09,周敏\n".encode(), headers=chief)
    details = assert_error(imported, 422, "IMPORT_INVALID")["details"]
    assert [(e["row"], e["column"]) for e in details] == [(2, "username")] and "'Insp09'" in details[0]["message"]
    assert await names(client, chief) == ["insp01", "insp02"]
    made = await client.post("/api/v1/inspectors", json={"username": "Insp09", "name": "周敏"}, headers=chief)
    assert made.status_code == 201, made.text


async def test_the_database_keeps_one_record_per_folded_name(db):
    await seed_registry(db)
    async with db() as session:
        # Any insert gets the key from the name, even one that does not give it.
        assert (await session.execute(select(Inspector.username_key).where(Inspector.username == "insp01"))).scalar_one() == "insp01"
    for row in ({"username": "INSP01"}, {"username": "INSP02", "username_key": "insp02"}):
        with pytest.raises(IntegrityError):
            async with db() as session:
                await session.execute(insert(Inspector).values(name="x", qualifications=[], active=True, **row))
                await session.commit()


async def test_two_creations_of_one_record_at_once_leave_one(db):
    """Both pass the check before either is committed; the key refuses the second, and the
    refusal is the usual 409, not the generic CONFLICT."""
    async with db() as first, db() as second:
        await registry.create(first, registry.INSPECTORS, InspectorCreate(username="WangFang", name="王芳"))
        racing = asyncio.create_task(registry.create(second, registry.INSPECTORS, InspectorCreate(username="wangfang", name="王芳")))
        await asyncio.sleep(0.5)  # the second has checked and waits for the first's write
        await first.commit()
        with pytest.raises(Conflict) as refused:
            await racing
        assert refused.value.code == "ALREADY_EXISTS"
        await second.rollback()
    async with db() as session:
        assert (await session.execute(select(Inspector.username).where(Inspector.username_key == "wangfang"))).scalars().all() == ["WangFang"]


async def test_a_conflict_is_declared_for_the_record_whatever_the_case_typed(db, client, chief):
    unit = (await client.get("/api/v1/units", headers=chief)).json()["items"][0]["code"]
    made = await client.post("/api/v1/conflicts", json={"inspector": "INSP01", "unit_code": unit, "reason": "亲属"},
                             headers=chief)
    assert made.status_code == 201, made.text
    assert made.json()["inspector"] == "insp01"  # as the draw compares it
    again = await client.post("/api/v1/conflicts", json={"inspector": "Insp01", "unit_code": unit, "reason": "亲属"},
                              headers=chief)
    assert_error(again, 409, "ALREADY_EXISTS")
    listed = (await client.get("/api/v1/conflicts?inspector=INSP01", headers=chief)).json()
    assert [c["inspector"] for c in listed["items"]] == ["insp01"]
    await add_user(db, "insp01", "inspector")
    own = await login(client, "insp01")
    second = (await client.get("/api/v1/units", headers=chief)).json()["items"][1]["code"]
    mine = await client.post("/api/v1/conflicts", json={"inspector": "INSP01", "unit_code": second, "reason": "曾任职"},
                             headers=own)
    assert mine.status_code == 201 and mine.json()["inspector"] == "insp01"
    assert_error(await client.post("/api/v1/conflicts", json={"inspector": "INSP02", "unit_code": second, "reason": "x"},
                                   headers=own), 403, "FORBIDDEN")
