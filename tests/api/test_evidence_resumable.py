"""Resumable uploads (tus 1.0): chunks, a chunk sent twice, a lost last answer, abandoned
and expired uploads, and refusals that leave nothing behind."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import update

from api.errors import Conflict
from api.models_evidence import Upload
from api.security import Principal
from api.uploads import get_upload, receive_chunk
from api.settings import Settings
from tests.support.api import assert_error
from tests.support.evidence import (
    CHANGAN, TAKEN, current_team, digest, evidence_settings, photo, stored_files,
)

TUS = {"Tus-Resumable": "1.0.0"}
CHUNK = {**TUS, "Content-Type": "application/offset+octet-stream"}
MIB = 1024 * 1024


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return evidence_settings(database_url, tmp_path, evidence_max_bytes=4 * MIB, upload_expiry_seconds=3600)


@pytest.fixture
async def team(client, db):
    return await current_team(client, db)


def metadata(**pairs: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in pairs.items())


def staging(settings: Settings) -> list[str]:
    return stored_files(Path(settings.data_dir) / "evidence" / "uploads")


async def create(client, headers, length: int, **meta: str):
    extra = {"Upload-Metadata": metadata(**meta)} if meta else {}
    return await client.post("/api/v1/uploads", headers={**headers, **TUS, "Upload-Length": str(length), **extra})


async def send(client, headers, location: str, offset: int, data: bytes):
    return await client.patch(location, content=data, headers={**headers, **CHUNK, "Upload-Offset": str(offset)})


async def offset_of(client, headers, location: str) -> int:
    r = await client.head(location, headers={**headers, **TUS})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    return int(r.headers["upload-offset"])


async def test_discovery(client, team):
    r = await client.options("/api/v1/uploads")
    assert r.status_code == 204 and r.headers["tus-version"] == "1.0.0"
    assert set(r.headers["tus-extension"].split(",")) == {"creation", "termination", "expiration"}
    assert int(r.headers["tus-max-size"]) == 4 * MIB


async def test_an_upload_in_chunks_with_one_sent_twice_files_the_photo(client, team, settings):
    body = photo(1, size=(1600, 1200), taken=TAKEN, gps=CHANGAN, quality=95)
    insp = team.inspector("DG-CA")
    created = await create(client, insp, len(body), task_id=team.task("DG-CA"), sha256=digest(body), filename="IMG_1.jpg")
    assert created.status_code == 201 and created.headers["tus-resumable"] == "1.0.0"
    location = created.headers["location"]
    assert location.startswith("/api/v1/uploads/") and created.headers["upload-offset"] == "0"
    assert await offset_of(client, insp, location) == 0
    third = len(body) // 3
    r = await send(client, insp, location, 0, body[:third])
    assert r.status_code == 204 and r.headers["upload-offset"] == str(third)
    # The answer was lost; the client sends the same chunk again: nothing changes.
    again = await send(client, insp, location, 0, body[:third])
    assert_error(again, 409, "OFFSET_MISMATCH")
    assert again.headers["upload-offset"] == str(third) and await offset_of(client, insp, location) == third
    r = await send(client, insp, location, third, body[third:2 * third])
    assert r.status_code == 204 and "x-evidence-id" not in r.headers
    last = await send(client, insp, location, 2 * third, body[2 * third:])
    assert last.status_code == 204 and last.headers["upload-offset"] == str(len(body))
    evidence_id = last.headers["x-evidence-id"]
    assert last.headers["content-location"] == f"/api/v1/evidence/{evidence_id}"
    ev = (await client.get(f"/api/v1/evidence/{evidence_id}", headers=insp)).json()
    assert (ev["sha256"], ev["size"], ev["task_id"], ev["flags"]) == (digest(body), len(body), team.task("DG-CA"), [])
    assert (await client.get(f"/api/v1/evidence/{evidence_id}/original", headers=insp)).content == body
    # The last answer was lost too: asking again names the same evidence.
    repeat = await send(client, insp, location, len(body), b"")
    assert repeat.status_code == 204 and repeat.headers["x-evidence-id"] == evidence_id
    # So does sending the final chunk again: a 409 (the offset moved on) that names it too.
    final_again = assert_error(await send(client, insp, location, 2 * third, body[2 * third:]), 409, "OFFSET_MISMATCH")
    assert final_again["details"] == {"offset": len(body), "evidence_id": evidence_id}
    progress = (await client.get(location, headers=insp)).json()
    assert (progress["offset"], progress["length"], progress["evidence_id"]) == (len(body), len(body), evidence_id)
    assert staging(settings) == []  # the parts are gone once filed


async def test_refusals(client, team, settings):
    insp = team.inspector("DG-CA")
    assert_error(await client.post("/api/v1/uploads", headers={**insp, "Upload-Length": "10"}), 412, "TUS_VERSION")
    too_big = await create(client, insp, 4 * MIB + 1)
    assert_error(too_big, 413, "PAYLOAD_TOO_LARGE")
    assert_error(await create(client, insp, 10, task_id=team.task("DG-HM")), 404, "NOT_FOUND")  # not their task
    assert_error(await create(client, insp, 10, task_id="nope"), 422, "VALIDATION_ERROR")
    assert_error(await create(client, team.headers["unit-hm"], 10), 403, "FORBIDDEN")
    bad_metadata = await client.post("/api/v1/uploads", headers={**insp, **TUS, "Upload-Length": "10",
                                                                 "Upload-Metadata": "task_id ***"})
    assert_error(bad_metadata, 422, "VALIDATION_ERROR")
    location = (await create(client, insp, 1000)).headers["location"]
    wrong_type = await client.patch(location, content=b"x", headers={**insp, **TUS, "Upload-Offset": "0",
                                                                     "Content-Type": "image/jpeg"})
    assert_error(wrong_type, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert_error(await send(client, insp, location, 0, bytes(1001)), 413, "PAYLOAD_TOO_LARGE")
    assert_error(await send(client, team.inspector("DG-HM"), location, 0, b"x"), 404, "NOT_FOUND")  # not theirs
    assert await offset_of(client, insp, location) == 0 and staging(settings) == []


async def test_a_refused_photo_takes_its_upload_with_it(client, team, settings):
    insp = team.inspector("DG-CA")
    body = photo(2, taken=TAKEN)
    location = (await create(client, insp, len(body), sha256=digest(b"something else"))).headers["location"]
    assert (await send(client, insp, location, 0, body[:500])).status_code == 204
    assert staging(settings) != []
    assert_error(await send(client, insp, location, 500, body[500:]), 422, "CHECKSUM_MISMATCH")
    assert (await client.head(location, headers={**insp, **TUS})).status_code == 404
    text = "不是照片".encode() * 100
    location = (await create(client, insp, len(text))).headers["location"]
    assert_error(await send(client, insp, location, 0, text), 415, "UNSUPPORTED_FORMAT")
    assert staging(settings) == [] and stored_files(Path(settings.data_dir) / "evidence") == []


async def test_abandoned_uploads_are_deleted_with_their_bytes(client, team, settings):
    insp = team.inspector("DG-CA")
    body = photo(3, taken=TAKEN)
    location = (await create(client, insp, len(body))).headers["location"]
    assert (await send(client, insp, location, 0, body[:1000])).status_code == 204
    assert len(staging(settings)) == 1
    r = await client.delete(location, headers={**insp, **TUS})
    assert r.status_code == 204 and staging(settings) == []
    assert (await client.head(location, headers={**insp, **TUS})).status_code == 404


async def test_expired_uploads_go_when_the_next_one_starts(client, team, settings, db):
    insp = team.inspector("DG-CA")
    body = photo(4, taken=TAKEN)
    location = (await create(client, insp, len(body))).headers["location"]
    assert (await send(client, insp, location, 0, body[:1000])).status_code == 204
    async with db() as session:  # an hour and a second later
        await session.execute(update(Upload).values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
        await session.commit()
    assert (await client.head(location, headers={**insp, **TUS})).status_code == 410
    assert_error(await send(client, insp, location, 1000, body[1000:]), 410, "UPLOAD_GONE")
    assert len(staging(settings)) == 1
    fresh = await create(client, insp, len(body))
    assert fresh.status_code == 201 and staging(settings) == []
    assert_error(await client.get(location, headers=insp), 404)


async def test_a_chunk_two_uploads_share_stays_until_neither_cites_it(client, team, settings):
    insp = team.inspector("DG-CA")
    body = photo(5, taken=TAKEN)
    first, second = [(await create(client, insp, len(body))).headers["location"] for _ in range(2)]
    for location in (first, second):
        assert (await send(client, insp, location, 0, body[:2000])).status_code == 204
    assert len(staging(settings)) == 1  # identical bytes, one blob
    assert (await client.delete(first, headers={**insp, **TUS})).status_code == 204
    assert len(staging(settings)) == 1 and await offset_of(client, insp, second) == 2000
    last = await send(client, insp, second, 2000, body[2000:])
    assert last.status_code == 204 and "x-evidence-id" in last.headers and staging(settings) == []


async def test_an_upload_whose_removal_a_crash_cut_short_is_gone(client, team, settings):
    # A removal deletes the parts' bytes before their rows: a crash in between leaves rows
    # that cite nothing, never bytes that nothing cites. Finishing such an upload answers 410
    # and removes it; terminating it again completes the removal.
    insp = team.inspector("DG-CA")
    finishing, terminating = photo(6, taken=TAKEN), photo(7, taken=TAKEN)
    locations = []
    for body in (finishing, terminating):
        location = (await create(client, insp, len(body))).headers["location"]
        assert (await send(client, insp, location, 0, body[:1000])).status_code == 204
        locations.append(location)
    root = Path(settings.data_dir) / "evidence" / "uploads"
    assert len(staging(settings)) == 2
    for blob in staging(settings):  # the state a crash in the middle of the removals leaves
        (root / blob).unlink()
    assert_error(await send(client, insp, locations[0], 1000, finishing[1000:]), 410, "UPLOAD_GONE")
    assert (await client.head(locations[0], headers={**insp, **TUS})).status_code == 404
    assert (await client.delete(locations[1], headers={**insp, **TUS})).status_code == 204
    assert (await client.head(locations[1], headers={**insp, **TUS})).status_code == 404
    assert staging(settings) == [] and stored_files(Path(settings.data_dir) / "evidence") == []


async def test_a_chunk_that_loses_a_race_answers_the_offset_to_go_on_from(client, db, team, app, settings):
    """Two PATCHes at one offset: both pass the offset check, one moves the upload first; the
    other's bytes are dropped and its 409 says where the upload stands."""
    body = photo(2, size=(800, 600), taken=TAKEN, gps=CHANGAN)
    insp = team.inspector("DG-CA")
    location = (await create(client, insp, len(body), task_id=team.task("DG-CA"))).headers["location"]
    owner = Principal(id=0, username=team.tasks["DG-CA"][1], role="inspector", unit_code=None)
    async with db() as session:
        slow = await get_upload(session, owner, uuid.UUID(location.rsplit("/", 1)[1]))  # at offset 0, before the other
        assert (await send(client, insp, location, 0, body[:1000])).status_code == 204

        async def chunks():
            yield body[:500]

        with pytest.raises(Conflict) as lost:
            await receive_chunk(session, app.state.evidence_runtime, slow, 0, chunks())
    assert (lost.value.code, lost.value.details, lost.value.headers) == ("OFFSET_MISMATCH", {"offset": 1000}, {"Upload-Offset": "1000"})
    assert await offset_of(client, insp, location) == 1000
    assert len(staging(settings)) == 1  # the winner's part; the loser's bytes are gone
