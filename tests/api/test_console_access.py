"""The console checks permissions as the API does: each page per role (chief, admin,
inspector, the unit, another unit, nobody), sessions that end with the API's tokens, CSRF on
every form (and never on the JSON API), and no unannounced visit ever shown to a unit."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from api.headers import CONSOLE_POLICY
from api.models_scoring import Deduction
from tests.support.api import PASSWORD, add_users_with_tokens, login
from tests.support.console import console_login, csrf, load_console_demo, post_form, sign_in

pytestmark = pytest.mark.db

ROLES = ("chief", "admin", "insp01", "unit-humen", "unit-changan", None)


async def test_every_page_checks_the_role_like_the_api(client, db, settings):
    demo = await load_console_demo(db, settings)
    chief = await login(client, "chief")
    plan = (await client.get("/api/v1/plans", headers=chief)).json()["items"][0]["id"]
    # path -> status for chief, admin, inspector, the unit, another unit; nobody: to the login.
    matrix = {
        "/console/review": (200, 403, 403, 403, 403),
        f"/console/review/{demo.flagged}": (200, 403, 403, 403, 403),
        "/console/plans": (200, 200, 403, 403, 403),
        f"/console/plans/{plan}": (200, 200, 403, 403, 403),
        "/console/appeals": (200, 200, 403, 303, 303),  # a unit's appeals are on its own page
        # Inspectors see scores once the period is published (tests/api/test_permissions.py);
        # before, their start page says so (below).
        "/console/leaderboard": (200, 200, 200, 200, 200),
        "/console/units/DG-HUMEN": (200, 200, 403, 200, 404),
        "/console/units/DG-HUMEN?basis=provisional": (200, 200, 403, 403, 404),
        "/console/my": (403, 403, 403, 200, 200),
        f"/console/evidence/{demo.reused}/thumbnail": (200, 200, 404, 404, 404),
        f"/console/evidence/{demo.original}/original": (200, 200, 200, 404, 404),  # insp01 filed it
    }
    for user in ROLES:
        await sign_in(client, db, user)
        for path, expected in matrix.items():
            answer = await client.get(path, follow_redirects=False)
            if user is None:  # to the login page, which leads back here
                assert answer.status_code == 303, (path, answer.status_code)
                assert answer.headers["location"].startswith("/console/login?next=%2Fconsole%2F"), path
                continue
            status = expected[ROLES.index(user)]
            assert answer.status_code == status, (path, user, answer.status_code, answer.text[:300])
            if path == "/console/leaderboard" and ROLES.index(user) == 2:  # the inspector: told why, shown nothing
                assert "data-notice" in answer.text and 'data-unit="' not in answer.text
            if status in (403, 404) and "/evidence/" not in path:
                assert "<html" in answer.text and answer.headers["content-type"].startswith("text/html")
    # Forms too: only the roles the API lets do it get past the guard (nothing is decided here:
    # the drawn plan refuses a second draw, the rest lack their fields).
    posts = {
        f"/console/review/{demo.flagged}/decision": ("chief",),
        "/console/review/bulk": ("chief",),
        f"/console/appeals/{uuid.uuid4()}/decision": ("chief",),
        f"/console/plans/{plan}/draw": ("chief", "admin"),
        f"/console/my/deductions/{demo.flagged}/appeal": ("unit-humen", "unit-changan"),
    }
    for user in ROLES:
        await sign_in(client, db, user)
        for path, allowed in posts.items():
            answer = await post_form(client, path, {})
            if user is None:
                assert answer.status_code == 303 and answer.headers["location"].startswith("/console/login"), path
            elif user in allowed:  # refused by the service, shown on the page it came from
                assert answer.status_code == 303 and not answer.headers["location"].startswith("/console/login"), (path, user)
            else:
                assert answer.status_code == 403, (path, user, answer.status_code)
    async with db() as session:
        assert (await session.get(Deduction, demo.flagged)).status == "proposed"
    # A unit's leaderboard is its own row (its rank among all), as in the API.
    await sign_in(client, db, "unit-humen")
    board = (await client.get("/console/leaderboard")).text
    assert board.count('data-unit="') == 1 and 'data-unit="DG-HUMEN"' in board
    await sign_in(client, db, "chief")
    assert (await client.get("/console/leaderboard")).text.count('data-unit="') == 33
    # Paths the console does not have, or a method it does not take there: its own error
    # page, not the API's JSON (those are answered before the console's router).
    await sign_in(client, db, "chief")
    for path, method, status in (("/console/nonexistent", "GET", 404), ("/console/review/not-a-uuid", "GET", 404),
                                 (f"/console/review/{demo.flagged}/decision", "GET", 405)):
        answer = await client.request(method, path, follow_redirects=False)
        assert answer.status_code == status and answer.headers["content-type"].startswith("text/html"), (path, answer.text[:200])
        assert 'class="card error-page"' in answer.text
    assert (await client.get("/api/v1/nonexistent")).headers["content-type"] == "application/json"


async def test_units_never_see_an_unannounced_visit_before_it_is_done(client, db, settings):
    await load_console_demo(db, settings)
    chief = await login(client, "chief")
    offices = {"units": {"filter": {"kind": ["office"], "parent_code": ["DG"]}, "rules": [{"size": 33}]},
               "case_files": None, "assignment": {"task_kinds": ["field_visit"], "team_size": 1}}
    today = date.today()
    tasks = {}
    for name, unannounced in (("突击夜查（测试）", True), ("例行检查（测试）", False)):
        body = {"name": name, "params": offices, "unannounced": unannounced, "due_from": today.isoformat(),
                "due_to": (today + timedelta(days=30)).isoformat()}
        plan = (await client.post("/api/v1/plans", json=body, headers=chief)).json()
        assert (await client.post(f"/api/v1/plans/{plan['id']}/draw", json={"seed": name}, headers=chief)).status_code == 201
        listed = (await client.get(f"/api/v1/tasks?plan_id={plan['id']}&unit_code=DG-HUMEN", headers=chief)).json()["items"]
        tasks[unannounced] = listed[0]
    secret, announced = tasks[True], tasks[False]
    await sign_in(client, db, "unit-humen")
    pages = ["/console/my", "/console/leaderboard", "/console/units/DG-HUMEN", "/console/appeals"]

    async def shown() -> str:
        return "".join([(await client.get(p, follow_redirects=True)).text for p in pages])

    text = await shown()
    assert announced["id"] in text
    assert secret["id"] not in text and secret["plan_id"] not in text and "突击夜查" not in text
    assert (await client.get(f"/console/plans/{secret['plan_id']}", follow_redirects=False)).status_code == 403
    # Once the visit is done (submitted), the unit may know of it.
    member = secret["team"][0]
    if member in ("insp01", "insp02"):  # the demo's inspector accounts
        inspector = await login(client, member)
    else:
        inspector = (await add_users_with_tokens(client.app, db, [member], "inspector"))[member]
    assert (await client.post(f"/api/v1/tasks/{secret['id']}/submit", headers=inspector)).status_code == 200
    assert secret["id"] in await shown()


async def test_login_lockout_redirects_and_logout(client, db, settings):
    await load_console_demo(db, settings)
    page = await client.get("/console/login?next=https://evil.example/x")
    assert 'name="next" value="/console"' in page.text  # only this console's own paths
    for _ in range(settings.login_max_failures):
        bad = await post_form(client, "/console/login", {"username": "chief", "password": "wrong-password"})
        assert bad.status_code == 401 and "用户名或密码错误" in bad.text
    locked = await post_form(client, "/console/login", {"username": "chief", "password": PASSWORD})
    assert locked.status_code == 429 and "秒后再试" in locked.text  # the API's lockout
    assert "spotcheck_console" not in locked.headers.get("set-cookie", "")
    ok = await post_form(client, "/console/login", {"username": "chief2", "password": PASSWORD, "next": "/console/appeals"})
    assert ok.status_code == 303 and ok.headers["location"] == "/console/appeals"
    cookie = ok.headers["set-cookie"]
    assert "spotcheck_console=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/console" in cookie
    # Logging out revokes the user's tokens, as POST /api/v1/auth/logout: session and bearer alike.
    bearer = await login(client, "chief2")
    await console_login(client, "chief2", PASSWORD)
    session = client.cookies.get("spotcheck_console")
    assert (await client.get("/console/appeals", follow_redirects=False)).status_code == 200
    out = await post_form(client, "/console/logout", {})
    assert out.status_code == 303 and out.headers["location"] == "/console/login"
    replay = await client.get("/console/appeals", headers={"Cookie": f"spotcheck_console={session}"}, follow_redirects=False)
    assert replay.status_code == 303 and replay.headers["location"].startswith("/console/login")
    assert (await client.get("/api/v1/me", headers=bearer)).status_code == 401
    # A form sent once the session is gone: after the login, back to the page it came from
    # (its own action is POST only), not to a 405.
    client.cookies.set("spotcheck_console", session, path="/console")
    decision = f"/console/review/{uuid.uuid4()}/decision"
    late = await client.post(decision, data={"_csrf_token": await csrf(client), "action": "confirm"},
                             headers={"Referer": "http://testserver.local/console/review?basis=confirmed"}, follow_redirects=False)
    assert late.status_code == 303 and late.headers["location"] == "/console/login?next=%2Fconsole%2Freview%3Fbasis%3Dconfirmed"


async def test_forms_need_the_csrf_token_and_the_api_never_does(client, db, settings):
    demo = await load_console_demo(db, settings)
    await sign_in(client, db, "chief")
    target = f"/console/review/{demo.proposed[0]}/decision"
    forged = await client.post(target, data={"action": "confirm"}, follow_redirects=False)
    assert forged.status_code == 403 and "<html" in forged.text
    queue = await client.get("/console/review")  # sets the CSRF cookie; never framed (clickjacking)
    assert queue.headers["content-security-policy"] == CONSOLE_POLICY and queue.headers["x-frame-options"] == "DENY"
    assert queue.headers["referrer-policy"] == "same-origin"
    wrong = await client.post(target, data={"action": "confirm", "_csrf_token": "0" * 128}, follow_redirects=False)
    assert wrong.status_code == 403
    # The JSON API takes bearer tokens and never a CSRF token; the console's cookie is no credential there.
    assert (await client.get("/api/v1/me")).status_code == 401
    bearer = await login(client, "chief")
    decided = await client.post(f"/api/v1/deductions/{demo.proposed[0]}/decision", json={"action": "confirm"}, headers=bearer)
    assert decided.status_code == 200, decided.text
    assert "spotcheck_presession" not in decided.headers.get("set-cookie", "")
    # Nobody signed in, with a valid CSRF token: to the login page, nothing decided.
    client.cookies.delete("spotcheck_console")
    anonymous = await post_form(client, f"/console/review/{demo.proposed[1]}/decision", {"action": "confirm"})
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/console/login")
    await sign_in(client, db, "chief")
    assert 'id="d-{}"'.format(demo.proposed[1]) in (await client.get("/console/review")).text
    # The console stays out of the API's OpenAPI document (the fuzzer reads it).
    schema = (await client.get("/schema/openapi.json")).json()
    assert schema["paths"] and not [p for p in schema["paths"] if p.startswith("/console")]
