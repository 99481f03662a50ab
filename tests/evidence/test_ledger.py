"""Leaf encoding, signed checkpoints, and replaying the log to find the first broken entry."""

import hashlib
import json
import os
from datetime import datetime, timedelta, timezone

import msgspec
import pytest

from evidence.audit import BreakKind, LedgerRecord, blob_checker, verify_log
from evidence.checkpoint import (
    Checkpoint,
    CheckpointVerifier,
    checkpoint_body,
    generate_key_file,
    load_signer,
    parse_checkpoint,
)
from evidence.errors import InvalidCheckpoint, InvalidSignature, KeyFileError, LedgerError
from evidence.leaf import LedgerEntry, canonical_bytes, decode_entry, entry_hash, evidence_entry
from evidence.merkle import TreeState, append, root
from evidence.storage import put_bytes
from evidence.storage_local import LocalBlobStore

ORIGIN = "spotcheck.example.gov.cn/ledger"
T0 = datetime(2024, 5, 1, 1, 30, 15, 123456, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def signer(tmp_path_factory):
    return generate_key_file(tmp_path_factory.mktemp("keys") / "ledger.key", ORIGIN)


def entry(seq: int, sha256: str = "ab" * 32, size: int = 1000) -> LedgerEntry:
    return evidence_entry(
        seq, evidence_id=f"ev-{seq}", sha256=sha256, size=size, task_id=f"task-{seq % 3}",
        inspector_id="张三", metadata_sha256="cd" * 32, received_at=T0 + timedelta(seconds=seq),
    )


# ---- canonical leaves ----------------------------------------------------------


def test_canonical_bytes_are_stdlib_json_with_sorted_keys():
    e = entry(7)
    raw = canonical_bytes(e)
    assert raw.startswith(b'{"data":{"evidence_id":"ev-7","inspector_id":"\xe5\xbc\xa0\xe4\xb8\x89",')
    assert b'"seq":7,"time":"2024-05-01T01:30:22.123456Z","type":"evidence.received","v":1}' in raw
    document = json.loads(raw)
    assert json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() == raw
    assert decode_entry(raw) == e
    assert entry_hash(e) == hashlib.sha256(b"\x00" + raw).digest()


def test_same_instant_in_another_zone_encodes_identically():
    local = msgspec.structs.replace(entry(1), received_at=(T0 + timedelta(seconds=1)).astimezone(timezone(timedelta(hours=8))))
    assert canonical_bytes(local) == canonical_bytes(entry(1))


def test_generic_events_can_carry_deduction_decisions():
    decision = LedgerEntry(12, "deduction.confirmed", T0, {"deduction_id": "d-9", "points": "2.5", "veto": False})
    assert decode_entry(canonical_bytes(decision)) == decision


@pytest.mark.parametrize(
    "bad",
    [
        LedgerEntry(-1, "evidence.received", T0, {}),
        LedgerEntry(0, "Evidence Received", T0, {}),
        LedgerEntry(0, "evidence.received", T0.replace(tzinfo=None), {}),
        LedgerEntry(0, "evidence.received", T0, {"points": 2.5}),
        LedgerEntry(0, "evidence.received", T0, {"Bad-Key": "x"}),
        LedgerEntry(0, "evidence.received", T0, {"nested": ["no"]}),
        LedgerEntry(0, "evidence.received", T0, {"big": 1 << 64}),
        LedgerEntry(0, "evidence.received", T0, {"text": "\ud800"}),
    ],
)
def test_values_without_a_canonical_form_are_refused(bad):
    with pytest.raises(LedgerError):
        canonical_bytes(bad)


def test_non_canonical_bytes_are_refused():
    raw = canonical_bytes(entry(3))
    with pytest.raises(LedgerError):
        decode_entry(json.dumps(json.loads(raw), indent=1).encode())
    with pytest.raises(LedgerError):
        decode_entry(b"not json")


# ---- checkpoints and keys ------------------------------------------------------


def test_signed_checkpoint_round_trip_in_note_format(signer):
    cp = Checkpoint(ORIGIN, 42, hashlib.sha256(b"r").digest(), datetime(2024, 5, 1, 8, 0, tzinfo=timezone.utc))
    note = signer.sign(cp)
    body, signature_line = note.split("\n\n")
    assert body + "\n" == checkpoint_body(cp)
    assert body.split("\n")[:2] == [ORIGIN, "42"] and body.endswith("time 2024-05-01T08:00:00Z")
    assert signature_line.startswith(f"\u2014 {ORIGIN} ")
    verifier = CheckpointVerifier.from_key(signer.verifier_key)
    assert verifier.open(note) == cp
    assert parse_checkpoint(checkpoint_body(cp)) == cp


def test_tampered_or_foreign_checkpoints_are_rejected(signer, tmp_path):
    cp = Checkpoint(ORIGIN, 42, hashlib.sha256(b"r").digest(), datetime(2024, 5, 1, tzinfo=timezone.utc))
    note = signer.sign(cp)
    verifier = signer.verifier()
    with pytest.raises(InvalidSignature):
        verifier.open(note.replace("\n42\n", "\n43\n"))
    stranger = generate_key_file(tmp_path / "other.key", ORIGIN)
    with pytest.raises(InvalidSignature):
        verifier.open(stranger.sign(cp))
    cosigned = stranger.sign_note(checkpoint_body(cp)) + note.split("\n\n")[1]
    assert verifier.open(cosigned) == cp  # unknown extra signatures are ignored
    with pytest.raises(InvalidCheckpoint):
        verifier.open(note, origin="another.log/ledger")
    with pytest.raises(InvalidCheckpoint):
        verifier.open("no signature block\n")


def test_key_file_is_private_never_overwritten_and_reloads(signer, tmp_path):
    path = tmp_path / "k.key"
    created = generate_key_file(path, ORIGIN)
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert load_signer(path).verifier_key == created.verifier_key
    with pytest.raises(KeyFileError):
        generate_key_file(path, ORIGIN)
    os.chmod(path, 0o644)
    with pytest.raises(KeyFileError):
        load_signer(path)
    bad = tmp_path / "bad.key"
    bad.write_text("PRIVATE+KEY+x+00000000+AAAA\n")
    os.chmod(bad, 0o600)
    with pytest.raises(KeyFileError):
        load_signer(bad)
    with pytest.raises(KeyFileError):
        load_signer(tmp_path / "missing.key")


# ---- replaying the log ---------------------------------------------------------


class Ledger:
    """The log as api/ keeps it: records with their leaf hash, and signed checkpoints."""

    def __init__(self, signer, entries, checkpoint_every=4):
        self.records = []
        self.notes = []
        state = TreeState()
        for e in entries:
            state, _ = append(state, entry_hash(e))
            self.records.append(LedgerRecord(e, entry_hash(e)))
            if state.size % checkpoint_every == 0:
                self.notes.append(signer.sign(Checkpoint(ORIGIN, state.size, root(state), T0)))


def test_an_intact_log_verifies(signer):
    ledger = Ledger(signer, [entry(i) for i in range(10)])
    report = verify_log(ledger.records, ledger.notes, signer.verifier())
    assert report.ok and report.entries == 10 and report.verified_size == 8 and report.checkpoints == 2


def test_one_changed_field_fails_at_that_entry(signer):
    ledger = Ledger(signer, [entry(i) for i in range(10)])
    changed = ledger.records[6]
    ledger.records[6] = LedgerRecord(msgspec.structs.replace(changed.entry, data={**changed.entry.data, "task_id": "task-x"}),
                                     changed.leaf_hash)
    report = verify_log(ledger.records, ledger.notes, signer.verifier())
    assert not report.ok
    assert (report.first_broken.index, report.first_broken.kind) == (6, BreakKind.RECORD)


def test_a_field_changed_into_something_unencodable_fails_at_that_entry(signer):
    ledger = Ledger(signer, [entry(i) for i in range(6)])
    changed = ledger.records[2]
    ledger.records[2] = LedgerRecord(msgspec.structs.replace(changed.entry, data={**changed.entry.data, "size": 1.5}),
                                     changed.leaf_hash)
    report = verify_log(ledger.records, ledger.notes, signer.verifier())
    assert (report.first_broken.index, report.first_broken.kind) == (2, BreakKind.RECORD)


def test_a_rewritten_record_and_leaf_hash_are_caught_by_the_checkpoint(signer):
    ledger = Ledger(signer, [entry(i) for i in range(10)])
    forged = msgspec.structs.replace(ledger.records[5].entry, data={**ledger.records[5].entry.data, "size": 1})
    ledger.records[5] = LedgerRecord(forged, entry_hash(forged))
    report = verify_log(ledger.records, ledger.notes, signer.verifier())
    assert (report.first_broken.index, report.first_broken.kind) == (4, BreakKind.CHECKPOINT)
    assert report.verified_size == 4


def test_gaps_swaps_and_truncation_are_reported(signer):
    ledger = Ledger(signer, [entry(i) for i in range(10)])
    swapped = ledger.records[:3] + [ledger.records[4], ledger.records[3]] + ledger.records[5:]
    assert verify_log(swapped, ledger.notes, signer.verifier()).first_broken.index == 3
    truncated = verify_log(ledger.records[:7], ledger.notes, signer.verifier())
    assert (truncated.first_broken.index, truncated.first_broken.kind) == (7, BreakKind.MISSING)


def test_one_changed_byte_of_a_stored_blob_fails_at_its_entry(signer, tmp_path):
    store = LocalBlobStore(tmp_path / "blobs")
    blobs = [put_bytes(store, f"photo number {i}".encode()) for i in range(6)]
    ledger = Ledger(signer, [entry(i, b.sha256, b.size) for i, b in enumerate(blobs)])
    check = blob_checker(store)
    assert verify_log(ledger.records, ledger.notes, signer.verifier(), blob_check=check).ok
    path = store.path(blobs[4].sha256)
    os.chmod(path, 0o644)
    raw = bytearray(path.read_bytes())
    raw[0] ^= 0x20
    path.write_bytes(bytes(raw))
    report = verify_log(ledger.records, ledger.notes, signer.verifier(), blob_check=check)
    assert (report.first_broken.index, report.first_broken.kind) == (4, BreakKind.BLOB)
    store.delete(blobs[2].sha256)
    report = verify_log(ledger.records, ledger.notes, signer.verifier(), blob_check=check)
    assert report.first_broken.index == 2 and "missing" in report.first_broken.reason


def test_forged_or_forked_checkpoints_raise_before_any_entry_is_trusted(signer, tmp_path):
    ledger = Ledger(signer, [entry(i) for i in range(8)])
    stranger = generate_key_file(tmp_path / "s.key", ORIGIN)
    with pytest.raises(InvalidSignature):
        verify_log(ledger.records, [stranger.sign(Checkpoint(ORIGIN, 8, b"\x00" * 32))], signer.verifier())
    fork = signer.sign(Checkpoint(ORIGIN, 8, b"\x01" * 32, T0))
    with pytest.raises(InvalidCheckpoint):
        verify_log(ledger.records, ledger.notes + [fork], signer.verifier())


def test_note_format_matches_the_go_reference_implementation_byte_for_byte(tmp_path):
    # The example key and note of golang.org/x/mod/sumdb/note; Ed25519 is deterministic.
    skey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
    vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    text = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
    expected = text + "\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
    path = tmp_path / "peter.key"
    path.write_text(skey + "\n")
    os.chmod(path, 0o600)
    signer = load_signer(path)
    assert signer.verifier_key == vkey
    assert signer.sign_note(text) == expected
    assert CheckpointVerifier.from_key(vkey).verify_note(expected) == text
