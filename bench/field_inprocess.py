"""The whole app's CPU per finding, without an HTTP server or sockets.

bench/field_load.py measures findings through uvicorn with the load generator on the same
cores; bench/field_writer.py measures the group-commit writer alone. This script measures
what lies between: the real app built by ``create_app`` (authentication, guard, body
parsing, checks, proposed deduction, audit events, durable commit, response) driven in
process through raw ASGI calls, ``--concurrency`` requests at a time, so that its CPU time
per finding can be compared with the served app's and profiled in one process:

    .venv/bin/python bench/field_inprocess.py --findings 20000
    /path/to/py-spy record --gil -f raw -o app.txt -- .venv/bin/python bench/field_inprocess.py

The database is prepared the way field_load.py does (demo bureau, a drawn plan, every
inspector on their tasks) by a server that is stopped before the measurement.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.app import create_app  # noqa: E402
from api.settings import Settings  # noqa: E402
from bench.field_load import prepared_database  # noqa: E402

RECORDED_AT = "2026-11-22T03:00:00+00:00"


def _scope(token: str, body: bytes) -> dict[str, Any]:
    return {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
        "method": "POST", "scheme": "http", "path": "/api/v1/findings", "raw_path": b"/api/v1/findings",
        "query_string": b"", "root_path": "", "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
        "headers": [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {token}".encode()),
                    (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        "state": {},
    }


async def drive(findings: int, concurrency: int, warmup: int, pairs: list[tuple[str, str, str]]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of ``findings`` requests after ``warmup`` of them."""
    app = create_app(Settings.from_env())

    async def one(i: int) -> None:
        token, task, rule = pairs[i % len(pairs)]
        body = json.dumps({"id": str(uuid.uuid4()), "task_id": task, "indicator": rule,
                           "recorded_at": RECORDED_AT, "note": "压力测试"}).encode()
        given = False
        statuses: list[int] = []

        async def receive() -> dict[str, Any]:
            nonlocal given
            if not given:
                given = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # nobody disconnects
            raise AssertionError("unreachable")

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await app(_scope(token, body), receive, send)
        if statuses != [201]:
            raise RuntimeError(f"request {i} answered {statuses}")

    async def run(start: int, stop: int) -> None:
        for first in range(start, stop, concurrency):
            await asyncio.gather(*(one(i) for i in range(first, min(stop, first + concurrency))))

    async with app.lifespan():
        await run(0, warmup)  # every task's facts cached, as in a server that has been up a while
        gc.collect()
        gc.freeze()  # as a served worker does after startup (api.app)
        cpu, wall = time.process_time(), time.perf_counter()
        await run(warmup, warmup + findings)
        return time.process_time() - cpu, time.perf_counter() - wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--postgres-url", default=os.environ.get("SPOTCHECK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--findings", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=29, help="requests in flight at once (a loaded worker's batches hold about 29)")
    parser.add_argument("--warmup", type=int, default=3_000)
    args = parser.parse_args()

    with prepared_database(args.db, args.postgres_url) as pairs:
        cpu, wall = asyncio.run(drive(args.findings, args.concurrency, args.warmup, pairs))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; database {args.db}")
    print(f"app in process (raw ASGI, {args.concurrency} requests at a time): {args.findings} findings, "
          f"CPU {cpu / args.findings * 1e6:.1f} us, wall {wall / args.findings * 1e6:.1f} us per finding")


if __name__ == "__main__":
    main()
