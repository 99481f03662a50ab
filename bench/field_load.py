"""Findings per second through the real HTTP API, with authentication and every check on.

Starts `spotcheck serve` on 127.0.0.1 (SQLite in a temporary folder, or a fresh PostgreSQL
database), loads the demo bureau, draws a plan in the demo period, gives every inspector an
account and a token, then drives N concurrent keep-alive clients, each logging findings on
a task of its own inspector. Prints findings/s and latency percentiles, and checks that
exactly the acknowledged findings are stored. Stops the server it started by its pid.

    python bench/field_load.py --db sqlite --clients 64 --total 60000 --workers 2
    python bench/field_load.py --db postgres --postgres-url postgresql://postgres@127.0.0.1:5432/test
    python bench/field_load.py --per-request 10   # each client sends 10 findings per /api/v1/sync
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import sys
import tempfile
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.loadgen import build_request, run_load  # noqa: E402
from tests.support.databases import create_postgres_database, drop_postgres_database  # noqa: E402
from tests.support.server import LiveServer, start_server, stop_server  # noqa: E402

RULES = {"field_visit": "inspection.window_conduct", "callback": "inspection.window_conduct",
         "file_review": "registration.file_quality.beyond_time_limit"}
PLAN = {
    "units": {"filter": {"kind": ["office", "entity"]}, "stratify_by": ["kind"],
              "rules": [{"where": {"kind": "office"}, "size": 20}, {"where": {"kind": "entity"}, "size": 60}]},
    "case_files": {"per_unit": {"size": 2}},
    "assignment": {"task_kinds": ["field_visit", "file_review"], "team_size": 2},
}


@contextlib.contextmanager
def prepared_database(db: str, postgres_url: str) -> Iterator[list[tuple[str, str, str]]]:
    """A database prepared as for a load run by a server that is stopped again, its settings
    (``SPOTCHECK_*``) in ``os.environ`` for an app built in this process; yields the
    (token, task id, indicator) pairs of :func:`prepare`. A PostgreSQL database made for it
    is dropped afterwards."""
    url = create_postgres_database(postgres_url, prefix="spotcheck_bench") if db == "postgres" else None
    data_dir = Path(tempfile.mkdtemp(prefix="spotcheck-bench-"))
    os.environ["SPOTCHECK_LOG_LEVEL"] = "WARNING"
    try:
        server = start_server(data_dir, url, workers=1)
        try:
            pairs = prepare(server)
        finally:
            stop_server(server)
        os.environ.update({k: v for k, v in server.env.items() if k.startswith("SPOTCHECK_")})
        yield pairs
    finally:
        if url:
            drop_postgres_database(postgres_url, url)


def prepare(server: LiveServer, inspectors: int | None = None) -> list[tuple[str, str, str]]:
    """Draw a plan and return (token, task id, indicator) per inspector-task pair; with
    ``inspectors``, only the pairs of that many of the drawn inspectors (the first by name).

    Inspectors with a demo account log in with its password; the others get an account. Four
    at a time: each costs the server an argon2 hash or two."""
    with httpx.Client(base_url=server.url, timeout=60) as http:
        admin = {"Authorization": f"Bearer {server.token('admin')}"}
        plan = http.post("/api/v1/plans", headers=admin, json={
            "name": "压力测试", "params": PLAN, "due_from": "2026-11-01", "due_to": "2026-12-31", "period": "2026-H2"}).json()
        http.post(f"/api/v1/plans/{plan['id']}/draw", headers=admin, json={"seed": "bench"}).raise_for_status()
        tasks = http.get(f"/api/v1/tasks?plan_id={plan['id']}&limit=500", headers=admin).json()["items"]

        def token(name: str) -> str:
            password = server.passwords.get(name)
            if password is None:
                password = "bench-password"
                made = http.post("/api/v1/users", headers=admin, json={"username": name, "role": "inspector", "password": password})
                if made.status_code == 409:  # an account the demo did not print: give it the bench password
                    http.patch(f"/api/v1/users/{name}", headers=admin, json={"password": password}).raise_for_status()
            answer = http.post("/api/v1/auth/token", json={"username": name, "password": password})
            answer.raise_for_status()
            return answer.json()["access_token"]

        names = sorted({n for t in tasks for n in t["team"]})[:inspectors]
        with ThreadPoolExecutor(4) as pool:
            tokens = dict(zip(names, pool.map(token, names)))
    # The bureau root is drawn too but assessed by no period; its findings would be refused.
    return [(tokens[n], t["id"], RULES[t["kind"]]) for t in tasks for n in t["team"] if n in tokens and t["unit_code"] != "DG"]


def server_cpu_seconds(group: int) -> float:
    """User+system CPU of a server's process group (master and workers)."""
    return sum(server_cpu_split(group))


def server_cpu_split(group: int) -> tuple[float, float]:
    """(user, system) CPU seconds of a server's process group (master and workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    user = system = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group:  # field 5 of stat: the process group id
            user += int(fields[11]) / ticks
            system += int(fields[12]) / ticks
    return user, system


def stored_findings(server: LiveServer) -> int:
    headers = {"Authorization": f"Bearer {server.token('admin')}"}
    return httpx.get(f"{server.url}/api/v1/findings?limit=1", headers=headers, timeout=60).json()["total"]


async def drive(server: LiveServer, pairs: list[tuple[str, str, str]], clients: int, total: int,
                per_request: int = 1) -> tuple[object, int]:
    """``total`` findings, one per ``POST /api/v1/findings``, or ``per_request`` at a time
    through ``POST /api/v1/sync`` (a phone sending its offline queue)."""
    host, port = "127.0.0.1", int(server.url.rsplit(":", 1)[1])
    recorded = datetime.now(timezone.utc).isoformat()
    acknowledged = 0
    failures: dict[int, str] = {}

    def finding(task: str, rule: str) -> dict[str, str]:
        return {"id": str(uuid.uuid4()), "task_id": task, "indicator": rule, "recorded_at": recorded, "note": "压力测试"}

    def request(i: int) -> bytes:
        token, task, rule = pairs[i % len(pairs)]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        if per_request == 1:
            body = json.dumps(finding(task, rule), ensure_ascii=False).encode()
            return build_request("POST", "/api/v1/findings", host, body=body, headers=headers)
        operations = [{"op": "finding", "finding": finding(task, rule)} for _ in range(per_request)]
        body = json.dumps({"operations": operations}, ensure_ascii=False).encode()
        return build_request("POST", "/api/v1/sync", host, body=body, headers=headers)

    def count(_: int, status: int, body: bytes) -> None:
        nonlocal acknowledged
        if per_request == 1:
            acknowledged += status == 201
        elif status == 200:
            acknowledged += sum(r["status"] == 201 for r in json.loads(body)["results"])
        if status >= 400 and status not in failures:
            failures[status] = body[:300].decode(errors="replace")

    result = await run_load(host, port, request, clients=clients, total=total // per_request, on_response=count)
    for status, body in failures.items():
        print(f"first {status} answer: {body}")
    return result, acknowledged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--postgres-url", default=os.environ.get("SPOTCHECK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--total", type=int, default=60_000)
    parser.add_argument("--warmup", type=int, default=3_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--per-request", type=int, default=1,
                        help="findings per request: 1 posts each to /api/v1/findings, more go through /api/v1/sync")
    args = parser.parse_args()

    url = create_postgres_database(args.postgres_url, prefix="spotcheck_bench") if args.db == "postgres" else None
    os.environ["SPOTCHECK_LOG_LEVEL"] = "WARNING"
    os.environ.setdefault("SPOTCHECK_DB_POOL_SIZE", "8")
    server = start_server(Path(tempfile.mkdtemp(prefix="spotcheck-bench-")), url, workers=args.workers)
    try:
        pairs = prepare(server)
        asyncio.run(drive(server, pairs, args.clients, args.warmup, args.per_request))
        before = stored_findings(server)
        split_before = server_cpu_split(server.process.pid)
        result, acknowledged = asyncio.run(drive(server, pairs, args.clients, args.total, args.per_request))
        user, system = (after - before for after, before in zip(server_cpu_split(server.process.pid), split_before))
        cpu = user + system
        generator_cpu = result.cpu_seconds
        stored = stored_findings(server) - before
        requests, findings = len(result.latencies), len(result.latencies) * args.per_request
        way = "one per POST /api/v1/findings" if args.per_request == 1 else f"{args.per_request} per POST /api/v1/sync"
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
              f"load average at end {os.getloadavg()[0]:.2f}")
        print(f"database {args.db}, {args.workers} server workers, {args.clients} clients, "
              f"{len(pairs)} inspector-task pairs, findings {way}, load generator on the same host")
        print(f"findings: {findings} in {requests} requests in {result.seconds:.2f} s = {findings / result.seconds:,.0f}/s; "
              f"request latency p50 {result.percentile(50) * 1000:.1f} ms, p99 {result.percentile(99) * 1000:.1f} ms, "
              f"max {max(result.latencies) * 1000:.1f} ms; statuses {result.statuses}; errors {result.errors}")
        print(f"server CPU: {cpu:.1f} s = {cpu / max(1, findings) * 1000:.3f} ms per finding "
              f"({user / max(1, findings) * 1000:.3f} user + {system / max(1, findings) * 1000:.3f} system; "
              f"caps the rate at {findings / max(cpu, 1e-9) * (os.cpu_count() or 1):,.0f}/s on {os.cpu_count()} idle cores)")
        print(f"load generator CPU: {generator_cpu:.1f} s = {generator_cpu / max(1, requests) * 1000:.3f} ms per request")
        print(f"acknowledged 201: {acknowledged}; stored: {stored} ({'match' if stored == acknowledged else 'MISMATCH'})")
    finally:
        stop_server(server)
        if url:
            drop_postgres_database(args.postgres_url, url)


if __name__ == "__main__":
    main()
