"""A photo whose stored file went missing (deleted by hand, a partial restore) or cannot be
read: its downloads answer a clear error in the error shape, never a 500 and never a 200 that
breaks off; the ledger check names the entry; the operator finds one ERROR line naming it."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from api.evidence_runtime import EvidenceRuntime
from api.models_evidence import Evidence
from api.settings import Settings
from evidence.errors import BlobNotFound, StorageError
from tests.support.api import assert_error
from tests.support.evidence import TAKEN, cli, current_team, evidence_settings, photo, upload


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return evidence_settings(database_url, tmp_path)


@pytest.fixture
async def team(client, db):
    return await current_team(client, db)


def blob_path(settings: Settings, sha256: str) -> Path:
    return Path(settings.data_dir) / "evidence" / sha256[:2] / sha256[2:4] / sha256


async def file_photo(client, team, seed: int = 1) -> dict:
    r = await upload(client, team.inspector("DG-CA"), photo(seed, taken=TAKEN), task_id=team.task("DG-CA"))
    assert r.status_code == 201, r.text
    return r.json()


def missing_logs(caplog: pytest.LogCaptureFixture, sha256: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno == logging.ERROR and sha256 in r.getMessage()]


async def test_a_deleted_original_answers_410_evidence_bytes_missing(client, team, settings, caplog):
    ev = await file_photo(client, team)
    url = f"/api/v1/evidence/{ev['id']}"
    blob_path(settings, ev["sha256"]).unlink()
    with caplog.at_level(logging.INFO):
        body = assert_error(await client.get(f"{url}/original", headers=team.headers["chief"]), 410,
                            "EVIDENCE_BYTES_MISSING")
    assert body["details"] == {"sha256": ev["sha256"], "evidence_id": ev["id"], "file": "original"}
    assert "missing" in body["message"] and "backup" in body["message"]
    assert len(missing_logs(caplog, ev["sha256"])) == 1  # one line for the operator, no stack trace
    assert not any(r.exc_info for r in caplog.records)
    # Its thumbnails are other files: still served, and the record itself still reads.
    assert (await client.get(f"{url}/thumbnail", headers=team.headers["chief"])).status_code == 200
    assert (await client.get(url, headers=team.headers["chief"])).status_code == 200


async def test_a_deleted_thumbnail_answers_410_naming_the_thumbnail(client, db, team, settings):
    ev = await file_photo(client, team)
    async with db() as session:  # the API does not show a thumbnail's digest
        thumbnails = (await session.execute(select(Evidence.thumbnails).where(Evidence.id == uuid.UUID(ev["id"])))).scalar_one()
    small = next(t for t in thumbnails if t["box"] == 256)
    blob_path(settings, small["sha256"]).unlink()
    r = await client.get(f"/api/v1/evidence/{ev['id']}/thumbnail?size=256", headers=team.inspector("DG-CA"))
    body = assert_error(r, 410, "EVIDENCE_BYTES_MISSING")
    assert body["details"] == {"sha256": small["sha256"], "evidence_id": ev["id"], "file": "thumbnail_256"}
    assert r.headers["cache-control"] == "no-store"  # a restore shows at once, no cache keeps the 410
    big = await client.get(f"/api/v1/evidence/{ev['id']}/thumbnail?size=1024", headers=team.inspector("DG-CA"))
    assert big.status_code == 200 and int(big.headers["content-length"]) == len(big.content)


async def test_a_restored_file_is_served_again(client, team, settings):
    ev = await file_photo(client, team)
    path = blob_path(settings, ev["sha256"])
    backup = path.read_bytes()
    path.unlink()
    url = f"/api/v1/evidence/{ev['id']}/original"
    assert_error(await client.get(url, headers=team.headers["chief"]), 410, "EVIDENCE_BYTES_MISSING")
    path.write_bytes(backup)
    r = await client.get(url, headers=team.headers["chief"])
    assert r.status_code == 200 and r.content == backup


async def test_a_truncated_original_answers_410_not_a_200_that_breaks_off(client, team, settings):
    # A partial restore: the file is there, shorter than the bytes the record was filed with.
    ev = await file_photo(client, team)
    path = blob_path(settings, ev["sha256"])
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    url = f"/api/v1/evidence/{ev['id']}/original"
    body = assert_error(await client.get(url, headers=team.headers["chief"]), 410, "EVIDENCE_BYTES_MISSING")
    assert body["details"] == {"sha256": ev["sha256"], "evidence_id": ev["id"], "file": "original",
                               "damaged": f"{len(whole) // 2} of {len(whole)} bytes"}
    assert "damaged" in body["message"]
    path.write_bytes(whole)
    assert (await client.get(url, headers=team.headers["chief"])).content == whole


async def test_an_unreadable_file_answers_503_storage_error_without_its_path(client, team, settings):
    # Root reads any file whatever its mode: a folder where the file should be cannot be read by anyone.
    ev = await file_photo(client, team)
    path = blob_path(settings, ev["sha256"])
    path.unlink()
    path.mkdir()
    body = assert_error(await client.get(f"/api/v1/evidence/{ev['id']}/original", headers=team.headers["chief"]),
                        503, "STORAGE_ERROR")
    assert ev["sha256"] in body["message"] and settings.data_dir not in body["message"]


async def test_the_console_shows_an_error_page_not_a_500(client, db, team, settings):
    from tests.support.console import sign_in

    ev = await file_photo(client, team)
    blob_path(settings, ev["sha256"]).unlink()
    await sign_in(client, db, "chief")
    r = await client.get(f"/console/evidence/{ev['id']}/original")
    assert r.status_code == 410 and "text/html" in r.headers["content-type"]


async def _first_broken(client, team, settings, index: int, says: str) -> str:
    """Check that the endpoint and the command both name entry ``index`` as a broken blob
    with ``says`` in the message; the command's output."""
    r = await client.get("/api/v1/ledger/verify", headers=team.headers["chief"])
    assert r.status_code == 200, r.text
    broken = r.json()["first_broken"]
    assert broken["index"] == index and broken["kind"] == "blob" and says in broken["message"]
    result = await cli(settings, "ledger", "verify")
    assert result.exit_code == 1 and result.output.startswith(f"BROKEN at entry {index} (blob)"), result.output
    return result.output


async def test_ledger_verify_names_the_entry_of_a_missing_or_unreadable_file(client, team, settings):
    first, second = await file_photo(client, team, 1), await file_photo(client, team, 2)
    blob_path(settings, second["sha256"]).unlink()
    output = await _first_broken(client, team, settings, 1, "missing")
    assert second["sha256"] in output and "missing" in output
    path = blob_path(settings, first["sha256"])
    path.unlink()
    path.mkdir()
    await _first_broken(client, team, settings, 0, "could not be read")


async def test_analysing_a_missing_or_unreadable_file_is_a_domain_error(settings):
    runtime = EvidenceRuntime.from_settings(settings)
    try:
        with pytest.raises(BlobNotFound):
            await runtime.analyze("0" * 64)
        folder = blob_path(settings, "1" * 64)
        folder.mkdir(parents=True)
        with pytest.raises(StorageError) as caught:
            await runtime.analyze("1" * 64)
        assert not isinstance(caught.value, BlobNotFound)
    finally:
        runtime.close()
