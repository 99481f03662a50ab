"""Bad input of every shape gets a 4xx with the error shape, never a 500."""

from __future__ import annotations

import pytest

from tests.support.api import add_user, assert_error, login


@pytest.fixture
async def admin(db, client):
    await add_user(db, "admin", "admin")
    return await login(client, "admin")


async def test_malformed_json(client, admin):
    # Invalid UTF-8 inside a string, and nesting deeper than any body of ours, are malformed too.
    for raw in [b"{", b"{'a': 1}", b"\xff\xfe", b"[1,2", b"null x", b'{"code":"T-3","name":"\xe4\xb8","kind":"entity"}',
                b'{"code":' + b"[" * 100_000 + b"]" * 100_000 + b"}"]:
        r = await client.post("/api/v1/units", content=raw, headers={**admin, "Content-Type": "application/json"})
        assert_error(r, 400, "MALFORMED_JSON")
    login = await client.post("/api/v1/auth/token", content=b'{"username":"admin","password":"\xff\xfe"}',
                              headers={"Content-Type": "application/json"})
    assert_error(login, 400, "MALFORMED_JSON")


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"code": 1, "name": "x", "kind": "office"}, "$.code"),
        ({"code": "A", "name": "x", "kind": "shop"}, "$.kind"),
        ({"code": "A", "name": "x", "kind": "office", "lat": "north"}, "$.lat"),
        ({"code": "A", "name": "x", "kind": "office", "lat": 91}, "$.lat"),
        ({"code": "A", "name": "x", "kind": "office", "tier": 6}, "$.tier"),
        ({"code": "A", "name": "", "kind": "office"}, "$.name"),
        ({"code": "A B", "name": "x", "kind": "office"}, "$.code"),
        ({"code": "A", "kind": "office"}, "$.name"),
        ({"code": "A", "name": "x", "kind": "office", "colour": "red"}, "$.colour"),
        ([1, 2, 3], "$"),
        ("just a string", "$"),
    ],
)
async def test_wrong_types_and_unknown_fields_name_the_path(client, admin, body, path):
    details = assert_error(await client.post("/api/v1/units", json=body, headers=admin), 422, "VALIDATION_ERROR")["details"]
    assert details and details[0]["path"] == path and details[0]["message"]
    assert (await client.get("/api/v1/units", headers=admin)).json()["total"] == 0  # nothing partial


async def test_huge_bodies_are_refused(client, admin, settings):
    big = b'{"code":"A","name":"' + b"x" * (settings.max_body_bytes + 10) + b'","kind":"office"}'
    body = assert_error(await client.post("/api/v1/units", content=big, headers={**admin, "Content-Type": "application/json"}),
                        413, "PAYLOAD_TOO_LARGE")
    assert body["details"] == {"limit_bytes": settings.max_body_bytes}  # so a client knows how far to cut
    huge_file = b"code,name,kind\n" + b"A,x,office\n" * (settings.import_max_bytes // 11 + 10)
    assert_error(await client.post("/api/v1/imports/units", content=huge_file, headers=admin), 413)


async def test_unknown_routes_methods_and_path_values(client, admin):
    assert_error(await client.get("/api/v1/nothing-here", headers=admin), 404)
    assert_error(await client.delete("/api/v1/units", headers=admin), 405, "METHOD_NOT_ALLOWED")
    assert_error(await client.post("/api/v1/imports/cats", content=b"a", headers=admin), 422)
    assert_error(await client.get("/api/v1/units/%00", headers=admin), 400, "BAD_REQUEST")
    assert_error(await client.get("/api/v1/units?district=a%00b", headers=admin), 400, "BAD_REQUEST")
    nul_name = await client.post("/api/v1/units", json={"code": "N", "name": "a\u0000b", "kind": "office"}, headers=admin)
    assert assert_error(nul_name, 422)["details"][0]["path"] == "$.name"


async def test_every_error_carries_a_request_id(client, admin):
    r = await client.get("/api/v1/units/NOPE", headers={**admin, "X-Request-ID": "client-chosen-id-42"})
    assert r.headers["x-request-id"] == "client-chosen-id-42"
    assert len((await client.get("/no/such/route")).headers["x-request-id"]) == 32
    # Answered before routing (404, 405) or by the auth middleware (401): the client's id too.
    mine = {"X-Request-ID": "client-chosen-id-43"}
    for answer in (await client.get("/api/v1/no-such-route", headers=mine), await client.delete("/api/v1/auth/token", headers=mine),
                   await client.get("/api/v1/units", headers=mine)):
        assert answer.status_code in (401, 404, 405) and answer.headers["x-request-id"] == "client-chosen-id-43", answer
    assert len((await client.get("/api/v1/units")).headers["x-request-id"]) == 32


async def test_numbers_beyond_database_integers_are_refused(client, admin):
    assert_error(await client.delete("/api/v1/conflicts/562949953421313", headers=admin), 422)
    assert_error(await client.get("/api/v1/units?offset=99999999999999999999", headers=admin), 422)
    assert_error(await client.get("/api/v1/units?tier=99999999999999999999", headers=admin), 422)


async def test_a_missing_query_parameter_is_named(client, admin):
    missing = assert_error(await client.get("/api/v1/leaderboard", headers=admin), 422, "VALIDATION_ERROR")
    assert missing["details"] == [{"path": "query.period", "message": "required"}]


@pytest.mark.parametrize(("path", "parameter"), [
    ("/api/v1/audit?action=Plan%20Created", "action"),
    ("/api/v1/audit?actor=a%20b", "actor"),
    ("/api/v1/audit?object_type=" + "x" * 40, "object_type"),
    ("/api/v1/units?district=" + "区" * 101, "district"),
    ("/api/v1/units?parent_code=DG/SL", "parent_code"),
    ("/api/v1/inspectors?home_unit=", "home_unit"),
    ("/api/v1/plans?status=done", "status"),
    ("/api/v1/plans?period=2026%20H1", "period"),
    ("/api/v1/tasks?inspector=%E5%BC%A0%E4%B8%89", "inspector"),
    ("/api/v1/catalogs?code=Not%20A%20Code", "code"),
])
async def test_a_filter_breaking_its_pattern_is_named_not_an_empty_page(client, admin, path, parameter):
    # Litestar drops the constraints of a type inside `X | None`: these filters answered an
    # empty page, as if nothing matched, instead of telling the caller the value is malformed.
    body = assert_error(await client.get(path, headers=admin), 422, "VALIDATION_ERROR")
    assert [d["path"] for d in body["details"]] == [f"query.{parameter}"]
