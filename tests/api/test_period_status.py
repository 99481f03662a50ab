"""Periods open -> locked -> published, reopened by an admin with a reason: a locked period
refuses every write that would change its scores, publishing makes its draws public."""

from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy import select, update

from api.db import make_engine
from api.models_draws import Task
from api.models_review import PeriodTransition
from api.models_scoring import Period
from tests.support.api import add_user, assert_error, login
from tests.support.field import field_setup, finding_body

PERIOD = "2026-H2"
VISIT_RULE = "inspection.window_conduct"
MEASUREMENT = {"unit_code": "DG-HUMEN", "metric": "mystery_shopping_stars", "value": 4, "source": "暗访系统"}


@pytest.fixture
async def field(app, db, client):
    return await field_setup(app, db, client)


@pytest.fixture
async def admin(db, client):
    await add_user(db, "admin", "admin")
    return await login(client, "admin")


async def _post(client, action, headers, **body):
    kwargs = {"json": body} if body else {}
    return await client.post(f"/api/v1/periods/{PERIOD}/{action}", headers=headers, **kwargs)


async def test_lock_refuses_every_write_until_an_admin_reopens(db, client, field, admin):
    task = field.task("field_visit")
    me = field.member(task)
    before = await client.post("/api/v1/findings", json=finding_body(task, VISIT_RULE), headers=me)
    assert before.status_code == 201, before.text
    locked = await _post(client, "lock", field.chief)
    assert locked.status_code == 200 and locked.json()["status"] == "locked"
    assert_error(await _post(client, "lock", field.chief), 409, "CONFLICT")

    refused = [
        await client.post("/api/v1/findings", json=finding_body(task, VISIT_RULE), headers=me),
        # The period's lock is checked before the rule, as the finding is written.
        await client.post("/api/v1/findings", json=finding_body(task, "no.such.rule"), headers=me),
        await client.patch(f"/api/v1/findings/{before.json()['id']}", json={"count": 2}, headers=me),
        await client.put(f"/api/v1/periods/{PERIOD}/measurements", json=MEASUREMENT, headers=field.chief),
        await client.post(f"/api/v1/periods/{PERIOD}/measurements/import",
                          content="unit_code,metric,value,source\nDG-HUMEN,mystery_shopping_stars,4,s\n".encode(),
                          headers=field.chief),
    ]
    # Nor does it take new plans, or draws of plans made before the lock.
    draft = await client.post("/api/v1/plans", headers=field.chief, json={
        "name": "锁定后补抽", "params": field.plan["params"], "due_from": "2026-11-01", "due_to": "2026-12-31"})
    assert draft.status_code == 201, draft.text
    refused += [
        await client.post("/api/v1/plans", headers=field.chief, json={
            "name": "锁定后", "params": field.plan["params"], "due_from": "2026-11-01", "due_to": "2026-12-31", "period": PERIOD}),
        await client.patch(f"/api/v1/plans/{draft.json()['id']}", json={"period": PERIOD}, headers=field.chief),
    ]
    for response in refused:
        assert_error(response, 409, "PERIOD_LOCKED")
    assert (await client.get(f"/api/v1/findings/{before.json()['id']}", headers=field.chief)).json()["count"] == 1

    assert_error(await _post(client, "reopen", field.chief, reason="补录"), 403, "FORBIDDEN")
    assert_error(await _post(client, "reopen", admin), 422, "VALIDATION_ERROR")
    assert_error(await _post(client, "reopen", admin, reason=""), 422, "VALIDATION_ERROR")
    assert_error(await _post(client, "reopen", admin, reason="a\x00b"), 422, "VALIDATION_ERROR")
    reopened = await _post(client, "reopen", admin, reason="复核发现漏录一项")
    assert reopened.status_code == 200 and reopened.json()["status"] == "open"
    assert_error(await _post(client, "reopen", admin, reason="again"), 409, "CONFLICT")
    assert (await client.put(f"/api/v1/periods/{PERIOD}/measurements", json=MEASUREMENT, headers=field.chief)).status_code == 200
    async with db() as session:
        rows = (await session.execute(select(PeriodTransition).order_by(PeriodTransition.id))).scalars().all()
    assert [(r.from_status, r.to_status, r.actor, r.reason) for r in rows] == [
        ("open", "locked", "chief", None), ("locked", "open", "admin", "复核发现漏录一项")]


async def test_publish_only_from_locked_and_it_publishes_the_period_draws(db, client, field, admin):
    await add_user(db, "hm", "unit", "DG-HUMEN")
    unit = await login(client, "hm")
    draw_id = (await client.get("/api/v1/draws", headers=field.chief)).json()["items"][0]["id"]
    assert_error(await client.get(f"/api/v1/draws/{draw_id}", headers=unit), 404)
    assert_error(await _post(client, "publish", field.chief), 409, "CONFLICT")
    assert (await _post(client, "lock", admin)).status_code == 200
    # Its draw's record names every unit and team: not while an unannounced visit is to come.
    refused = assert_error(await _post(client, "publish", field.chief), 409, "VISITS_PENDING")
    assert list(refused["details"]["draws"]) == [draw_id]
    assert (await client.get(f"/api/v1/periods/{PERIOD}", headers=unit)).json()["status"] == "locked"
    async with db() as session:
        await session.execute(update(Task).where(Task.unannounced.is_(True)).values(status="submitted"))
        await session.commit()
    published = await _post(client, "publish", field.chief)
    assert published.status_code == 200 and published.json()["status"] == "published"
    assert (await client.get(f"/api/v1/periods/{PERIOD}", headers=unit)).json()["status"] == "published"
    record = await client.get(f"/api/v1/draws/{draw_id}", headers=unit)
    assert record.status_code == 200 and record.json()["draw"]["published_at"]
    events = (await client.get("/api/v1/audit", params={"action": "draw.published"}, headers=admin)).json()["items"]
    assert [(e["object_id"], e["actor"], e["before"]) for e in events] == [(draw_id, "chief", {"published_at": None})]
    assert (await client.get("/api/v1/draws", headers=unit)).json()["total"] == 1
    assert (await client.get(f"/api/v1/draws/{draw_id}/inputs", headers=unit)).status_code == 200
    task = field.task("file_review")  # announced: still open
    assert_error(await client.post("/api/v1/findings", json=finding_body(task, VISIT_RULE), headers=field.member(task)),
                 409, "PERIOD_LOCKED")
    assert_error(await _post(client, "lock", field.chief), 409, "CONFLICT")
    # Reopening a published period keeps what was made public.
    assert (await _post(client, "reopen", admin, reason="更正")).json()["status"] == "open"
    assert (await client.get(f"/api/v1/draws/{draw_id}", headers=unit)).status_code == 200


async def test_status_changes_by_role_and_unknown_period(db, client, field, admin):
    await add_user(db, "hm", "unit", "DG-HUMEN")
    unit = await login(client, "hm")
    inspector = next(iter(field.inspectors.values()))
    for headers in (unit, inspector):
        for action in ("lock", "publish"):
            assert_error(await _post(client, action, headers), 403, "FORBIDDEN")
        assert_error(await _post(client, "reopen", headers, reason="x"), 403, "FORBIDDEN")
    assert (await client.get(f"/api/v1/periods/{PERIOD}", headers=field.chief)).json()["status"] == "open"
    assert_error(await client.post("/api/v1/periods/nope/lock", headers=field.chief), 404, "NOT_FOUND")
    assert_error(await client.post("/api/v1/periods/nope/reopen", json={"reason": "x"}, headers=admin), 404, "NOT_FOUND")
    assert_error(await _post(client, "reopen", admin, reason="x", extra=1), 422, "VALIDATION_ERROR")


async def test_a_finding_racing_the_lock_of_its_period_waits_and_is_refused(settings, db, client, field):
    """A period being locked in another transaction: the field writer's batch waits for it and
    sees the lock, instead of writing into a period that has just been locked (or failing)."""
    task = field.task("field_visit")
    holding, release = threading.Event(), threading.Event()

    async def lock_elsewhere() -> None:
        # Another process's transaction, on its own connection: holds the period row
        # (PostgreSQL) or the write lock (SQLite) until released.
        engine = make_engine(settings.effective_database_url)
        try:
            async with engine.begin() as connection:
                await connection.execute(update(Period).where(Period.code == PERIOD).values(status="locked"))
                holding.set()
                await asyncio.get_running_loop().run_in_executor(None, release.wait, 30)
        finally:
            await engine.dispose()

    locker = threading.Thread(target=asyncio.run, args=(lock_elsewhere(),))
    locker.start()
    try:
        assert holding.wait(30)
        threading.Timer(1.0, release.set).start()  # the test client blocks this thread meanwhile
        answer = await client.post("/api/v1/findings", json=finding_body(task, VISIT_RULE), headers=field.member(task))
    finally:
        release.set()
        locker.join(30)
    assert_error(answer, 409, "PERIOD_LOCKED")


async def test_a_locked_period_keeps_its_units_whatever_the_registry_does(db, client, field, admin):
    async def board() -> set[str]:
        r = await client.get(f"/api/v1/leaderboard?period={PERIOD}&basis=provisional", headers=field.chief)
        assert r.status_code == 200, r.text
        return {row["unit_code"] for row in r.json()["items"]}

    assessed = await board()
    assert "DG-CHANGAN" in assessed
    assert (await _post(client, "lock", field.chief)).status_code == 200
    # An office becomes an entity, a new office appears: the registry moves on, the period does not.
    moved = "code,name,kind,parent_code\nDG-CHANGAN,长安分局,entity,DG\nDG-NEW,新设分局,office,DG\n"
    assert (await client.post("/api/v1/imports/units", content=moved.encode(), headers=admin)).status_code == 200
    assert await board() == assessed
    assert (await client.get(f"/api/v1/units/DG-CHANGAN/scores?period={PERIOD}&basis=provisional",
                             headers=field.chief)).status_code == 200
    # Reopened, the period assesses the registry as it is now.
    assert (await _post(client, "reopen", admin, reason="登记信息变更")).status_code == 200
    assert await board() == assessed - {"DG-CHANGAN"} | {"DG-NEW"}
