"""Catalogs and schemes over HTTP: loading YAML/JSON, node paths in errors, immutable versions,
shipped documents, permissions."""

from __future__ import annotations

import hashlib
import json

import msgspec
import pytest
import yaml

from scoring import shipped_catalog
from tests.support.api import add_user, assert_error, login
from tests.support.scoring import shipped_bytes

YAML = {"Content-Type": "application/yaml"}
OFFICE = shipped_bytes("office_deductions.catalog")


@pytest.fixture
async def chief(db, client):
    await add_user(db, "chief", "chief")
    return await login(client, "chief")


def office_doc() -> dict:
    return yaml.safe_load(OFFICE)


async def test_load_is_idempotent_whatever_the_format_and_immutable(client, chief):
    first = await client.post("/api/v1/catalogs", content=OFFICE, headers={**chief, **YAML})
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["kind"], body["code"], body["version"], body["loaded_by"]) == ("catalog", "office_deductions", 1, "chief")
    assert body["name"] == "县(市)检察院办公室工作考核扣分标准"
    canonical = msgspec.json.encode(shipped_catalog("office_deductions"))
    assert body["sha256"] == hashlib.sha256(canonical).hexdigest()
    # The same document as JSON with its keys in another order: the same version, unchanged.
    as_json = json.dumps(dict(reversed(list(office_doc().items()))), ensure_ascii=False).encode()
    again = await client.post("/api/v1/catalogs", content=as_json, headers={**chief, "Content-Type": "application/json"})
    assert again.status_code == 200 and again.json() == body
    sniffed = await client.post("/api/v1/catalogs", content=as_json, headers=chief)  # no media type: recognised
    assert sniffed.status_code == 200
    # Another document under the same code and version is refused; a new version is welcome.
    changed = office_doc()
    changed["items"][0]["indicators"][0]["rule"]["points"] = 1.5
    conflict = await client.post("/api/v1/catalogs", content=json.dumps(changed).encode(), headers=chief)
    assert assert_error(conflict, 409, "CONFLICT")["details"] == {"code": "office_deductions", "version": 1, "sha256": body["sha256"]}
    changed["version"] = 2
    assert (await client.post("/api/v1/catalogs", content=json.dumps(changed).encode(), headers=chief)).status_code == 201
    listed = (await client.get("/api/v1/catalogs?code=office_deductions", headers=chief)).json()
    assert [(v["code"], v["version"]) for v in listed["items"]] == [("office_deductions", 1), ("office_deductions", 2)]
    v1 = (await client.get("/api/v1/catalogs/office_deductions/1", headers=chief)).json()
    assert v1["document"]["items"][0]["indicators"][0]["rule"] == {"kind": "per_occurrence", "points": 1.0, "max_points": None}
    v2 = (await client.get("/api/v1/catalogs/office_deductions/2", headers=chief)).json()
    assert v2["document"]["items"][0]["indicators"][0]["rule"]["points"] == 1.5
    assert_error(await client.get("/api/v1/catalogs/office_deductions/3", headers=chief), 404, "NOT_FOUND")


BAD_CATALOGS = [
    (lambda d: d["items"][3]["indicators"][1]["rule"].update(points=-5), "$.items[3].indicators[1].rule.points"),
    (lambda d: d["items"][0]["indicators"][0]["rule"].update(kind="per_fortnight"), "$.items[0].indicators[0].rule.kind"),
    (lambda d: d["items"][1].update(colour="red"), "$.items[1].colour"),
    (lambda d: d["items"][0].update(points=16), "$.items"),  # scored items no longer sum to the scale
    (lambda d: d["items"][2]["indicators"][0].update(code=d["items"][2]["indicators"][1]["code"]), "$.items[2].indicators[1].code"),
    (lambda d: d.update(version=2**31), "$.version"),
    (lambda d: d["items"][0].update(name="日常\x00政务"), "$.items[0].name"),
    (lambda d: d.pop("items"), "$"),
]


@pytest.mark.parametrize(("spoil", "path"), BAD_CATALOGS)
async def test_bad_catalogs_are_refused_at_their_node(client, chief, spoil, path):
    document = office_doc()
    spoil(document)
    r = await client.post("/api/v1/catalogs", content=json.dumps(document).encode(), headers=chief)
    details = assert_error(r, 422, "VALIDATION_ERROR")["details"]
    assert details[0]["path"] == path and details[0]["message"], details
    assert (await client.get("/api/v1/catalogs", headers=chief)).json()["total"] == 0


async def test_unreadable_or_wrong_kind_documents(client, chief):
    syntax = await client.post("/api/v1/catalogs", content=b"code: [unclosed\n", headers={**chief, **YAML})
    assert "YAML" in assert_error(syntax, 422, "VALIDATION_ERROR")["message"]
    assert_error(await client.post("/api/v1/catalogs", content=b"{not json", headers={**chief, "Content-Type": "application/json"}), 422)
    assert_error(await client.post("/api/v1/catalogs", content=b"\xff\xfe\x00garbage", headers=chief), 422)
    assert_error(await client.post("/api/v1/catalogs", content=b"", headers=chief), 422)
    scheme_as_catalog = await client.post("/api/v1/catalogs", content=shipped_bytes("branch_annual.scheme"), headers=chief)
    assert assert_error(scheme_as_catalog, 422)["details"][0]["path"] == "$.subject"
    # An alias can stand for billions of nodes in a few bytes: refused before expansion.
    bomb = b"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nitems: [*b, *b, *b, *b, *b, *b]\n"
    assert "alias" in assert_error(await client.post("/api/v1/catalogs", content=bomb, headers={**chief, **YAML}), 422)["message"]
    # Deep nesting would overflow the C stack of the YAML loader and kill the worker.
    deep = await client.post("/api/v1/schemes", content=b"[" * 500_000, headers={**chief, **YAML})
    assert "nested deeper" in assert_error(deep, 422)["message"]


async def test_schemes_load_validate_and_read(client, chief):
    branch = shipped_bytes("branch_annual.scheme")
    assert (await client.post("/api/v1/schemes", content=branch, headers={**chief, **YAML})).status_code == 201
    assert (await client.post("/api/v1/schemes", content=branch, headers={**chief, **YAML})).status_code == 200
    doc = yaml.safe_load(branch)
    doc["components"][1]["weight"] = 40  # weights no longer sum to 100
    doc["version"] = 2
    r = await client.post("/api/v1/schemes", content=json.dumps(doc).encode(), headers=chief)
    assert assert_error(r, 422)["details"][0]["path"].startswith("$.components")
    got = (await client.get("/api/v1/schemes/branch_annual/1", headers=chief)).json()
    assert got["document"]["grading"]["pass_line"] == 85 and got["document"]["bonus"] == {"cap": 10.0}
    assert_error(await client.post("/api/v1/schemes", content=OFFICE, headers=chief), 422)


async def test_shipped_documents_list_and_load(client, chief):
    catalogs = (await client.get("/api/v1/catalogs/shipped", headers=chief)).json()
    assert {c["code"] for c in catalogs} == {"dongguan_branch_2010", "office_deductions"}
    assert not any(c["loaded"] for c in catalogs)
    first = await client.post("/api/v1/catalogs/shipped/dongguan_branch_2010", headers=chief)
    assert first.status_code == 201 and first.json()["name_en"] == "Branch office performance indicators (2010)"
    assert (await client.post("/api/v1/catalogs/shipped/dongguan_branch_2010", headers=chief)).status_code == 200
    # Loaded from the shipped file over HTTP or by code: one and the same version.
    from_file = await client.post("/api/v1/catalogs", content=shipped_bytes("dongguan_branch_2010.catalog"), headers=chief)
    assert from_file.status_code == 200 and from_file.json()["sha256"] == first.json()["sha256"]
    loaded = {c["code"]: c["loaded"] for c in (await client.get("/api/v1/catalogs/shipped", headers=chief)).json()}
    assert loaded == {"dongguan_branch_2010": True, "office_deductions": False}
    schemes = {s["code"] for s in (await client.get("/api/v1/schemes/shipped", headers=chief)).json()}
    assert {"branch_annual", "individual_annual", "department_annual"} <= schemes
    assert (await client.post("/api/v1/schemes/shipped/branch_annual", headers=chief)).status_code == 201
    assert_error(await client.post("/api/v1/catalogs/shipped/branch_annual", headers=chief), 404)
    assert_error(await client.post("/api/v1/schemes/shipped/nope", headers=chief), 404)


async def test_who_may_load_and_read(db, client, chief):
    await add_user(db, "admin", "admin")
    await add_user(db, "insp", "inspector")
    assert (await client.post("/api/v1/catalogs", content=OFFICE, headers=await login(client, "admin"))).status_code == 201
    reader = await login(client, "insp")
    assert_error(await client.post("/api/v1/catalogs", content=OFFICE, headers=reader), 403, "FORBIDDEN")
    assert_error(await client.post("/api/v1/schemes/shipped/branch_annual", headers=reader), 403)
    assert (await client.get("/api/v1/catalogs/office_deductions/1", headers=reader)).status_code == 200
    assert (await client.get("/api/v1/schemes/shipped", headers=reader)).status_code == 200
    assert_error(await client.get("/api/v1/catalogs"), 401)
    assert_error(await client.post("/api/v1/catalogs", content=OFFICE), 401)
