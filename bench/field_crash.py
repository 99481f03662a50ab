"""Crash test: SIGKILL the server while phones create findings with retries.

Clients create ``--total`` findings (ids chosen by the client, as a phone does), retrying
each one until it is acknowledged (201, or 200 for a repeat). When ``--kill-after``
findings are acknowledged, the server's whole process group is killed with SIGKILL and
started again on the same port and data. Afterwards exactly ``--total`` more findings and as
many more proposed deductions must exist than before the run (the demo logs a few of its own): none lost (every acknowledged write was durable), none
doubled (retries of a write that did land are recognised by its id).

    python bench/field_crash.py --db sqlite --total 10000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.field_load import prepare  # noqa: E402
from bench.loadgen import _read_response, build_request  # noqa: E402
from tests.support.databases import create_postgres_database, drop_postgres_database  # noqa: E402
from tests.support.faults import server_database_url  # noqa: E402
from tests.support.server import LiveServer, kill_server, restart_server, start_server, stop_server  # noqa: E402


@dataclass
class CrashReport:
    total: int
    acknowledged: int = 0
    retries: int = 0
    killed_at: int = 0
    downtime_s: float = 0.0
    findings: int = 0
    distinct_ids: int = 0
    deductions: int = 0
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.acknowledged == self.findings == self.distinct_ids == self.deductions == self.total


async def _client(host: str, port: int, jobs: asyncio.Queue[bytes], report: CrashReport, kill: asyncio.Event,
                  kill_after: int) -> None:
    reader = writer = None
    while True:
        try:
            request = jobs.get_nowait()
        except asyncio.QueueEmpty:
            break
        while True:  # retry this finding until the server acknowledges it
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                writer.write(request)
                status, _ = await asyncio.wait_for(_read_response(reader), timeout=10)
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError):
                report.retries += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
                await asyncio.sleep(0.05)
                continue
            report.statuses[status] = report.statuses.get(status, 0) + 1
            if status in (200, 201):
                report.acknowledged += 1
                if report.acknowledged == kill_after:
                    kill.set()
                break
            report.retries += 1  # 503 while the database recovers, for instance
            await asyncio.sleep(0.05)
    if writer is not None:
        writer.close()


def run_crash(server: LiveServer, pairs: list[tuple[str, str, str]], *, total: int, clients: int, kill_after: int) -> CrashReport:
    host, port = "127.0.0.1", int(server.url.rsplit(":", 1)[1])
    report = CrashReport(total=total)
    recorded = datetime.now(timezone.utc).isoformat()

    async def main() -> None:
        jobs: asyncio.Queue[bytes] = asyncio.Queue()
        for i in range(total):
            token, task, rule = pairs[i % len(pairs)]
            body = json.dumps({"id": str(uuid.uuid4()), "task_id": task, "indicator": rule, "recorded_at": recorded}).encode()
            jobs.put_nowait(build_request("POST", "/api/v1/findings", host, body=body, headers={
                "Authorization": f"Bearer {token}", "Content-Type": "application/json"}))
        kill = asyncio.Event()

        async def crash() -> None:
            await kill.wait()
            started = time.perf_counter()
            report.killed_at = report.acknowledged
            # The restart blocks (it waits for /readyz); the clients keep retrying meanwhile.
            await asyncio.to_thread(lambda: (kill_server(server), restart_server(server)))
            report.downtime_s = time.perf_counter() - started

        crasher = asyncio.create_task(crash())
        await asyncio.gather(*(_client(host, port, jobs, report, kill, kill_after) for _ in range(clients)))
        await crasher

    # What was there before (the demo's own field work) is not this run's.
    before_total, before_ids = stored_findings(server)
    before_deductions = _deductions_with_findings(server)
    asyncio.run(main())
    total, ids = stored_findings(server)
    report.findings = total - before_total
    report.distinct_ids = len(ids - before_ids)
    report.deductions = _deductions_with_findings(server) - before_deductions
    return report


def stored_findings(server: LiveServer) -> tuple[int, set[str]]:
    """How many findings the server lists, and their ids."""
    admin = {"Authorization": f"Bearer {server.token('admin')}"}
    with httpx.Client(base_url=server.url, headers=admin, timeout=60) as http:
        ids: set[str] = set()
        offset = 0
        while True:
            page = http.get("/api/v1/findings", params={"limit": 500, "offset": offset}).json()
            ids.update(f["id"] for f in page["items"])
            offset += 500
            if offset >= page["total"]:
                return page["total"], ids


def _deductions_with_findings(server: LiveServer) -> int:
    """Proposed deductions made from findings, counted in the database itself."""
    from sqlalchemy import func, select

    from api.db import make_engine
    from api.models_scoring import Deduction

    url = server_database_url(server)

    async def count() -> int:
        engine = make_engine(url, pool_size=1)
        try:
            async with engine.connect() as connection:
                query = select(func.count()).select_from(Deduction).where(Deduction.finding_id.is_not(None))
                return (await connection.execute(query)).scalar_one()
        finally:
            await engine.dispose()

    return asyncio.run(count())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--postgres-url", default=os.environ.get("SPOTCHECK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--total", type=int, default=10_000)
    parser.add_argument("--kill-after", type=int, default=3_000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    url = create_postgres_database(args.postgres_url, prefix="spotcheck_crash") if args.db == "postgres" else None
    server = start_server(Path(tempfile.mkdtemp(prefix="spotcheck-crash-")), url, workers=args.workers)
    try:
        report = run_crash(server, prepare(server), total=args.total, clients=args.clients, kill_after=args.kill_after)
    finally:
        stop_server(server)
        if url:
            drop_postgres_database(args.postgres_url, url)
    print(f"database {args.db}: {report.total} findings sent by {args.clients} retrying clients; server SIGKILLed after "
          f"{report.killed_at} acknowledgements, back after {report.downtime_s:.1f} s; {report.retries} retries; statuses {report.statuses}")
    print(f"acknowledged {report.acknowledged}, stored {report.findings}, distinct ids {report.distinct_ids}, "
          f"deductions {report.deductions}: {'OK, none lost, none doubled' if report.ok else 'FAILED'}")
    sys.exit(0 if report.ok else 1)


if __name__ == "__main__":
    main()
