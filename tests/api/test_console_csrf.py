"""The console's CSRF tokens are bound to the session they were issued for (api.console.csrf):
a token taken from one session, from before a logout or from the login form is refused in
any other, with the console's usual refusal (403, "the page expired"), and nothing is done."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from sqlalchemy import select

from api.models_scoring import Deduction
from tests.support.api import PASSWORD
from tests.support.console import CSRF_FIELD, console_login, csrf, load_console_demo, post_form, sign_in

pytestmark = pytest.mark.db

EXPIRED = "页面已过期，请刷新后重试。"  # the console's page for a refused CSRF token


async def status_of(db, deduction: uuid.UUID) -> str:
    async with db() as session:
        return (await session.execute(select(Deduction.status).where(Deduction.id == deduction))).scalar_one()


def refused(answer: httpx.Response) -> bool:
    return answer.status_code == 403 and EXPIRED in answer.text and "FORBIDDEN" in answer.text


async def test_a_token_works_only_in_the_session_it_was_made_for(client, db, settings):
    demo = await load_console_demo(db, settings)
    target = f"/console/review/{demo.proposed[0]}/decision"
    await console_login(client, "chief", PASSWORD)
    first = await csrf(client)
    first_jar = httpx.Cookies(client.cookies)
    # Another user's session (an attacker's own, say), and another login of the same user,
    # each in a browser that otherwise holds every cookie of the first one.
    for username in ("chief2", "chief"):
        await console_login(client, username, PASSWORD)
        other = client.cookies.get("spotcheck_console")
        assert other and other != first_jar.get("spotcheck_console")
        client.cookies = httpx.Cookies(first_jar)
        client.cookies.delete("spotcheck_console")
        client.cookies.set("spotcheck_console", other, path="/console")
        own = await csrf(client)
        assert own != first
        answer = await client.post(target, data={"_csrf_token": first, "action": "confirm"}, follow_redirects=False)
        assert refused(answer), answer.text
        assert await status_of(db, demo.proposed[0]) == "proposed"
    # Each token still works in its own session.
    client.cookies = httpx.Cookies(first_jar)
    decided = await client.post(target, data={"_csrf_token": first, "action": "confirm"}, follow_redirects=False)
    assert decided.status_code == 303, decided.text
    assert await status_of(db, demo.proposed[0]) == "confirmed"
    await console_login(client, "chief2", PASSWORD)
    second = await post_form(client, f"/console/review/{demo.proposed[1]}/decision", {"action": "confirm"})
    assert second.status_code == 303 and await status_of(db, demo.proposed[1]) == "confirmed"


async def test_a_token_from_before_logout_is_refused_after_logging_in_again(client, db, settings):
    demo = await load_console_demo(db, settings)
    target = f"/console/review/{demo.proposed[0]}/decision"
    await console_login(client, "chief", PASSWORD)
    before = await csrf(client)
    out = await post_form(client, "/console/logout", {})
    assert out.status_code == 303 and out.headers["location"] == "/console/login"
    # Signed out: the old token opens neither a form nor the login.
    login_page = await client.get("/console/login")
    assert before not in login_page.text
    again = await client.post("/console/login", data={"_csrf_token": before, "username": "chief", "password": PASSWORD},
                              follow_redirects=False)
    assert refused(again) and "spotcheck_console=" not in again.headers.get("set-cookie", "")
    # Signed in again, as the same user or another: refused, nothing decided.
    for username in ("chief", "chief2"):
        await console_login(client, username, PASSWORD)
        answer = await client.post(target, data={"_csrf_token": before, "action": "confirm"}, follow_redirects=False)
        assert refused(answer), answer.text
        assert await status_of(db, demo.proposed[0]) == "proposed"
    assert (await post_form(client, target, {"action": "confirm"})).status_code == 303
    assert await status_of(db, demo.proposed[0]) == "confirmed"


async def test_the_login_form_token_is_bound_to_its_browser_and_dies_with_the_login(client, db, settings):
    demo = await load_console_demo(db, settings)
    # An attacker's login-form token, sent from the victim's browser (login CSRF): refused.
    attacker = CSRF_FIELD.search((await client.get("/console/login")).text)
    assert attacker is not None
    client.cookies.clear()
    victim = CSRF_FIELD.search((await client.get("/console/login")).text)
    assert victim is not None and victim.group(1) != attacker.group(1)
    forced = await client.post("/console/login", data={"_csrf_token": attacker.group(1), "username": "chief",
                                                       "password": PASSWORD}, follow_redirects=False)
    assert refused(forced) and "spotcheck_console=" not in forced.headers.get("set-cookie", "")
    # No cookie at all: nothing to bind a token to.
    client.cookies.clear()
    bare = await client.post("/console/login", data={"_csrf_token": victim.group(1), "username": "chief",
                                                     "password": PASSWORD}, follow_redirects=False)
    assert refused(bare)
    # The login issues a new session cookie, never keeping one the browser brought (fixation).
    await sign_in(client, db, "chief2")
    brought = client.cookies.get("spotcheck_console")
    answer = await client.post("/console/login", data={"_csrf_token": await csrf(client), "username": "chief",
                                                       "password": PASSWORD}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    issued = re.search(r"spotcheck_console=([^;]+)", answer.headers["set-cookie"])
    assert issued is not None and issued.group(1) != brought
    # The login form's token dies with the login: its nonce is dropped, and a later visit
    # gets a new one.
    client.cookies.clear()
    form_token = await csrf(client)
    assert (await post_form(client, "/console/login", {"username": "chief", "password": PASSWORD})).status_code == 303
    assert client.cookies.get("spotcheck_presession") is None
    target = f"/console/review/{demo.proposed[0]}/decision"
    stale = await client.post(target, data={"_csrf_token": form_token, "action": "confirm"}, follow_redirects=False)
    assert refused(stale) and await status_of(db, demo.proposed[0]) == "proposed"
    assert (await post_form(client, "/console/logout", {})).status_code == 303
    fresh = await csrf(client)
    assert fresh != form_token
    replay = await client.post("/console/login", data={"_csrf_token": form_token, "username": "chief",
                                                       "password": PASSWORD}, follow_redirects=False)
    assert refused(replay)
