"""The evidence disk fills up (a real ENOSPC: a 2 MiB tmpfs as SPOTCHECK_EVIDENCE_DIR).

Photos that do not fit, by direct or resumable upload, get 507 STORAGE_FULL with nothing
partial kept (no blob, no temporary file, no evidence row, no ledger entry); evidence
filed earlier stays intact and readable. Mounting needs root, as in CI.
"""

from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path
from typing import Iterator

import pytest
from PIL import Image
from sqlalchemy import func, select

from api.models_evidence import Evidence
from api.settings import Settings
from tests.evidence.images import encode
from tests.support.api import assert_error
from tests.support.evidence import current_team, digest, evidence_settings, photo, stored_files, upload

MIB = 1024 * 1024
TUS = {"Tus-Resumable": "1.0.0"}
CHUNK = {**TUS, "Content-Type": "application/offset+octet-stream"}


@pytest.fixture
def evidence_fs(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "evidence-fs"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


@pytest.fixture
def settings(database_url: str, tmp_path: Path, evidence_fs: Path) -> Settings:
    return evidence_settings(database_url, tmp_path, evidence_dir=str(evidence_fs), evidence_max_bytes=4 * MIB)


@pytest.fixture
async def team(client, db):
    return await current_team(client, db)


def noise(seed: int, size: tuple[int, int]) -> bytes:
    """A JPEG of random pixels: barely compressible, so its size is predictable."""
    rng = random.Random(seed)
    pixels = Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))
    return encode(pixels, "JPEG", quality=95)


def free_bytes(path: Path) -> int:
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


async def evidence_count(db) -> int:
    async with db() as session:
        return (await session.execute(select(func.count()).select_from(Evidence))).scalar_one()


async def ledger_size(client, team) -> int:
    return int((await client.get("/api/v1/ledger/checkpoint", headers=team.headers["chief"])).text.split("\n")[1])


async def file_first_photo(client, team) -> tuple[bytes, dict]:
    body = photo(1, size=(320, 240))
    r = await upload(client, team.inspector("DG-CA"), body, task_id=team.task("DG-CA"))
    assert r.status_code == 201, r.text
    return body, r.json()


async def assert_intact(client, team, body: bytes, filed: dict) -> None:
    """Evidence filed before the disk filled up reads back byte for byte, thumbnail too."""
    chief = team.headers["chief"]
    original = await client.get(f"/api/v1/evidence/{filed['id']}/original", headers=chief)
    assert original.status_code == 200 and original.content == body
    assert (await client.get(f"/api/v1/evidence/{filed['id']}/thumbnail", headers=chief)).status_code == 200
    report = (await client.get("/api/v1/ledger/verify", headers=chief)).json()
    assert report["ok"], report


async def test_a_photo_that_does_not_fit_is_refused_with_nothing_kept(client, team, db, settings, evidence_fs):
    body, filed = await file_first_photo(client, team)
    before, entries = stored_files(evidence_fs), await ledger_size(client, team)
    big = noise(2, (1700, 1250))
    assert free_bytes(evidence_fs) < len(big) < settings.evidence_max_bytes
    r = await upload(client, team.inspector("DG-CA"), big, task_id=team.task("DG-CA"))
    assert_error(r, 507, "STORAGE_FULL")
    assert stored_files(evidence_fs) == before  # no blob, no temporary file
    assert await evidence_count(db) == 1 and await ledger_size(client, team) == entries
    await assert_intact(client, team, body, filed)


async def test_a_photo_whose_thumbnails_do_not_fit_is_taken_back(client, team, db, settings, evidence_fs):
    body, filed = await file_first_photo(client, team)
    second = photo(3, size=(1024, 768))
    # Leave room for the photo itself but not for its thumbnails (tmpfs counts 4 KiB pages).
    room = -(-len(second) // 4096) * 4096 + 4096
    (evidence_fs / "filler").write_bytes(bytes(free_bytes(evidence_fs) - room))
    before, entries = stored_files(evidence_fs), await ledger_size(client, team)
    r = await upload(client, team.inspector("DG-CA"), second, task_id=team.task("DG-CA"))
    assert_error(r, 507, "STORAGE_FULL")
    assert stored_files(evidence_fs) == before  # the photo stored first was deleted again
    assert await evidence_count(db) == 1 and await ledger_size(client, team) == entries
    await assert_intact(client, team, body, filed)
    (evidence_fs / "filler").unlink()  # room again: the same photo goes through
    again = await upload(client, team.inspector("DG-CA"), second, task_id=team.task("DG-CA"))
    assert again.status_code == 201 and again.json()["sha256"] == digest(second)


async def test_a_resumable_upload_that_does_not_fit(client, team, db, settings, evidence_fs):
    body, filed = await file_first_photo(client, team)
    insp = team.inspector("DG-CA")
    before = stored_files(evidence_fs)
    # A chunk larger than the free space: refused, nothing of it kept, the offset unchanged.
    big = noise(4, (1700, 1250))
    location = (await client.post("/api/v1/uploads", headers={**insp, **TUS, "Upload-Length": str(len(big))})).headers["location"]
    assert_error(await client.patch(location, content=big, headers={**insp, **CHUNK, "Upload-Offset": "0"}), 507, "STORAGE_FULL")
    assert stored_files(evidence_fs) == before
    assert (await client.head(location, headers={**insp, **TUS})).headers["upload-offset"] == "0"
    assert (await client.delete(location, headers={**insp, **TUS})).status_code == 204
    # Chunks that fit, but the assembled photo does not fit beside them: the filing is
    # refused; the received chunks stay for a retry until the upload is abandoned.
    medium = noise(5, (1200, 900))
    assert len(medium) < free_bytes(evidence_fs) < 2 * len(medium)
    location = (await client.post("/api/v1/uploads", headers={**insp, **TUS, "Upload-Length": str(len(medium))})).headers["location"]
    half = len(medium) // 2
    assert (await client.patch(location, content=medium[:half], headers={**insp, **CHUNK, "Upload-Offset": "0"})).status_code == 204
    last = await client.patch(location, content=medium[half:], headers={**insp, **CHUNK, "Upload-Offset": str(half)})
    assert_error(last, 507, "STORAGE_FULL")
    assert (await client.head(location, headers={**insp, **TUS})).headers["upload-offset"] == str(len(medium))
    assert await evidence_count(db) == 1
    assert [f for f in stored_files(evidence_fs) if ".tmp" in f] == []
    assert (await client.delete(location, headers={**insp, **TUS})).status_code == 204
    assert stored_files(evidence_fs) == before
    await assert_intact(client, team, body, filed)
