"""Benchmarks of evidence: the library, and the HTTP endpoint on a real uvicorn process.

Each figure is printed beside its physical limit measured in the same run:

1. metadata + thumbnails + pHash per 12-megapixel JPEG, beside a bare draft-mode
   decode at the same DCT scale (the floor) and a full-resolution decode;
2. local store+hash throughput, beside plain write+fsync of the same bytes to the
   same disk;
3. near-duplicate lookup among 10,000,000 stored hashes, beside a full numpy scan;
4. ledger append, proof generation and verification per entry;
5. store+hash throughput of 12-MP JPEGs through ``POST /api/v1/evidence`` (``spotcheck
   serve`` started on 127.0.0.1 by this script, stopped by its pid), beside write+fsync
   of the same bytes to the same disk, and the whole filing (analysis, flags, ledger);
6. peak memory of that server (and its analysis processes) while a 200 MB file arrives,
   above its idle footprint.

Sections 5 and 6 live in bench/evidence_http.py; this script runs them all.

Run: /work/main/.venv/bin/python bench/evidence.py [--hashes N] [--entries N] [--skip-http | --only-http]
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.evidence_http import bench_http, bench_upload_memory  # noqa: E402
from bench.evidence_support import line, photo_12mp, timed, write_plain  # noqa: E402
from evidence.analysis import ImageLimits, analyze  # noqa: E402
from evidence.audit import LedgerRecord, verify_log  # noqa: E402
from evidence.checkpoint import Checkpoint, CheckpointSigner  # noqa: E402
from evidence.leaf import entry_hash, evidence_entry  # noqa: E402
from evidence.merkle import (  # noqa: E402
    TreeState,
    append,
    consistency_proof,
    inclusion_proof,
    root,
    verify_inclusion,
)
from evidence.reuse import NearDuplicateIndex  # noqa: E402
from evidence.storage_local import LocalBlobStore  # noqa: E402


def bench_analysis(repeat: int) -> None:
    data = photo_12mp()
    print(f"\n[1] image analysis, 4000x3000 JPEG of {len(data) / 1e6:.2f} MB, {repeat} runs each")

    def draft(scale_box: tuple[int, int]) -> Callable[[], None]:
        def run() -> None:
            image = Image.open(io.BytesIO(data))
            image.draft("RGB", scale_box)
            image.load()

        return run

    def full() -> None:
        Image.open(io.BytesIO(data)).load()

    probe = Image.open(io.BytesIO(data))
    probe.draft("RGB", (922, 692))
    line(f"floor: bare draft decode at 1/4 ({probe.size[0]}x{probe.size[1]})", timed(draft((922, 692)), repeat))
    line("bare draft decode at 1/8 (500x375)", timed(draft((500, 375)), repeat))
    line("bare full-resolution decode", timed(full, repeat))
    line("analyze(): metadata + 2 thumbnails + pHash (default)", timed(lambda: analyze(data), repeat))
    line("analyze(full_decode=True)", timed(lambda: analyze(data, ImageLimits(full_decode=True)), repeat))
    exact = ImageLimits(thumbnail_slack=0.0)
    line("analyze(thumbnail_slack=0): exact 1024 px box", timed(lambda: analyze(data, exact), repeat))


def _write_store(store: LocalBlobStore, blob: bytes, chunk: int) -> float:
    start = time.perf_counter()
    view = memoryview(blob)
    with store.writer() as writer:
        for offset in range(0, len(blob), chunk):
            writer.write(view[offset : offset + chunk])
        writer.commit()
    return time.perf_counter() - start


def bench_heic(repeat: int) -> None:
    import pillow_heif

    pillow_heif.register_heif_opener()
    image = Image.open(io.BytesIO(photo_12mp()))
    out = io.BytesIO()
    start = time.perf_counter()
    image.save(out, "HEIF", quality=60)
    data = out.getvalue()
    print(f"\n[1b] HEIC, 4000x3000 of {len(data) / 1e6:.2f} MB (encoded in {time.perf_counter() - start:.0f} s),"
          f" {repeat} runs each")
    line("floor: bare decode (libheif has no draft mode)", timed(lambda: Image.open(io.BytesIO(data)).load(), repeat))
    line("analyze(): metadata + 2 thumbnails + pHash", timed(lambda: analyze(data), repeat))


def bench_storage(total_mb: int, rounds: int = 3) -> None:
    blob_mb, chunk = 3, 64 << 10
    count = max(1, total_mb // blob_mb)
    blob = bytearray(os.urandom(blob_mb << 20))
    megabytes = count * blob_mb * 1.048576
    print(f"\n[2] local storage, {count} new blobs of {blob_mb} MiB per round in {chunk >> 10} KiB chunks,"
          f" same disk, {rounds} rounds; each blob goes through the four ways in turn")
    base = Path(tempfile.mkdtemp(prefix="evidence-bench-", dir=os.environ.get("BENCH_DIR")))
    rates: dict[str, list[float]] = {"plain": [], "atomic": [], "fresh": [], "warm": []}
    try:
        warm = LocalBlobStore(base / "warm", max_bytes=64 << 20)
        for first in range(256):  # a store holding ~100k blobs has every shard folder already
            for second in range(256):
                os.makedirs(warm.root / f"{first:02x}" / f"{second:02x}")
        for r in range(rounds):
            for folder in (f"plain{r}", f"atomic{r}", f"atomic{r}/tmp"):
                (base / folder).mkdir()
            fresh = LocalBlobStore(base / f"fresh{r}", max_bytes=64 << 20)
            spent = dict.fromkeys(rates, 0.0)
            for i in range(count):
                # New content every time (or the store would deduplicate it), and the
                # three writers interleaved so that they share the disk's mood.
                blob[:8] = (r * count + i).to_bytes(8, "big")
                spent["plain"] += write_plain(base / f"plain{r}" / str(i), blob, chunk)
                atomic = base / f"atomic{r}"
                spent["atomic"] += write_plain(atomic / "tmp" / str(i), blob, chunk, rename_to=atomic / str(i))
                blob[8] = 1
                spent["fresh"] += _write_store(fresh, blob, chunk)
                blob[8] = 2
                spent["warm"] += _write_store(warm, blob, chunk)
            for key, seconds in spent.items():
                rates[key].append(megabytes / seconds)
    finally:
        shutil.rmtree(base)
    plain = statistics.median(rates["plain"])
    print(f"  {'physical limit: plain write + fsync':<52} {plain:8.1f} MB/s  {[round(x) for x in rates['plain']]}")
    for key, label in (("atomic", "atomic-write floor: + rename + folder fsync, no hash"),
                       ("fresh", "store, empty store (creates shard folders)"),
                       ("warm", "store, shard folders exist (steady state)")):
        rate = statistics.median(rates[key])
        print(f"  {label:<52} {rate:8.1f} MB/s  {[round(x) for x in rates[key]]}  ({rate / plain:.0%} of the limit)")


def bench_lookup(n: int, queries: int) -> None:
    print(f"\n[3] near-duplicate lookup among {n:,} stored hashes (uniform random), {queries} queries")
    rng = np.random.default_rng(7)
    hashes = rng.integers(0, 1 << 63, n, dtype=np.int64).view(np.uint64) * np.uint64(2) + rng.integers(
        0, 2, n, dtype=np.uint64
    )
    start = time.perf_counter()
    index = NearDuplicateIndex(hashes)
    print(f"  {'index build (4 bands of 16 bits)':<52} {time.perf_counter() - start:8.2f} s")
    targets = [int(hashes[i]) for i in rng.integers(0, n, queries)]
    probes = []
    for target in targets:
        for bit in rng.choice(64, 4, replace=False):
            target ^= 1 << int(bit)
        probes.append(target)
    for max_distance in (6, 7, 11):
        samples = []
        for probe in probes:
            start = time.perf_counter()
            found = index.search(probe, max_distance)
            samples.append((time.perf_counter() - start) * 1000)
            assert found, "the planted near-duplicate must be found"
        samples.sort()
        p99 = samples[int(len(samples) * 0.99) - 1]
        print(f"  {f'multi-index search, max distance {max_distance}':<52} median {statistics.median(samples):8.3f} ms"
              f"   p99 {p99:8.3f} ms")
    line("baseline: full numpy scan (XOR + popcount)", timed(lambda: index.scan(probes[0], 7), 5))


def bench_ledger(entries: int) -> None:
    print(f"\n[4] ledger, {entries:,} entries")
    t0 = datetime(2024, 5, 1, tzinfo=timezone.utc)
    records = [
        evidence_entry(i, evidence_id=f"ev-{i}", sha256=f"{i:064x}", size=3_000_000 + i, task_id=f"task-{i % 500}",
                       inspector_id=f"insp-{i % 40}", metadata_sha256="ab" * 32, received_at=t0 + timedelta(seconds=i))
        for i in range(entries)
    ]
    nodes: dict[tuple[int, int], bytes] = {}
    state = TreeState()
    start = time.perf_counter()
    leaves = []
    for record in records:
        leaf = entry_hash(record)
        leaves.append(leaf)
        state, completed = append(state, leaf)
        for node in completed:
            nodes[(node.level, node.index)] = node.hash
    elapsed = time.perf_counter() - start
    print(f"  {'append (canonical encoding + leaf hash + frontier)':<52} {elapsed / entries * 1e6:8.1f} us/entry")
    size, head = state.size, root(state)
    get = lambda level, index: nodes[(level, index)]  # noqa: E731
    rng = np.random.default_rng(3)
    picks = [int(i) for i in rng.integers(0, size, 2000)]
    start = time.perf_counter()
    proofs = [inclusion_proof(i, size, get) for i in picks]
    print(f"  {'inclusion proof generation':<52} {(time.perf_counter() - start) / len(picks) * 1e6:8.1f} us/proof")
    start = time.perf_counter()
    for i, proof in zip(picks, proofs, strict=True):
        verify_inclusion(leaves[i], i, size, proof, head)
    print(f"  {'inclusion proof verification':<52} {(time.perf_counter() - start) / len(picks) * 1e6:8.1f} us/proof")
    start = time.perf_counter()
    for i in picks:
        consistency_proof(max(1, i), size, get)
    print(f"  {'consistency proof generation':<52} {(time.perf_counter() - start) / len(picks) * 1e6:8.1f} us/proof")
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    signer = CheckpointSigner("bench.example/ledger", Ed25519PrivateKey.generate())
    note = signer.sign(Checkpoint(signer.name, size, head, t0))
    line("checkpoint signing (Ed25519, note format)",
         [x * 1000 for x in timed(lambda: signer.sign(Checkpoint(signer.name, size, head, t0)), 200)], "us")
    stored = [LedgerRecord(r, leaf) for r, leaf in zip(records, leaves, strict=True)]
    start = time.perf_counter()
    report = verify_log(stored, [note], signer.verifier())
    elapsed = time.perf_counter() - start
    assert report.ok
    print(f"  {'verify_log replay (no blob re-hash)':<52} {entries / elapsed:8.0f} entries/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hashes", type=int, default=10_000_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--store-mb", type=int, default=240)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--heic", action="store_true", help="also time a 12-MP HEIC (encoding it takes ~20 s)")
    parser.add_argument("--uploads", type=int, default=40, help="12-MP JPEGs sent through the endpoint")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients for the whole-request figure")
    parser.add_argument("--big-mb", type=int, default=200, help="size of the file of the memory figure")
    parser.add_argument("--skip-http", action="store_true", help="only the library figures")
    parser.add_argument("--only-http", action="store_true", help="only the HTTP figures")
    args = parser.parse_args()
    print(f"evidence bench: Python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.platform()}")
    if not args.only_http:
        bench_analysis(args.repeat)
        if args.heic:
            bench_heic(max(3, args.repeat // 3))
        bench_storage(args.store_mb)
        bench_lookup(args.hashes, args.queries)
        bench_ledger(args.entries)
    if not args.skip_http:
        bench_http(args.uploads, args.clients)
        bench_upload_memory(args.big_mb)


if __name__ == "__main__":
    main()
