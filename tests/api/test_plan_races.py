"""Plans and draws at the same moment: a plan is drawn as it stands, and once.

The test client of the other tests serves one request at a time; here the app runs on the
test's own event loop behind httpx's ASGI transport, so requests sent together with
asyncio.gather really are in flight together. Each case repeats, since a lost update shows
only when the requests interleave."""

from __future__ import annotations

import asyncio
from typing import AsyncIterator

import httpx
import pytest
from litestar import Litestar

from tests.support.api import add_user, assert_error, login, seed_demo_registry

ROUNDS = 10
SMALL = {"units": {"filter": {"kind": ["entity"]}, "rules": [{"size": 2}]}, "case_files": None,
         "assignment": {"task_kinds": ["field_visit"], "team_size": 2}}
EDIT = {"params": {**SMALL, "units": {**SMALL["units"], "rules": [{"size": 3}]}}, "due_to": "2026-12-15"}


@pytest.fixture
async def client(app: Litestar, db) -> AsyncIterator[httpx.AsyncClient]:
    async with app.lifespan():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            client.app = app  # type: ignore[attr-defined]  # as the test client has it, for login()
            yield client


@pytest.fixture
async def chief(db, client) -> dict[str, str]:
    await seed_demo_registry(db)
    await add_user(db, "chief", "chief")
    return await login(client, "chief")  # type: ignore[arg-type]


async def new_plan(client: httpx.AsyncClient, chief: dict[str, str]) -> str:
    body = {"name": "并发抽查", "params": SMALL, "due_from": "2026-11-23", "due_to": "2026-12-31"}
    r = await client.post("/api/v1/plans", json=body, headers=chief)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def draw(client: httpx.AsyncClient, chief: dict[str, str], plan_id: str):
    return client.post(f"/api/v1/plans/{plan_id}/draw", json={"seed": "314159"}, headers=chief)


async def test_an_edit_and_a_draw_at_once_one_wins_and_the_plan_says_what_was_drawn(client, chief):
    for _ in range(ROUNDS):
        plan_id = await new_plan(client, chief)
        drawn, edited = await asyncio.gather(draw(client, chief, plan_id),
                                             client.patch(f"/api/v1/plans/{plan_id}", json=EDIT, headers=chief))
        plan = (await client.get(f"/api/v1/plans/{plan_id}", headers=chief)).json()
        tasks = (await client.get(f"/api/v1/tasks?plan_id={plan_id}&limit=500", headers=chief)).json()
        assert plan["status"] == "drawn", drawn.text  # a draft plan always draws: the edit never stops it
        assert drawn.status_code == 201, drawn.text
        record = (await client.get(f"/api/v1/draws/{drawn.json()['id']}", headers=chief)).json()["record"]
        drawn_size = len(record["units"]["units"])
        if edited.status_code == 200:  # the edit came first: the draw used it
            assert drawn_size == 3 and {t["due_to"] for t in tasks["items"]} == {"2026-12-15"}
        else:  # the draw came first: the edit is refused and the plan says what was drawn
            assert_error(edited, 409, "PLAN_ALREADY_DRAWN")
            assert drawn_size == 2 and {t["due_to"] for t in tasks["items"]} == {"2026-12-31"}
        assert plan["params"]["units"]["rules"][0]["size"] == drawn_size == tasks["total"]
        assert {plan["due_to"]} == {t["due_to"] for t in tasks["items"]}


async def test_parallel_draws_of_one_plan_draw_it_once_and_the_others_are_told_why(client, chief):
    for _ in range(3):
        plan_id = await new_plan(client, chief)
        answers = await asyncio.gather(*(draw(client, chief, plan_id) for _ in range(6)))
        assert sorted(r.status_code for r in answers) == [201] + [409] * 5, [r.text for r in answers]
        for r in answers[1:] if answers[0].status_code == 201 else answers:
            if r.status_code == 409:
                assert_error(r, 409, "PLAN_ALREADY_DRAWN")
        tasks = (await client.get(f"/api/v1/tasks?plan_id={plan_id}&limit=500", headers=chief)).json()
        assert tasks["total"] == 2
