"""The auditor's script in docs/ledger.md, run as an outsider would run it."""

import hashlib
import json
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from evidence.audit import make_receipt
from evidence.checkpoint import Checkpoint, generate_key_file
from evidence.leaf import canonical_bytes, entry_hash, evidence_entry
from evidence.merkle import TreeState, append, consistency_proof, inclusion_proof, root

DOC = Path(__file__).resolve().parents[2] / "docs" / "ledger.md"
ORIGIN = "spotcheck.example.gov.cn/ledger"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    base = tmp_path_factory.mktemp("auditor")
    script = re.search(r"Save it as `audit_receipt.py`.*?```python\n(.*?)```", DOC.read_text(), re.S).group(1)
    (base / "audit_receipt.py").write_text(script)
    signer = generate_key_file(base / "ledger.key", ORIGIN)
    (base / "ledger.vkey").write_text(signer.verifier_key + "\n")
    photos = [f"photo {i} from the field".encode() for i in range(11)]
    t0 = datetime(2024, 5, 1, tzinfo=timezone.utc)
    entries, receipts, nodes, state = [], [], {}, TreeState()
    for i, photo in enumerate(photos):
        entry = evidence_entry(i, evidence_id=f"ev-{i}", sha256=hashlib.sha256(photo).hexdigest(), size=len(photo),
                               task_id="检查任务-1", inspector_id="insp-2", metadata_sha256="ab" * 32,
                               received_at=t0 + timedelta(minutes=i))
        state, completed = append(state, entry_hash(entry))
        nodes.update({(n.level, n.index): n.hash for n in completed})
        entries.append(entry)
        receipts.append(make_receipt(i, entry_hash(entry), state))
        if state.size in (5, 11):
            (base / f"note{state.size}.txt").write_text(signer.sign(Checkpoint(ORIGIN, state.size, root(state), t0)))
    get = lambda level, index: nodes[(level, index)]  # noqa: E731
    (base / "proof.json").write_text(json.dumps({"proof": [p.hex() for p in consistency_proof(5, 11, get)]}))
    (base / "photo3.jpg").write_bytes(photos[3])
    receipt = receipts[3]
    bundle = {
        "receipt": {"index": receipt.index, "leaf_hash": receipt.leaf_hash, "tree_size": receipt.tree_size,
                    "root": receipt.root},
        "entry": json.loads(canonical_bytes(entries[3])),
        "inclusion_proof": [p.hex() for p in inclusion_proof(3, receipt.tree_size, get)],
        "consistency_proof": [p.hex() for p in consistency_proof(receipt.tree_size, 5, get)],
    }
    (base / "bundle.json").write_text(json.dumps(bundle, ensure_ascii=False))
    (base / "checkpoints").mkdir()
    return base, bundle


def run(base: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "audit_receipt.py", *args], cwd=base, capture_output=True, text=True,
                          timeout=60)


def test_auditor_keeps_checkpoints_and_checks_a_receipt(world):
    base, _ = world
    first = run(base, "checkpoint", "ledger.vkey", "checkpoints", "note5.txt")
    assert first.returncode == 0, first.stderr
    second = run(base, "checkpoint", "ledger.vkey", "checkpoints", "note11.txt", "proof.json")
    assert second.returncode == 0 and "extends the kept checkpoint at size 5" in second.stdout, second.stderr
    good = run(base, "receipt", "ledger.vkey", "checkpoints", "bundle.json", "photo3.jpg")
    assert good.returncode == 0, good.stdout + good.stderr
    assert good.stdout.count("ok ") == 5


def test_auditor_script_catches_a_changed_photo_entry_or_checkpoint(world):
    base, bundle = world
    (base / "fake.jpg").write_bytes(b"photo 3 from the field, retouched")
    fake = run(base, "receipt", "ledger.vkey", "checkpoints", "bundle.json", "fake.jpg")
    assert fake.returncode != 0 and "FAIL: photo bytes" in fake.stderr
    edited = json.loads(json.dumps(bundle))
    edited["entry"]["data"]["task_id"] = "检查任务-2"
    (base / "edited.json").write_text(json.dumps(edited))
    changed = run(base, "receipt", "ledger.vkey", "checkpoints", "edited.json")
    assert changed.returncode != 0 and "FAIL: entry matches" in changed.stderr
    stranger = generate_key_file(base / "stranger.key", ORIGIN)
    (base / "stranger.vkey").write_text(stranger.verifier_key)
    assert run(base, "checkpoint", "stranger.vkey", "checkpoints", "note11.txt").returncode != 0
    (base / "rewritten.txt").write_text((base / "note11.txt").read_text().replace("\n11\n", "\n12\n"))
    assert run(base, "checkpoint", "ledger.vkey", "checkpoints", "rewritten.txt").returncode != 0
