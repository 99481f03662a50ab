"""The issue's yardsticks for findings/s, measured on the machine at hand.

Issue 6 sets its goals beside figures "measured on this kind of machine": the same app
without a database serves 11,000-17,000 requests/s, and a prototype with one group-commit
writer gave 7,400-8,800 findings/s. Machines of one kind differ by 2x from one session to
the next, so this script rebuilds both (bench/floor_app.py: bare Litestar, the same body
shape, no authentication or checks) and drives them with the load generator and the
clients of bench/field_load.py, on the same 2 cores. Run it beside field_load.py to know
how far Spotcheck's own path is from what the machine can do.

    .venv/bin/python bench/field_floor.py --total 20000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.field_load import server_cpu_seconds  # noqa: E402
from bench.loadgen import LoadResult, build_request, run_load  # noqa: E402
from tests.support.server import free_port  # noqa: E402


def serve(mode: str, folder: Path, workers: int) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {**os.environ, "FLOOR_MODE": mode, "FLOOR_DB": str(folder / "floor.db"), "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.floor_app:app", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers), "--no-access-log", "--log-level", "warning", "--no-server-header"],
        env=env, cwd=ROOT, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process, port
        except httpx.HTTPError:
            time.sleep(0.1)
    stop(process)
    raise RuntimeError(f"the {mode} floor app did not start within 30 s")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the process group we started, by its id."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


async def drive(port: int, clients: int, total: int) -> LoadResult:
    recorded = datetime.now(timezone.utc).isoformat()
    task = str(uuid.uuid4())

    def request(_: int) -> bytes:
        # The body field_load.py sends, and the same headers (the token is not checked here).
        body = json.dumps({"id": str(uuid.uuid4()), "task_id": task, "indicator": "inspection.window_conduct",
                           "recorded_at": recorded, "note": "压力测试"}, ensure_ascii=False).encode()
        return build_request("POST", "/api/v1/findings", "127.0.0.1", body=body,
                             headers={"Authorization": "Bearer " + "x" * 180, "Content-Type": "application/json"})

    return await run_load("127.0.0.1", port, request, clients=clients, total=total)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--total", type=int, default=20_000)
    parser.add_argument("--warmup", type=int, default=3_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--modes", default="none,sqlite", help="comma-separated: none, sqlite")
    args = parser.parse_args()

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{args.workers} uvicorn workers, {args.clients} clients, load generator on the same host")
    for mode in args.modes.split(","):
        with tempfile.TemporaryDirectory(prefix="spotcheck-floor-") as folder:
            process, port = serve(mode, Path(folder), args.workers)
            try:
                asyncio.run(drive(port, args.clients, args.warmup))
                cpu_before = server_cpu_seconds(process.pid)
                result = asyncio.run(drive(port, args.clients, args.total))
                cpu = server_cpu_seconds(process.pid) - cpu_before
            finally:
                stop(process)
        generator = result.cpu_seconds
        n = max(1, len(result.latencies))
        label = "bare Litestar, no database" if mode == "none" else "bare Litestar + group-commit SQLite writer"
        print(f"{label}: {len(result.latencies)} requests in {result.seconds:.2f} s = {result.rate:,.0f}/s; "
              f"p50 {result.percentile(50) * 1000:.1f} ms, p99 {result.percentile(99) * 1000:.1f} ms; "
              f"statuses {result.statuses}; errors {result.errors}; server CPU {cpu / n * 1000:.3f} ms, "
              f"load generator CPU {generator / n * 1000:.3f} ms per request")


if __name__ == "__main__":
    main()
