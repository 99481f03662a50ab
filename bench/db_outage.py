"""Fault run: PostgreSQL crashes under load and comes back; the server is never restarted.

Starts a private PostgreSQL cluster (initdb into a temporary folder, its own port: never the
machine's shared cluster) and a real server on it, then drives phones logging findings (one
by one and through /sync), filing photos (one-shot and resumable), inspectors reading,
people logging in and a readiness probe. Once a quarter of the findings are acknowledged the
database is stopped with ``-m immediate`` (a crash) for ``--outage`` seconds, then started
again. Prints what the clients saw and checks that every acknowledged write is stored once.
Stops everything it started.

    python bench/db_outage.py --findings 1200 --outage 8
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.fault_clients import Fleet, Photo  # noqa: E402
from bench.field_load import prepare  # noqa: E402
from tests.evidence.images import encode, scene  # noqa: E402
from tests.support.faults import audit_store  # noqa: E402
from tests.support.pg_cluster import PrivateCluster, start_cluster  # noqa: E402
from tests.support.server import LiveServer, start_server, stop_server  # noqa: E402

SYNC_BATCH = 20


@dataclass
class OutageRun:
    fleet: Fleet
    down_at: float
    up_at: float
    findings: int
    synced: int
    photos: int

    @property
    def refused_while_down(self) -> int:
        return sum(1 for t in self.fleet.tally.refusals if t >= self.down_at)

    @property
    def recovery_seconds(self) -> float:
        """From the database accepting connections again to the server's next success."""
        return min(t for t in self.fleet.tally.successes if t > self.up_at) - self.up_at


def run_outage(live: LiveServer, cluster: PrivateCluster, *, findings: int = 1200, syncs: int = 20, photos: int = 12,
               outage_seconds: float = 8.0, inspectors: int | None = None) -> OutageRun:
    pairs = prepare(live, inspectors)
    fleet = Fleet(live.url, timeout=20)
    singles: asyncio.Queue[tuple[str, str, str]] = asyncio.Queue()
    for i in range(findings):
        singles.put_nowait(pairs[i % len(pairs)])
    batches: asyncio.Queue[tuple[str, str, str]] = asyncio.Queue()
    for i in range(syncs):
        batches.put_nowait(pairs[-1 - i % len(pairs)])
    shots: asyncio.Queue[Photo] = asyncio.Queue()
    for i in range(photos):
        shots.put_nowait(Photo(encode(scene(500 + i, (480, 360)), "JPEG"), resumable=i % 2 == 1))
    inspector = pairs[0][0]  # one of prepare()'s tokens
    chief_name, chief_password = live.accounts["chief"]
    marks: dict[str, float] = {}

    async def main() -> None:
        writers_done = asyncio.Event()
        quarter = asyncio.Event()
        down = asyncio.Event()

        def acked() -> None:
            if len(fleet.tally.findings) >= findings // 4:
                quarter.set()

        async def outage() -> None:
            await quarter.wait()
            marks["down"] = time.monotonic()
            await asyncio.to_thread(cluster.stop, "immediate")
            down.set()
            await asyncio.sleep(outage_seconds)
            await asyncio.to_thread(cluster.start)
            marks["up"] = time.monotonic()

        async def others() -> None:
            async with httpx.AsyncClient(base_url=live.url) as client:
                while not writers_done.is_set():
                    await fleet.call(client, "GET", "/api/v1/findings", params={"limit": 5},
                                     headers={"Authorization": f"Bearer {inspector}"})
                    await fleet.call(client, "POST", "/api/v1/auth/token",
                                     json={"username": chief_name, "password": chief_password})
                    await fleet.call(client, "GET", "/readyz")
                    await asyncio.sleep(0.2)

        async def writers() -> None:
            # Sync batches and photos start once the database is down, so that they meet it.
            async def syncing() -> None:
                await down.wait()
                await fleet.sync(batches, SYNC_BATCH)

            async def filing() -> None:
                await down.wait()
                await fleet.photos(inspector, shots)

            await asyncio.gather(*(fleet.findings(singles, acked) for _ in range(12)), syncing(), filing(), filing())
            writers_done.set()

        await asyncio.gather(outage(), others(), writers())

    asyncio.run(main())
    return OutageRun(fleet, marks["down"], marks["up"], findings, syncs * SYNC_BATCH, photos)


def stored_findings(live: LiveServer) -> int:
    chief = {"Authorization": f"Bearer {live.token('chief')}"}
    return httpx.get(f"{live.url}/api/v1/findings?limit=1", headers=chief, timeout=30).json()["total"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--findings", type=int, default=1200)
    parser.add_argument("--syncs", type=int, default=20, help=f"sync requests of {SYNC_BATCH} findings")
    parser.add_argument("--photos", type=int, default=12)
    parser.add_argument("--outage", type=float, default=8.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    cluster = start_cluster()
    try:
        url = cluster.create_database("spotcheck")
        live = start_server(Path(tempfile.mkdtemp(prefix="spotcheck-outage-")), url, workers=args.workers,
                            extra_env={"SPOTCHECK_EVIDENCE_WORKERS": "1", "SPOTCHECK_DB_POOL_SIZE": "4"})
        try:
            pid = live.process.pid
            before, photos_before = stored_findings(live), audit_store(live).photos  # the demo's own field work
            run = run_outage(live, cluster, findings=args.findings, syncs=args.syncs, photos=args.photos,
                             outage_seconds=args.outage)
            tally = run.fleet.tally
            stored = stored_findings(live) - before
            audit = audit_store(live, photos_before=photos_before)
            alive = live.process.poll() is None and live.process.pid == pid
        finally:
            stop_server(live)
    finally:
        cluster.remove()
    expected = run.findings + run.synced
    ok = (not tally.unclean and not tally.hangs and not tally.dropped and alive
          and len(tally.findings) == stored == expected and len(tally.evidence) == run.photos == audit.photos
          and not audit.missing and not audit.temporary)
    print(f"PostgreSQL stopped (immediate) for {args.outage:.0f} s under load; {args.workers} server workers")
    print(f"answers: {dict(sorted(tally.statuses.items()))}; clean 503s while down: {run.refused_while_down}; "
          f"sync operations answered 503: {tally.operations_refused}; unclean: {len(tally.unclean)}; "
          f"hangs: {tally.hangs}; server restarted: {'no' if alive else 'YES'}")
    print(f"first success {run.recovery_seconds:.2f} s after the database was back")
    print(f"findings acknowledged {len(tally.findings)} of {expected}, stored {stored}; photos acknowledged "
          f"{len(tally.evidence)} of {run.photos}, recorded {audit.photos}, records without their bytes "
          f"{len(audit.missing)}, uncited blobs {len(audit.orphans)}, temporary files {len(audit.temporary)}: "
          f"{'OK, none lost, none doubled' if ok else 'FAILED'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
