"""The ledger in the database: receipts an outside auditor can check with the script of
docs/ledger.md, proofs, tampering found at the entry it touched (over HTTP and with
``spotcheck ledger verify``), and appends from concurrent sessions of two engines."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select, text, update

from api.app import create_app
from api.db import make_engine, make_sessionmaker
from api.ledger import append_event, checkpoint_note, inclusion
from api.ledger_verify import verify_ledger
from api.models_evidence import Evidence, LedgerEntryRow
from api.settings import Settings
from evidence.checkpoint import generate_key_file
from evidence.errors import KeyFileError
from evidence.merkle import leaf_hash, verify_inclusion
from tests.support.api import assert_error
from tests.support.evidence import TAKEN, cli, current_team, evidence_settings, photo, upload

DOC = Path(__file__).resolve().parents[2] / "docs" / "ledger.md"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return evidence_settings(database_url, tmp_path, ledger_origin="spotcheck.example.gov.cn/ledger")


@pytest.fixture
async def team(client, db):
    return await current_team(client, db)


async def file_photos(client, team, seeds) -> list[tuple[bytes, dict]]:
    filed = []
    for seed in seeds:
        unit = "DG-CA" if seed % 2 else "DG-HM"
        body = photo(seed, taken=TAKEN)
        r = await upload(client, team.inspector(unit), body, task_id=team.task(unit))
        assert r.status_code == 201, r.text
        filed.append((body, r.json()))
    return filed


async def verify(client, team, **params) -> dict:
    r = await client.get("/api/v1/ledger/verify", params=params, headers=team.headers["chief"])
    assert r.status_code == 200, r.text
    return r.json()


def auditor(base: Path, *args: str) -> subprocess.CompletedProcess[str]:
    script = base / "audit_receipt.py"
    if not script.exists():
        script.write_text(re.search(r"Save it as `audit_receipt.py`.*?```python\n(.*?)```", DOC.read_text(), re.S).group(1))
    return subprocess.run([sys.executable, str(script), *args], cwd=base, capture_output=True, text=True, timeout=60)


async def test_receipts_check_out_with_the_auditors_script(client, team, tmp_path):
    filed = await file_photos(client, team, range(1, 6))
    assert [ev["receipt"]["index"] for _, ev in filed] == [0, 1, 2, 3, 4]
    key = (await client.get("/api/v1/ledger/key", headers=team.inspector("DG-CA"))).text
    assert key.startswith("spotcheck.example.gov.cn/ledger+")
    note = (await client.get("/api/v1/ledger/checkpoint", headers=team.headers["unit-hm"]))
    assert note.status_code == 200 and note.headers["content-type"].startswith("text/plain")
    base = tmp_path / "auditor"
    (base / "kept").mkdir(parents=True)
    (base / "ledger.vkey").write_text(key)
    (base / "note5.txt").write_text(note.text)
    first = auditor(base, "checkpoint", "ledger.vkey", "kept", "note5.txt")
    assert first.returncode == 0 and "signature of checkpoint at size 5" in first.stdout, first.stdout + first.stderr

    body, ev = filed[2]
    receipt = ev["receipt"]
    proof = await client.get(f"/api/v1/ledger/proofs/inclusion?index=2&tree_size={receipt['tree_size']}",
                             headers=team.inspector("DG-CA"))
    assert proof.json()["root"] == receipt["root"] and proof.json()["leaf_hash"] == receipt["leaf_hash"]
    consistency = await client.get(f"/api/v1/ledger/proofs/consistency?old_size={receipt['tree_size']}&new_size=5",
                                   headers=team.inspector("DG-CA"))
    assert consistency.json()["old_root"] == receipt["root"]
    bundle = {"receipt": receipt, "entry": ev["ledger_entry"], "inclusion_proof": proof.json()["proof"],
              "consistency_proof": consistency.json()["proof"]}
    (base / "bundle.json").write_text(json.dumps(bundle, ensure_ascii=False))
    (base / "photo.jpg").write_bytes(body)
    checked = auditor(base, "receipt", "ledger.vkey", "kept", "bundle.json", "photo.jpg")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count("ok ") == 5 and "FAIL" not in checked.stdout
    (base / "other.jpg").write_bytes(filed[3][0])
    wrong = auditor(base, "receipt", "ledger.vkey", "kept", "bundle.json", "other.jpg")
    assert wrong.returncode == 1 and "FAIL: photo bytes match" in wrong.stderr

    # The log grows; the next checkpoint must extend the kept one.
    await file_photos(client, team, range(6, 9))
    (base / "note8.txt").write_text((await client.get("/api/v1/ledger/checkpoint", headers=team.headers["chief"])).text)
    extension = await client.get("/api/v1/ledger/proofs/consistency?old_size=5&new_size=8", headers=team.headers["chief"])
    (base / "proof.json").write_text(json.dumps({"proof": extension.json()["proof"]}))
    grown = auditor(base, "checkpoint", "ledger.vkey", "kept", "note8.txt", "proof.json")
    assert grown.returncode == 0 and "size 8 extends the kept checkpoint at size 5" in grown.stdout, grown.stdout


async def test_proof_requests_outside_the_log_are_422(client, team):
    await file_photos(client, team, [1, 2])
    chief = team.headers["chief"]
    for query in ("inclusion?index=2&tree_size=2", "inclusion?index=0&tree_size=3", "consistency?old_size=2&new_size=1",
                  "consistency?old_size=0&new_size=9"):
        assert_error(await client.get(f"/api/v1/ledger/proofs/{query}", headers=chief), 422, "OUT_OF_RANGE")
    assert_error(await client.get("/api/v1/ledger/proofs/inclusion?index=-1&tree_size=2", headers=chief), 422)
    assert (await client.get("/api/v1/ledger/proofs/consistency?old_size=2&new_size=2", headers=chief)).json()["proof"] == []
    assert_error(await client.get("/api/v1/ledger/verify", headers=team.inspector("DG-CA")), 403)
    assert_error(await client.get("/api/v1/ledger/entries/0", headers=team.inspector("DG-CA")), 403)
    entry = await client.get("/api/v1/ledger/entries/1", headers=chief)
    assert entry.json()["seq"] == 1 and entry.json()["type"] == "evidence.received"
    assert_error(await client.get("/api/v1/ledger/entries/2", headers=chief), 404)


async def test_a_changed_byte_of_a_stored_photo_is_reported_at_its_entry(client, team, settings):
    filed = await file_photos(client, team, [1, 2, 3])
    assert (await client.get("/api/v1/ledger/checkpoint", headers=team.headers["chief"])).status_code == 200
    report = await verify(client, team)
    assert report["ok"] and (report["entries"], report["checkpoints"], report["verified_size"]) == (3, 1, 3)
    ok = await cli(settings, "ledger", "verify")
    assert ok.exit_code == 0 and ok.output.startswith("OK: 3 entries, 1 signed checkpoint(s)"), ok.output
    # An auditor's copy of the published key, given as the key or as the file holding it.
    key = (await cli(settings, "ledger", "key")).output.strip()
    (Path(settings.data_dir) / "published.vkey").write_text(key + "\n")
    for given in (key, str(Path(settings.data_dir) / "published.vkey")):
        assert (await cli(settings, "ledger", "verify", "--no-blobs", "--verifier-key", given)).exit_code == 0
    wrong = await cli(settings, "ledger", "verify", "--verifier-key", "not+a+key")
    assert wrong.exit_code == 2 and "--verifier-key" in wrong.output, wrong.output  # a usage error, not a broken ledger

    sha = filed[1][1]["sha256"]
    path = Path(settings.data_dir) / "evidence" / sha[:2] / sha[2:4] / sha
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    report = await verify(client, team)
    assert not report["ok"] and report["first_broken"]["index"] == 1 and report["first_broken"]["kind"] == "blob"
    broken = await cli(settings, "ledger", "verify")
    assert broken.exit_code == 1 and broken.output.startswith("BROKEN at entry 1 (blob)"), broken.output
    # Without re-hashing photos the records themselves still check out.
    assert (await verify(client, team, blobs="false"))["ok"]
    assert (await cli(settings, "ledger", "verify", "--no-blobs")).exit_code == 0


async def test_a_changed_field_of_a_stored_entry_is_reported_at_that_entry(client, db, team, settings):
    filed = await file_photos(client, team, [1, 2, 3, 4])
    await client.get("/api/v1/ledger/checkpoint", headers=team.headers["chief"])
    size = filed[2][1]["size"]
    async with db() as session:
        row = (await session.execute(select(LedgerEntryRow).where(LedgerEntryRow.seq == 2))).scalar_one()
        row.entry = row.entry.replace(f'"size":{size}', f'"size":{size + 1}')
        await session.commit()
    report = await verify(client, team)
    assert report["first_broken"]["index"] == 2 and report["first_broken"]["kind"] == "record"
    broken = await cli(settings, "ledger", "verify", "--no-blobs")
    assert broken.exit_code == 1 and "BROKEN at entry 2 (record)" in broken.output
    async with db() as session:  # one byte that breaks the JSON itself
        await session.execute(update(LedgerEntryRow).where(LedgerEntryRow.seq == 1).values(entry='{"data":'))
        await session.commit()
    assert (await verify(client, team))["first_broken"]["index"] == 1


async def test_a_changed_evidence_record_is_reported_at_its_entry(client, db, team):
    filed = await file_photos(client, team, [1, 2, 3])
    async with db() as session:
        row = (await session.execute(select(Evidence).where(Evidence.ledger_seq == 1))).scalar_one()
        row.photo_metadata = {**row.photo_metadata, "capture_time": "2020-01-01T09:00:00+08:00"}
        await session.commit()
    report = await verify(client, team)
    assert report["first_broken"] == {"index": 1, "kind": "record",
                                      "message": "evidence record's metadata no longer hashes to the recorded metadata_sha256"}
    async with db() as session:
        await session.execute(update(Evidence).where(Evidence.ledger_seq == 0).values(uploaded_by="insp02"))
        await session.commit()
    report = await verify(client, team)
    assert report["first_broken"]["index"] == 0 and "inspector_id" in report["first_broken"]["message"]
    assert filed[0][1]["uploaded_by"] == "insp01"


async def test_a_changed_column_a_chief_is_shown_is_reported_at_its_entry(client, db, team, database_url):
    """The columns that repeat the ledgered metadata (capture time, position) or the task
    (unit) are checked against it too; a time no longer readable is reported, not raised."""
    await file_photos(client, team, [1, 2, 3, 4])
    edits = [(2, {"capture_time": datetime(2026, 11, 21, 2, 30, tzinfo=timezone.utc)}, "capture_time"), (1, {"gps_lat": 23.0}, "gps_lat"),
             (0, {"unit_code": "DG-HM"}, "unit_code")]
    for seq, values, named in edits:
        async with db() as session:
            await session.execute(update(Evidence).where(Evidence.ledger_seq == seq).values(**values))
            await session.commit()
        broken = (await verify(client, team, blobs="false"))["first_broken"]
        assert (broken["index"], broken["kind"]) == (seq, "record") and named in broken["message"], broken
    if database_url.startswith("sqlite"):  # PostgreSQL's typed columns cannot hold a time that is not one
        async with db() as session:
            await session.execute(text("UPDATE evidence SET received_at = '' WHERE ledger_seq = 0"))
            await session.commit()
        broken = (await verify(client, team, blobs="false"))["first_broken"]
        assert (broken["index"], broken["kind"]) == (0, "record") and "unreadable" in broken["message"], broken


async def test_a_rewritten_entry_with_its_leaf_hash_is_caught_by_the_signed_checkpoint(client, db, team):
    await file_photos(client, team, [1])
    async with db() as session:
        for n in range(3):
            await append_event(session, "deduction.confirmed", {"deduction_id": f"d-{n}", "points": "2.5"})
            await session.commit()
    assert (await client.get("/api/v1/ledger/checkpoint", headers=team.headers["chief"])).text.split("\n")[1] == "4"
    assert (await verify(client, team))["ok"]
    async with db() as session:
        row = (await session.execute(select(LedgerEntryRow).where(LedgerEntryRow.seq == 2))).scalar_one()
        row.entry = row.entry.replace('"points":"2.5"', '"points":"0.5"')
        row.leaf_hash = leaf_hash(row.entry.encode())
        await session.commit()
    report = await verify(client, team)
    assert report["first_broken"]["kind"] == "checkpoint" and report["first_broken"]["index"] == 0
    assert report["verified_size"] == 0


async def test_concurrent_appends_from_two_engines_keep_one_consistent_log(database_url, db, tmp_path):
    signer = generate_key_file(tmp_path / "ledger.key", "test/ledger")
    engines = [make_engine(database_url, pool_size=4) for _ in range(2)]  # two app instances, one database
    makers = [make_sessionmaker(e) for e in engines]

    async def decide(n: int):
        async with makers[n % 2]() as session:
            await asyncio.sleep(0)
            receipt = await append_event(session, "deduction.confirmed", {"deduction_id": f"d-{n}", "by_engine": n % 2})
            await session.commit()
            return receipt

    try:
        receipts = list(await asyncio.gather(*(decide(n) for n in range(24))))
        async with makers[0]() as session:
            note = await checkpoint_note(session, signer)
            report = await verify_ledger(session, signer.verifier(), None)
            final_root = bytes(note.root)
            proofs = [await inclusion(session, r.index, 24) for r in receipts]
    finally:
        for engine in engines:
            await engine.dispose()
    assert sorted(r.index for r in receipts) == list(range(24)) and {r.tree_size for r in receipts} == set(range(1, 25))
    assert report.ok and report.entries == 24 and report.verified_size == 24
    for receipt, proof in zip(receipts, proofs, strict=True):
        verify_inclusion(bytes.fromhex(receipt.leaf_hash), receipt.index, 24, [bytes.fromhex(p) for p in proof["proof"]],
                         final_root)
    async with db() as session:
        types = (await session.execute(select(LedgerEntryRow.event_type))).scalars().all()
    assert types == ["deduction.confirmed"] * 24


async def test_the_signing_key_is_created_once_outside_the_database_and_kept_private(settings, tmp_path):
    key_file = Path(settings.data_dir) / "ledger.key"
    keys = []
    for _ in range(2):  # a restart reads the same key back
        async with AsyncTestClient(app=create_app(settings)) as client:
            await client.get("/healthz")
        keys.append(key_file.read_text())
        assert key_file.stat().st_mode & 0o777 == 0o600
    assert keys[0] == keys[1] and keys[0].startswith("PRIVATE+KEY+spotcheck.example.gov.cn/ledger+")
    key_file.chmod(0o644)  # readable by others: refuse to start rather than sign with a leaked key
    with pytest.raises(BaseExceptionGroup) as failed:
        async with AsyncTestClient(app=create_app(settings)) as client:
            await client.get("/healthz")
    assert failed.group_contains(KeyFileError, match="chmod 600", depth=None)

