"""Security basics: headers on every answer, token expiry, lockout per name, body size limits
on every endpoint, and names that can never become paths."""

from __future__ import annotations

import asyncio
import base64
import logging
import re
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import jwt
import pytest
from litestar.routes import HTTPRoute

from api.app import create_app
from api.headers import API_POLICY
from api.settings import Settings
from tests.conftest import TEST_SECRET
from tests.support.api import PASSWORD, add_user, assert_error, auth, login, password_login, seed_registry
from tests.support.evidence import current_team, photo, stored_files, upload

LIMITS = {"max_body_bytes": 2048, "import_max_bytes": 4096, "evidence_max_bytes": 256 * 1024}
TUS = {"Tus-Resumable": "1.0.0"}


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(data_dir=str(tmp_path / "data"), database_url=database_url, secret_key=TEST_SECRET,
                    login_max_failures=3, login_lockout_seconds=30, evidence_workers=1, **LIMITS)


@pytest.fixture
async def people(db, client) -> dict[str, dict[str, str]]:
    await seed_registry(db)
    for name, role in (("admin", "admin"), ("chief", "chief"), ("insp01", "inspector")):
        await add_user(db, name, role)
    await add_user(db, "hm", "unit", unit_code="DG-HM")
    return {role: await login(client, name) for role, name in
            (("admin", "admin"), ("chief", "chief"), ("inspector", "insp01"), ("unit", "hm"))}


def assert_security_headers(response, *, policy: str = API_POLICY) -> None:
    headers = response.headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["content-security-policy"] == policy
    assert "frame-ancestors 'none'" in policy
    assert "strict-transport-security" not in headers  # development: plain HTTP


# --- headers ---------------------------------------------------------------------------


async def test_every_kind_of_answer_carries_the_security_headers(client, people, settings):
    admin = people["admin"]
    answers = {
        "ok": await client.get("/api/v1/me", headers=admin),
        "public": await client.get("/healthz"),
        "no token": await client.get("/api/v1/units"),
        "bad token": await client.get("/api/v1/units", headers=auth("x.y.z")),
        "forbidden": await client.get("/api/v1/users", headers=people["unit"]),
        "no route": await client.get("/api/v1/nothing-here", headers=admin),
        "no method": await client.delete("/api/v1/units", headers=admin),
        "too large": await client.post("/api/v1/units", content=b"x" * 5000, headers={**admin, "Content-Type": "application/json"}),
        "invalid": await client.post("/api/v1/units", json={"code": 1}, headers=admin),
        "malformed": await client.post("/api/v1/units", content=b"{", headers={**admin, "Content-Type": "application/json"}),
        "NUL": await client.get("/api/v1/units/%00", headers=admin),
        "locked": None,
    }
    for _ in range(3):
        await client.post("/api/v1/auth/token", json={"username": "nobody", "password": "x"})
    answers["locked"] = await client.post("/api/v1/auth/token", json={"username": "nobody", "password": "x"})
    assert answers["locked"].status_code == 429
    for name, response in answers.items():
        assert_security_headers(response)
        # Nothing that answers a request may be kept by a cache.
        assert response.headers["cache-control"] == "no-store", name
    schema = await client.get("/schema/openapi.json")
    assert_security_headers(schema)
    docs = await client.get("/schema/swagger")
    assert docs.status_code == 200 and "<html" in docs.text.lower()
    policy = docs.headers["content-security-policy"]
    assert_security_headers(docs, policy=policy)
    assert "frame-ancestors 'none'" in policy and "script-src" in policy and "'unsafe-eval'" not in policy


async def test_photos_keep_their_own_caching_and_get_the_headers(client, db, settings):
    team = await current_team(client, db)
    filed = (await upload(client, team.inspector("DG-CA"), photo(1), task_id=team.task("DG-CA"))).json()
    original = await client.get(f"/api/v1/evidence/{filed['id']}/original", headers=team.headers["chief"])
    assert original.status_code == 200 and original.headers["content-type"] == "image/jpeg"
    assert_security_headers(original)
    assert original.headers["cache-control"] == "private, no-cache"  # revalidated by ETag, each time re-checked
    # A record whose bytes the store lost: a 410 with the error shape, the headers, no trace.
    sha = filed["sha256"]
    next(Path(settings.data_dir, "evidence").glob(f"{sha[:2]}/{sha[2:4]}/{sha}")).unlink()
    lost = await client.get(f"/api/v1/evidence/{filed['id']}/original", headers=team.headers["chief"])
    body = assert_error(lost, 410, "EVIDENCE_BYTES_MISSING")
    assert_security_headers(lost)
    assert "Traceback" not in lost.text and "File \"" not in lost.text and TEST_SECRET not in lost.text
    assert str(settings.data_dir) not in body["message"]


@pytest.mark.parametrize(("env", "hsts", "expected"), [
    ("production", -1, "max-age=31536000; includeSubDomains"),
    ("development", 600, "max-age=600; includeSubDomains"),
    ("production", 0, None),
])
async def test_hsts_only_where_https_is_promised(database_url, tmp_path, env, hsts, expected):
    from litestar.testing import AsyncTestClient

    settings = Settings(env=env, data_dir=str(tmp_path), database_url=database_url, secret_key=TEST_SECRET, hsts_seconds=hsts)
    async with AsyncTestClient(app=create_app(settings)) as client:
        for response in (await client.get("/healthz"), await client.get("/api/v1/units")):
            assert response.headers.get("strict-transport-security") == expected


# --- tokens and logins -------------------------------------------------------------------


async def test_a_token_stops_working_when_it_expires_even_after_use(client, people):
    # Verified tokens are kept per worker (api.security.CachingJWTMiddleware); expiry must
    # still be checked on every request.
    claims = jwt.decode(people["chief"]["Authorization"][7:], TEST_SECRET, algorithms=["HS256"])
    expires = int(datetime.now(timezone.utc).timestamp()) + 2
    short = auth(jwt.encode({**claims, "exp": expires}, TEST_SECRET, algorithm="HS256"))
    assert (await client.get("/api/v1/me", headers=short)).status_code == 200
    await asyncio.sleep(max(0.0, expires - time.time()) + 1.1)
    assert_error(await client.get("/api/v1/me", headers=short), 401, "UNAUTHORIZED")
    assert (await client.get("/api/v1/me", headers=people["chief"])).status_code == 200


async def test_token_lifetime_follows_the_setting(database_url, tmp_path, db):
    from litestar.testing import AsyncTestClient

    await add_user(db, "chief", "chief")
    settings = Settings(data_dir=str(tmp_path), database_url=database_url, secret_key=TEST_SECRET, token_ttl_seconds=60)
    async with AsyncTestClient(app=create_app(settings)) as client:
        issued = (await client.post("/api/v1/auth/token", json={"username": "chief", "password": PASSWORD})).json()
    claims = jwt.decode(issued["access_token"], TEST_SECRET, algorithms=["HS256"])
    assert 55 <= claims["exp"] - time.time() <= 60


async def test_a_locked_name_does_not_lock_the_others(client, db):
    for name in ("chief", "admin"):
        await add_user(db, name, "chief")
    for _ in range(3):
        assert_error(await client.post("/api/v1/auth/token", json={"username": "chief", "password": "wrong"}), 401)
    assert_error(await client.post("/api/v1/auth/token", json={"username": "chief", "password": PASSWORD}), 429, "LOGIN_LOCKED")
    await password_login(client, "admin")  # another name, same client: unaffected
    # Two failures of admin's own, then a success: its count starts again from zero.
    for _ in range(2):
        assert_error(await client.post("/api/v1/auth/token", json={"username": "admin", "password": "wrong"}), 401)
    await password_login(client, "admin")
    for _ in range(2):
        assert_error(await client.post("/api/v1/auth/token", json={"username": "admin", "password": "wrong"}), 401)
    await password_login(client, "admin")


# --- body size limits --------------------------------------------------------------------

RAW_LIMITS = {"importRegistry": "import_max_bytes", "importMeasurements": "import_max_bytes",
              "uploadEvidence": "evidence_max_bytes", "uploadChunk": "evidence_max_bytes", "sync": "sync_max_body_bytes"}
"""Operations with a limit of their own (documented in README: imports, photos, sync batches);
every other operation takes at most SPOTCHECK_MAX_BODY_BYTES."""
NO_BODY = {"logout", "publishDraw", "withdrawConflict", "submitTask", "loadShippedCatalog", "loadShippedScheme",
           "lockPeriod", "publishPeriod", "recomputeEvidenceFlags", "deleteUpload", "createUpload"}
"""Write operations that never read a body: whatever is sent is not taken in."""


def write_operations(app) -> list[tuple[str, str, str, int]]:
    """(method, path, operation id, body limit) of every route that may carry a body."""
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            for method in sorted(set(handler.http_methods) & {"POST", "PUT", "PATCH", "DELETE"}):
                # Console forms have no operation id (they are not in the API schema): their path.
                found.append((method, route.path, handler.operation_id or f"{method} {route.path}",
                              handler.resolve_request_max_body_size()))
    return found


def concrete(operation: str, path: str, upload_path: str) -> str:
    if operation == "uploadChunk":  # looks its upload up before reading: a real one
        return upload_path
    path = re.sub(r"\{[a-z_]+:uuid\}", str(uuid.uuid4()), path)
    path = re.sub(r"\{[a-z_]+:int\}", "1", path)
    return re.sub(r"\{[a-z_]+:str\}", "units" if "imports" in path else "X", path)


async def test_every_endpoint_limits_its_body(app, client, people, settings):
    operations = write_operations(app)
    assert len(operations) > 40
    for _, path, operation, limit in operations:
        assert limit == getattr(settings, RAW_LIMITS.get(operation, "max_body_bytes")), (path, limit)
    upload_path = (await client.post("/api/v1/uploads", headers={**people["inspector"], **TUS, "Upload-Length": str(256 * 1024)})).headers["location"]
    refused, ignored = set(), set()
    # Logout last: it revokes the tokens the other requests need.
    for method, path, operation, limit in sorted(operations, key=lambda o: o[2] == "logout"):
        if path.startswith("/console"):
            # Without a console session a form is refused before its body is read (303 to the
            # login page, or 403 for CSRF); its limit is the configured one (checked above).
            continue
        url = concrete(operation, path, upload_path)
        content_type = {"uploadChunk": "application/offset+octet-stream", "uploadEvidence": "image/jpeg",
                        "importRegistry": "text/csv", "importMeasurements": "text/csv"}.get(operation, "application/json")
        for role, headers in people.items():
            extra = {**TUS, "Upload-Offset": "0"} if operation == "uploadChunk" else {}
            r = await client.request(method, url, content=b"x" * (limit + 1),
                                     headers={**headers, **extra, "Content-Type": content_type})
            assert r.status_code < 500, (operation, role, r.status_code, r.text)
            assert operation in NO_BODY or not 200 <= r.status_code < 300, (operation, role, r.status_code)
            if r.status_code == 413:
                assert_error(r, 413, "PAYLOAD_TOO_LARGE")
                refused.add(operation)
        if operation not in refused:
            ignored.add(operation)
    assert ignored == NO_BODY, ignored ^ NO_BODY


# --- names that could become paths -------------------------------------------------------


async def test_no_client_supplied_name_becomes_a_path(client, db, settings, tmp_path):
    team = await current_team(client, db)
    insp = team.inspector("DG-CA")
    evidence_root = Path(settings.data_dir) / "evidence"
    outside_before = sorted(str(p) for p in tmp_path.rglob("*") if evidence_root not in p.parents)
    hostile = "../../../../tmp/spotcheck-owned.jpg"
    # A file name in Content-Disposition and in tus metadata: accepted, never used.
    body = photo(5)
    r = await upload(client, insp, body, task_id=team.task("DG-CA"))
    r = await client.post("/api/v1/evidence", content=photo(6), params={"task_id": team.task("DG-CA")},
                          headers={**insp, "Content-Disposition": f'attachment; filename="{hostile}"'})
    assert r.status_code == 201
    meta = f"filename {base64.b64encode(hostile.encode()).decode()}"
    created = await client.post("/api/v1/uploads", headers={**insp, **TUS, "Upload-Length": str(len(body)),
                                                             "Upload-Metadata": meta})
    assert created.status_code == 201 and re.fullmatch(r"/api/v1/uploads/[0-9a-f-]{36}", created.headers["location"])
    done = await client.patch(created.headers["location"], content=body, headers={
        **insp, **TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    assert done.status_code == 204
    # A digest that is a path, in the header or the query: refused before anything is stored.
    for headers, params in (({"X-Content-SHA256": "../" * 20 + "etc/passwd"}, {}), ({}, {"sha256": "..%2f" * 10})):
        assert_error(await client.post("/api/v1/evidence", content=photo(7), params=params, headers={**insp, **headers}), 422)
    # Dot segments, encoded or not, in every id position.
    for path in ("/api/v1/uploads/..%2f..%2fledger.key", "/api/v1/uploads/%2e%2e", "/api/v1/uploads/../../ledger.key",
                 "/api/v1/evidence/%2e%2e%2f%2e%2e%2fsecret_key/thumbnail", "/api/v1/units/..%2F..%2Fsecret_key"):
        for method in ("GET", "HEAD", "PATCH", "DELETE"):
            r = await client.request(method, path, headers={**insp, **TUS})
            assert r.status_code in (401, 403, 404, 405, 412, 415, 422), (method, path, r.status_code)
    # The store holds sharded SHA-256 names only, and nothing appeared outside it.
    for name in stored_files(evidence_root):
        assert re.fullmatch(r"(uploads/)?[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}", name), name
    outside_after = sorted(str(p) for p in tmp_path.rglob("*") if evidence_root not in p.parents)
    assert outside_after == outside_before
    assert not Path("/tmp/spotcheck-owned.jpg").exists()


async def test_the_access_log_records_the_status_sent(client, people, caplog):
    with caplog.at_level(logging.INFO, logger="spotcheck.access"):
        assert (await client.get("/api/v1/units")).status_code == 401  # answered outside the middleware stack
        assert (await client.get("/api/v1/units", headers=people["chief"])).status_code == 200
        assert (await client.get("/api/v1/units/NOPE", headers=people["chief"])).status_code == 404
    logged = [(r.path, r.status) for r in caplog.records if r.name == "spotcheck.access"]
    assert logged == [("/api/v1/units", 401), ("/api/v1/units", 200), ("/api/v1/units/NOPE", 404)]
