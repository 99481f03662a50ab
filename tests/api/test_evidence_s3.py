"""The evidence endpoints on the S3 backend, over real HTTP against moto's standalone server
(started by the test on 127.0.0.1, stopped by its pid): photos, thumbnails and resumable
upload parts live in the bucket, refusals leave no object, tampering is found."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path
from typing import Iterator

import boto3
import numpy as np
import pytest
from PIL import Image

from api.settings import Settings
from tests.evidence.images import encode
from tests.support.api import assert_error
from tests.support.evidence import (
    CHANGAN, TAKEN, current_team, digest, evidence_settings, photo, stored_files, upload,
)
from tests.support.s3 import moto_server

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def bucket(endpoint: str) -> str:
    name = f"evidence-{uuid.uuid4().hex[:12]}"
    s3(endpoint).create_bucket(Bucket=name)
    return name


def s3(endpoint: str):
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing")


@pytest.fixture
def settings(database_url: str, tmp_path: Path, endpoint: str, bucket: str) -> Settings:
    return evidence_settings(database_url, tmp_path, evidence_max_bytes=12 * MIB, evidence_s3_bucket=bucket,
                             evidence_s3_endpoint_url=endpoint, evidence_s3_region="us-east-1",
                             evidence_s3_prefix="spotcheck", evidence_s3_access_key_id="testing",
                             evidence_s3_secret_access_key="testing")


@pytest.fixture
async def team(client, db):
    return await current_team(client, db)


def keys(settings: Settings) -> list[str]:
    """Every object and unfinished multipart upload in the bucket."""
    client = s3(settings.evidence_s3_endpoint_url)
    listed = client.list_objects_v2(Bucket=settings.evidence_s3_bucket).get("Contents", [])
    pending = client.list_multipart_uploads(Bucket=settings.evidence_s3_bucket).get("Uploads", [])
    return sorted([o["Key"] for o in listed] + [f"multipart:{u['Key']}" for u in pending])


def address(sha256: str) -> str:
    return f"spotcheck/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def large_png() -> bytes:
    """A noisy PNG of about 10 MB: more than one 8 MiB part, so it goes up as a multipart upload."""
    rng = np.random.default_rng(5)
    return encode(Image.fromarray(rng.integers(0, 255, (1700, 2000, 3), dtype=np.uint8)), "PNG", compress_level=1)


async def test_photos_and_thumbnails_are_stored_in_the_bucket(client, team, settings):
    small = photo(1, taken=TAKEN, gps=CHANGAN)
    big = large_png()
    assert len(big) > 8 * MIB
    for body in (small, big):
        r = await upload(client, team.inspector("DG-CA"), body, task_id=team.task("DG-CA"), sha256=digest(body))
        assert r.status_code == 201, r.text
        original = await client.get(f"/api/v1/evidence/{r.json()['id']}/original", headers=team.headers["chief"])
        assert original.content == body and original.headers["etag"] == f'"{digest(body)}"'
        thumb = await client.get(f"/api/v1/evidence/{r.json()['id']}/thumbnail?size=1024", headers=team.headers["chief"])
        assert thumb.status_code == 200 and thumb.content[:3] == b"\xff\xd8\xff"
    stored = keys(settings)
    assert address(digest(small)) in stored and address(digest(big)) in stored
    assert len(stored) == 6 and not any("tmp/" in k or k.startswith("multipart:") for k in stored)
    assert not (Path(settings.data_dir) / "evidence").exists()  # nothing went to the local folder
    again = await upload(client, team.inspector("DG-HM"), small, task_id=team.task("DG-HM"))
    assert [f["code"] for f in again.json()["flags"]][0] == "reused_exact" and len(keys(settings)) == 6


async def test_refusals_leave_no_object(client, team, settings):
    body = large_png()
    cases = [(b"", 415), (body[:-5000], 422), (body, 422)]
    for data, status in cases:
        sha = digest(b"something else") if data is body else None
        assert_error(await upload(client, team.inspector("DG-CA"), data, sha256=sha), status)
    assert keys(settings) == []


async def test_resumable_upload_parts_live_in_the_bucket(client, team, settings):
    insp = {**team.inspector("DG-CA"), "Tus-Resumable": "1.0.0"}
    body = large_png()
    meta = f"sha256 {base64.b64encode(digest(body).encode()).decode()}"
    created = await client.post("/api/v1/uploads", headers={**insp, "Upload-Length": str(len(body)), "Upload-Metadata": meta})
    location = created.headers["location"]
    cut = 3 * MIB
    chunk = {**insp, "Content-Type": "application/offset+octet-stream"}
    assert (await client.patch(location, content=body[:cut], headers={**chunk, "Upload-Offset": "0"})).status_code == 204
    assert any(k.startswith("spotcheck/uploads/") for k in keys(settings))
    last = await client.patch(location, content=body[cut:], headers={**chunk, "Upload-Offset": str(cut)})
    assert last.status_code == 204, last.text
    ev = (await client.get(f"/api/v1/evidence/{last.headers['x-evidence-id']}", headers=team.headers["chief"])).json()
    assert ev["sha256"] == digest(body)
    stored = keys(settings)
    assert not any(k.startswith("spotcheck/uploads/") for k in stored) and address(digest(body)) in stored


async def test_an_object_changed_in_the_bucket_is_found_by_ledger_verify(client, team, settings):
    bodies = [photo(n, taken=TAKEN) for n in (2, 3)]
    for body in bodies:
        assert (await upload(client, team.inspector("DG-CA"), body, task_id=team.task("DG-CA"))).status_code == 201
    await client.get("/api/v1/ledger/checkpoint", headers=team.headers["chief"])
    assert (await client.get("/api/v1/ledger/verify", headers=team.headers["chief"])).json()["ok"]
    tampered = bytearray(bodies[1])
    tampered[-100] ^= 0xFF
    s3(settings.evidence_s3_endpoint_url).put_object(Bucket=settings.evidence_s3_bucket, Key=address(digest(bodies[1])),
                                                     Body=bytes(tampered))
    report = (await client.get("/api/v1/ledger/verify", headers=team.headers["chief"])).json()
    assert report["first_broken"]["index"] == 1 and report["first_broken"]["kind"] == "blob"
    assert stored_files(Path(settings.data_dir)) == ["ledger.key"]


async def test_an_object_gone_from_the_bucket_answers_410_not_500(client, team, settings):
    body = photo(4, taken=TAKEN)
    ev = (await upload(client, team.inspector("DG-CA"), body, task_id=team.task("DG-CA"))).json()
    s3(settings.evidence_s3_endpoint_url).delete_object(Bucket=settings.evidence_s3_bucket, Key=address(digest(body)))
    r = await client.get(f"/api/v1/evidence/{ev['id']}/original", headers=team.headers["chief"])
    assert assert_error(r, 410, "EVIDENCE_BYTES_MISSING")["details"] == {
        "sha256": digest(body), "evidence_id": ev["id"], "file": "original"}
    thumb = await client.get(f"/api/v1/evidence/{ev['id']}/thumbnail", headers=team.headers["chief"])
    assert thumb.status_code == 200 and thumb.content[:3] == b"\xff\xd8\xff"
    broken = (await client.get("/api/v1/ledger/verify", headers=team.headers["chief"])).json()["first_broken"]
    assert broken["kind"] == "blob" and "missing" in broken["message"]
