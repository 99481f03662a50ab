"""Benchmarks of the evidence endpoint on a real uvicorn process (sections 5 and 6 of
bench/evidence.py, which runs them): store+hash throughput of 12-MP JPEGs through
``POST /api/v1/evidence`` beside write + fsync of the same bytes to the same disk, and the
server's memory while a 200 MB file arrives. The server is started on 127.0.0.1 with a fresh
data folder and stopped by its pid."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.evidence_support import line, photo_12mp, write_plain

__all__ = ["bench_http", "bench_upload_memory"]

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
                plain_s += write_plain(base / "plain" / str(i), body, 64 << 10)
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
