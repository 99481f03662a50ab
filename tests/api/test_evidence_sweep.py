"""`spotcheck evidence sweep`: blobs left by filings cut between storage and record go once
they are old; whatever a record cites (photo or thumbnail), and anything young, stays."""

from __future__ import annotations

import os
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from api.evidence_runtime import make_stores
from api.models_evidence import Upload
from api.settings import Settings
from evidence.storage import put_bytes
from tests.support.evidence import TAKEN, cli, current_team, evidence_settings, photo, upload

DAY = 86_400


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return evidence_settings(database_url, tmp_path)


def age(store, sha: str, days: float) -> None:
    then = time.time() - days * DAY
    os.utime(store.path(sha), (then, then))


async def test_the_sweep_removes_only_old_blobs_no_record_cites(client, db, settings):
    team = await current_team(client, db)
    body = photo(7, taken=TAKEN)
    filed = await upload(client, team.inspector("DG-HM"), body, task_id=team.task("DG-HM"))
    assert filed.status_code == 201, filed.text
    evidence = filed.json()
    store = make_stores(settings)[0]
    cited = set(store)  # the photo and its two thumbnails
    assert len(cited) == 3 and evidence["sha256"] in cited
    # A filing cut after storage: its bytes are stored, no record cites them.
    cut_old = put_bytes(store, photo(8, taken=TAKEN)).sha256
    cut_young = put_bytes(store, photo(9, taken=TAKEN)).sha256
    for sha in (*cited, cut_old):
        age(store, sha, 3)

    dry = await cli(settings, "evidence", "sweep", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert cut_old in dry.output and cut_young not in dry.output and not any(sha in dry.output for sha in cited)
    assert "would delete 1 of 5 stored blobs" in dry.output
    assert store.exists(cut_old)

    done = await cli(settings, "evidence", "sweep", "--older-than-hours", "48")
    assert done.exit_code == 0, done.output
    assert "deleted 1 of 5 stored blobs" in done.output
    assert sorted(store) == sorted({*cited, cut_young})

    chief = team.headers["chief"]
    original = await client.get(f"/api/v1/evidence/{evidence['id']}/original", headers=chief)
    assert original.status_code == 200 and original.content == body
    thumb = await client.get(f"/api/v1/evidence/{evidence['id']}/thumbnail?size=256", headers=chief)
    assert thumb.status_code == 200
    verified = (await client.get("/api/v1/ledger/verify", headers=chief)).json()
    assert verified["ok"], verified
    log = (await client.get("/api/v1/audit?action=evidence.blob_swept", headers=team.headers["admin"])).json()
    assert [(e["actor"], e["object_id"], e["before"]["size"]) for e in log["items"]] == [("cli", cut_old, len(photo(8, taken=TAKEN)))]

    # A young blob waits: a filing may still be on its way to recording it.
    again = await cli(settings, "evidence", "sweep")
    assert "deleted 0 of 4" in again.output and store.exists(cut_young)
    assert (await cli(settings, "evidence", "sweep", "--older-than-hours", "0.5")).exit_code == 2  # below the 1-hour floor


async def test_the_sweep_removes_expired_resumable_uploads_and_their_bytes(client, db, settings):
    team = await current_team(client, db)
    insp = {**team.inspector("DG-CA"), "Tus-Resumable": "1.0.0"}
    body = photo(4, taken=TAKEN)
    locations = [(await client.post("/api/v1/uploads", headers={**insp, "Upload-Length": str(len(body))})).headers["location"]
                 for _ in range(2)]
    for location, piece in zip(locations, (body[:1000], body[:2000])):
        sent = await client.patch(location, content=piece, headers={
            **insp, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
        assert sent.status_code == 204
    staging = make_stores(settings)[1]
    assert len(list(staging)) == 2
    async with db() as session:  # the first one expired a second ago; the second is still open
        first = uuid.UUID(locations[0].rsplit("/", 1)[1])
        await session.execute(update(Upload).where(Upload.id == first)
                              .values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
        await session.commit()

    dry = await cli(settings, "evidence", "sweep", "--dry-run")
    assert "would delete 1 expired resumable upload(s)" in dry.output and len(list(staging)) == 2
    done = await cli(settings, "evidence", "sweep")
    assert done.exit_code == 0 and "deleted 1 expired resumable upload(s)" in done.output, done.output
    assert len(list(staging)) == 1
    async with db() as session:
        assert (await session.execute(select(func.count()).select_from(Upload))).scalar_one() == 1
    assert (await client.head(locations[1], headers=insp)).headers["upload-offset"] == "2000"
    assert (await client.head(locations[0], headers=insp)).status_code == 404
