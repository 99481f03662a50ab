"""Security against a real two-worker server: the login lockout holds under a concurrent
burst spread over both workers, revocation reaches every worker, and neither answers nor
logs ever carry a secret, a password, a token or a stack trace."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from tests.conftest import BACKENDS, POSTGRES_URL
from tests.evidence.images import encode, scene
from tests.support.server import LiveServer, live_server

SECRET = "live-secret-key-never-to-be-seen-0123456789abcdef"
MAX_FAILURES = 5
ENV = {"SPOTCHECK_SECRET_KEY": SECRET, "SPOTCHECK_LOG_LEVEL": "INFO", "SPOTCHECK_EVIDENCE_WORKERS": "1",
       # Revocation is checked on every request here; the default trusts a check for 5 s.
       "SPOTCHECK_AUTH_CACHE_SECONDS": "0", "SPOTCHECK_LOGIN_MAX_FAILURES": str(MAX_FAILURES)}


@pytest.fixture(scope="module", params=BACKENDS)
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(request.param, tmp_path_factory.mktemp("security"), postgres_url=POSTGRES_URL, name="security", extra_env=ENV) as server:
        yield server


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_user(live: LiveServer, name: str, role: str = "chief") -> str:
    password = f"pw-{name}-0123456789"
    admin = bearer(live.token("admin"))
    r = httpx.post(f"{live.url}/api/v1/users", headers=admin, json={"username": name, "role": role, "password": password})
    assert r.status_code == 201, r.text
    return password


async def fresh_connections(live: LiveServer, requests: list[dict]) -> list[httpx.Response]:
    """Each request on its own connection, all at once: both workers take a share."""

    async def one(kwargs: dict) -> httpx.Response:
        async with httpx.AsyncClient(base_url=live.url, timeout=60) as client:
            return await client.request(**kwargs)

    return await asyncio.gather(*(one(kwargs) for kwargs in requests))


def test_a_concurrent_burst_of_guesses_gets_exactly_the_allowed_tries(live):
    password = new_user(live, "target")
    guesses = [{"method": "POST", "url": "/api/v1/auth/token", "json": {"username": "target", "password": f"guess-{i}"}}
               for i in range(30)]
    answers = asyncio.run(fresh_connections(live, guesses))
    assert Counter(r.status_code for r in answers) == {401: MAX_FAILURES, 429: 30 - MAX_FAILURES}
    locked = httpx.post(f"{live.url}/api/v1/auth/token", json={"username": "target", "password": password})
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
    # Other names are untouched by the lock.
    assert httpx.post(f"{live.url}/api/v1/auth/token", json={"username": live.accounts["chief"][0],
                                                              "password": live.accounts["chief"][1]}).status_code == 200


def test_logout_revokes_the_token_on_every_worker(live):
    password = new_user(live, "leaver")
    token = httpx.post(f"{live.url}/api/v1/auth/token", json={"username": "leaver", "password": password}).json()["access_token"]
    before = asyncio.run(fresh_connections(live, [{"method": "GET", "url": "/api/v1/me", "headers": bearer(token)}] * 10))
    assert {r.status_code for r in before} == {200}
    assert httpx.post(f"{live.url}/api/v1/auth/logout", headers=bearer(token)).status_code == 204
    after = asyncio.run(fresh_connections(live, [{"method": "GET", "url": "/api/v1/me", "headers": bearer(token)}] * 20))
    assert {r.status_code for r in after} == {401}


def test_no_secret_password_token_or_trace_in_answers_or_logs(live):
    password = new_user(live, "careful")
    login = httpx.post(f"{live.url}/api/v1/auth/token", json={"username": "careful", "password": password})
    token = login.json()["access_token"]
    inspector = live.token("inspector")
    answers = [login]
    with httpx.Client(base_url=live.url, timeout=60) as http:
        answers.append(http.post("/api/v1/auth/token", json={"username": "careful", "password": password + "x"}))
        answers.append(http.post("/api/v1/auth/token", content=b'{"username": "careful", "password": ' + password.encode()))
        answers.append(http.get("/api/v1/me", headers=bearer(token + "tampered")))
        answers.append(http.get("/api/v1/units/NO-SUCH", headers=bearer(token)))
        answers.append(http.post("/api/v1/units", headers=bearer(token), json={"code": 1, "password": password}))
        answers.append(http.post("/api/v1/units", headers=bearer(token), content=b"x" * (2 * 1024 * 1024)))
        answers.append(http.get(f"/api/v1/units?q={password}", headers=bearer(token)))
        # A photo whose bytes the store lost (410, logged at ERROR).
        filed = http.post("/api/v1/evidence", content=encode(scene(3, (320, 240)), "JPEG"), headers=bearer(inspector)).json()
        sha = filed["sha256"]
        blob = Path(live.env["SPOTCHECK_DATA_DIR"]) / "evidence" / sha[:2] / sha[2:4] / sha
        blob.unlink()
        answers.append(http.get(f"/api/v1/evidence/{filed['id']}/original", headers=bearer(inspector)))
    assert [r.status_code for r in answers] == [200, 401, 400, 401, 404, 422, 413, 200, 410]
    for r in answers:
        assert r.headers["x-content-type-options"] == "nosniff" and r.headers["cache-control"]
    texts = [r.text for r in answers[1:]] + [live.log.read_text(errors="replace")]
    log = texts[-1]
    assert '"request_id"' in log and "/api/v1/units" in log  # the access log is really there
    for text in texts:
        for secret in (SECRET, password, token, inspector, live.accounts["admin"][1]):
            assert secret not in text
        assert "Traceback" not in text and 'File "' not in text
