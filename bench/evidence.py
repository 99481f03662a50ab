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

Run: /work/main/.venv/bin/python bench/evidence.py [--hashes N] [--entries N] [--skip-http]
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    """Wall-clock milliseconds of ``repeat`` calls (after one warm-up call)."""
    fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def line(label: str, samples: list[float], unit: str = "ms") -> None:
    print(f"  {label:<52} median {statistics.median(samples):8.2f} {unit}   min {min(samples):8.2f} {unit}")


def photo_12mp(seed: int = 1) -> bytes:
    """A 4000x3000 photo-like JPEG of about 3 MB with camera EXIF and GPS."""
    rng = np.random.default_rng(seed)
    base = Image.fromarray(rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)).resize((4000, 3000), Image.BICUBIC)
    noise = rng.normal(0, 5, (3000, 4000, 3)).astype(np.float32)
    pixels = np.clip(np.asarray(base, dtype=np.float32) + noise, 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels)
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "Xiaomi", "Mi 11", 6
    exif.get_ifd(0x8769)[0x9003] = "2024:05:01 09:30:15"
    exif.get_ifd(0x8769)[0x9011] = "+08:00"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (31.0, 13.0, 49.44), "E", (121.0, 28.0, 25.32)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


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


def _write_plain(path: Path, blob: bytes, chunk: int, rename_to: Path | None = None) -> float:
    start = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    view = memoryview(blob)
    for offset in range(0, len(blob), chunk):
        os.write(fd, view[offset : offset + chunk])
    os.fsync(fd)
    os.close(fd)
    if rename_to is not None:
        os.rename(path, rename_to)
        folder = os.open(rename_to.parent, os.O_RDONLY | os.O_DIRECTORY)
        os.fsync(folder)
        os.close(folder)
    return time.perf_counter() - start


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
                spent["plain"] += _write_plain(base / f"plain{r}" / str(i), blob, chunk)
                atomic = base / f"atomic{r}"
                spent["atomic"] += _write_plain(atomic / "tmp" / str(i), blob, chunk, rename_to=atomic / str(i))
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


ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PASSWORD = "bench-password-1"


class Server:
    """``spotcheck serve`` (one uvicorn worker) on 127.0.0.1 with a fresh data folder."""

    def __init__(self, data: Path, max_bytes: int) -> None:
        self.data = data
        for first in range(256):  # steady state: a store of ~100k photos has every shard folder
            for second in range(256):
                os.makedirs(data / "evidence" / f"{first:02x}" / f"{second:02x}")
        self.env = {**os.environ, "SPOTCHECK_DATA_DIR": str(data), "SPOTCHECK_LOG_LEVEL": "WARNING",
                    "SPOTCHECK_EVIDENCE_MAX_BYTES": str(max_bytes), "PYTHONPATH": str(ROOT)}
        self._cli("migrate")
        self._cli("users", "add", "bench", "--role", "inspector", "--password-stdin", stdin=PASSWORD + "\n")
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen([str(BIN / "spotcheck"), "serve", "--port", str(port)], env=self.env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        import httpx

        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError("server did not start")
            time.sleep(0.2)
        token = httpx.post(f"{self.url}/api/v1/auth/token", json={"username": "bench", "password": PASSWORD}).json()
        self.headers = {"Authorization": f"Bearer {token['access_token']}", "Content-Type": "image/jpeg"}

    def _cli(self, *args: str, stdin: str | None = None) -> None:
        subprocess.run([str(BIN / "spotcheck"), *args], env=self.env, input=stdin, text=True, check=True,
                       capture_output=True)

    def rss_mb(self) -> float:
        """Resident memory of the server and every process under it (the analysis pool)."""
        total, pending = 0, [self.process.pid]
        while pending:
            pid = pending.pop()
            try:
                with open(f"/proc/{pid}/status") as f:
                    total += next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
                with open(f"/proc/{pid}/task/{pid}/children") as f:
                    pending += [int(c) for c in f.read().split()]
            except (FileNotFoundError, ProcessLookupError, StopIteration):
                continue
        return total / 1024

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


DRAIN_APP = """
import sys, time, uvicorn

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    start = time.perf_counter()
    while (await receive()).get("more_body"):
        pass
    ms = (time.perf_counter() - start) * 1000
    await send({"type": "http.response.start", "status": 200, "headers": [(b"server-timing", b"drain;dur=%.2f" % ms)]})
    await send({"type": "http.response.body", "body": b""})

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", lifespan="off")
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _drain_ms(bodies: list[bytes]) -> float:
    """Median server-side time to receive each body with a bare uvicorn app that drops it:
    the HTTP floor, whatever the endpoint then does with the bytes."""
    import httpx

    port = _free_port()
    process = subprocess.Popen([sys.executable, "-c", DRAIN_APP, str(port)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        with httpx.Client(timeout=60) as client:
            for _ in range(100):
                try:
                    client.get(f"http://127.0.0.1:{port}/")
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            return sum(_server_timing(client.post(f"http://127.0.0.1:{port}/", content=b).headers["server-timing"])["drain"]
                       for b in bodies)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


def _variant(jpeg: bytes, n: int) -> bytes:
    """The same photo with a different JPEG comment: new bytes (no deduplication), same pixels."""
    comment = f"bench upload {n}".encode()
    return jpeg[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + jpeg[2:]


def _server_timing(header: str) -> dict[str, float]:
    parts = (item.split(";dur=") for item in header.split(", ") if ";dur=" in item)
    return {name: float(ms) for name, ms in parts}


def bench_http(count: int, concurrency: int) -> None:
    import httpx

    photos = [photo_12mp(seed) for seed in (11, 12, 13)]
    size_mb = statistics.mean(len(p) for p in photos) / 1e6
    print(f"\n[5] POST /api/v1/evidence on uvicorn (1 worker, 2 analysis processes), {count} 12-MP JPEGs of"
          f" {size_mb:.2f} MB, same disk as the write+fsync floor, shard folders present (steady state)")
    base = Path(tempfile.mkdtemp(prefix="evidence-bench-http-", dir=os.environ.get("BENCH_DIR")))
    server = Server(base / "data", 64 << 20)
    try:
        (base / "plain").mkdir()
        bodies = [_variant(photos[i % len(photos)], i) for i in range(count + 2)]
        with httpx.Client(timeout=120) as client:
            for body in bodies[:2]:  # warm-up: the analysis processes start, the database file grows
                client.post(f"{server.url}/api/v1/evidence", content=body, headers=server.headers).raise_for_status()
            plain_s, receive_s, total_s, stored = 0.0, 0.0, 0.0, 0
            phases: dict[str, list[float]] = {}
            for i, body in enumerate(bodies[2:]):
                # Interleaved, so that the endpoint and the floor share the disk's mood.
                plain_s += _write_plain(base / "plain" / str(i), body, 64 << 10)
                start = time.perf_counter()
                r = client.post(f"{server.url}/api/v1/evidence", content=body, headers=server.headers)
                total_s += time.perf_counter() - start
                r.raise_for_status()
                timing = _server_timing(r.headers["server-timing"])
                receive_s += timing["receive"] / 1000
                for name, ms in timing.items():
                    phases.setdefault(name, []).append(ms)
                stored += len(body)
        mb = stored / 1e6
        plain = mb / plain_s
        print(f"  {'physical limit: plain write + fsync, same bytes':<52} {plain:8.1f} MB/s")
        drain = mb / (_drain_ms(bodies[2:]) / 1000)
        print(f"  {'HTTP floor: bare uvicorn app receiving the same bodies':<52} {drain:8.1f} MB/s")
        receive = mb / receive_s
        print(f"  {'endpoint store+hash (body read, hashed, fsynced, renamed)':<52} {receive:8.1f} MB/s"
              f"  ({receive / plain:.0%} of the limit)")
        print(f"  {'whole request, one at a time (+ analysis, flags, ledger)':<52} {mb / total_s:8.1f} MB/s"
              f"  {count / total_s:6.1f} photos/s")
        for name, samples in phases.items():
            line(f"server phase '{name}' per photo", samples)

        def sender(chunk: list[bytes], out: list[float]) -> None:
            with httpx.Client(timeout=120) as c:
                for body in chunk:
                    c.post(f"{server.url}/api/v1/evidence", content=body, headers=server.headers).raise_for_status()
            out.append(time.perf_counter())

        fresh = [_variant(photos[i % len(photos)], 10_000 + i) for i in range(count)]
        done: list[float] = []
        start = time.perf_counter()
        threads = [threading.Thread(target=sender, args=(fresh[k::concurrency], done)) for k in range(concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = max(done) - start
        print(f"  {f'whole request, {concurrency} clients at once':<52} {mb / elapsed:8.1f} MB/s"
              f"  {count / elapsed:6.1f} photos/s")
    finally:
        server.stop()
        shutil.rmtree(base)


def bench_upload_memory(megabytes: int) -> None:
    import httpx

    print(f"\n[6] server memory while a {megabytes} MB file arrives (a 12-MP JPEG followed by random bytes)")
    base = Path(tempfile.mkdtemp(prefix="evidence-bench-mem-", dir=os.environ.get("BENCH_DIR")))
    server = Server(base / "data", (megabytes + 8) << 20)
    jpeg = photo_12mp(21)
    big = jpeg + os.urandom(megabytes * 1_000_000 - len(jpeg))
    try:
        with httpx.Client(timeout=600) as client:
            # Warm-up: imports done, analysis processes started; then idle.
            client.post(f"{server.url}/api/v1/evidence", content=_variant(jpeg, 1), headers=server.headers).raise_for_status()
            time.sleep(1)
            idle = server.rss_mb()
            peak = [idle]
            stop = threading.Event()

            def sample() -> None:
                while not stop.is_set():
                    peak[0] = max(peak[0], server.rss_mb())
                    time.sleep(0.005)

            watcher = threading.Thread(target=sample)
            watcher.start()
            start = time.perf_counter()
            r = client.post(f"{server.url}/api/v1/evidence", content=big, headers=server.headers)
            elapsed = time.perf_counter() - start
            stop.set()
            watcher.join()
            r.raise_for_status()
        print(f"  {'idle (server + analysis processes)':<52} {idle:8.1f} MB")
        print(f"  {'peak while uploading, filing and analysing':<52} {peak[0]:8.1f} MB"
              f"  (+{peak[0] - idle:.1f} MB above idle; goal < 100)")
        print(f"  {f'upload of the {megabytes} MB file':<52} {elapsed:8.2f} s  ({megabytes / elapsed:.0f} MB/s,"
              f" server phases {r.headers['server-timing']})")
    finally:
        server.stop()
        shutil.rmtree(base)


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
