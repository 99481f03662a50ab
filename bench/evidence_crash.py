"""Crash test: SIGKILL the server while phones log findings AND file photos.

Phones log ``--findings`` findings and file ``--photos`` photos (half one-shot, half by
resumable upload in small chunks), each retried with the same ids and bytes until
acknowledged. Once a third of the photos (or half of the findings, if they go faster) are
acknowledged, two more uploads are left half-sent on purpose (a one-shot body and a
resumable chunk, so that temporary files exist for certain), then the server's whole
process group is killed with SIGKILL and started again on the same port and data; the
last findings wait in the queue until then. Afterwards: every finding stored once, every photo
recorded once with its bytes, no blob without a record, no temporary file, and the ledger
verifies (records, stored bytes, signed checkpoints).

    python bench/evidence_crash.py --db sqlite --findings 3000 --photos 24
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.fault_clients import Fleet, Photo  # noqa: E402
from bench.field_crash import stored_findings  # noqa: E402
from bench.field_load import prepare  # noqa: E402
from tests.evidence.images import encode, scene  # noqa: E402
from tests.support.databases import create_postgres_database, drop_postgres_database  # noqa: E402
from tests.support.faults import StoreAudit, audit_store, half_sent  # noqa: E402
from tests.support.server import LiveServer, kill_server, restart_server, start_server, stop_server  # noqa: E402


RESERVE = 50
"""Findings still queued, at least, when the server is killed."""


@dataclass
class CrashRun:
    findings: int
    photos: int
    fleet: Fleet
    killed_at_findings: int = 0
    killed_at_photos: int = 0
    temporary_at_kill: int = 0
    downtime_s: float = 0.0
    stored_findings: int = 0
    audit: StoreAudit | None = None
    ledger: dict | None = None
    ledger_before: int = 0
    """Ledger entries before the run (the demo's own photos)."""

    @property
    def ok(self) -> bool:
        tally = self.fleet.tally
        return (not tally.unclean and len(tally.findings) == self.stored_findings == self.findings
                and len(tally.evidence) == self.photos and self.audit is not None and self.audit.clean
                and self.audit.photos == self.photos and bool(self.ledger and self.ledger["ok"]))


def _temporary_files(server: LiveServer) -> int:
    root = Path(server.env["SPOTCHECK_DATA_DIR"]) / "evidence"
    return sum(len(os.listdir(folder)) for folder in (root / ".tmp", root / "uploads" / ".tmp") if folder.exists())


def run_evidence_crash(server: LiveServer, pairs: list[tuple[str, str, str]], *, findings: int, photos: int) -> CrashRun:
    fleet = Fleet(server.url, timeout=30, pause=0.05)
    run = CrashRun(findings=findings, photos=photos, fleet=fleet)
    inspector = pairs[0][0]
    auth = {"Authorization": f"Bearer {inspector}"}

    async def main() -> None:
        singles: asyncio.Queue[tuple[str, str, str]] = asyncio.Queue()
        for i in range(findings):
            singles.put_nowait(pairs[i % len(pairs)])
        shots: asyncio.Queue[Photo] = asyncio.Queue()
        for i in range(photos):
            shots.put_nowait(Photo(encode(scene(900 + i, (640, 480)), "JPEG", quality=92), resumable=i % 2 == 1))
        third, killed = asyncio.Event(), asyncio.Event()

        def acked() -> None:
            if len(fleet.tally.evidence) >= photos // 3 or len(fleet.tally.findings) >= findings // 2:
                third.set()

        async def hold() -> None:
            # Findings keep flowing until the kill, but a reserve stays queued until then, so
            # that however fast they go here, the kill still finds findings to come.
            if singles.qsize() <= RESERVE and not killed.is_set():
                await killed.wait()

        async def crash() -> None:
            await third.wait()
            # Two uploads cut off by the crash for certain: half a photo, half a chunk.
            body = encode(scene(7777, (1600, 1200)), "JPEG", quality=95)
            async with httpx.AsyncClient(base_url=server.url) as client:
                created = await client.post("/api/v1/uploads", headers={**auth, "Tus-Resumable": "1.0.0",
                                                                         "Upload-Length": str(len(body))})
            held = [half_sent(server.url, "POST", "/api/v1/evidence", auth, body),
                    half_sent(server.url, "PATCH", created.headers["location"], {
                        **auth, "Tus-Resumable": "1.0.0", "Upload-Offset": "0",
                        "Content-Type": "application/offset+octet-stream"}, body)]
            # 10 s was not always enough on a slow 2-core machine with both workers busy.
            deadline = time.monotonic() + 30
            while _temporary_files(server) < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            run.temporary_at_kill = _temporary_files(server)
            run.killed_at_findings, run.killed_at_photos = len(fleet.tally.findings), len(fleet.tally.evidence)
            started = time.perf_counter()
            # The restart blocks (it waits for /readyz); the phones keep retrying meanwhile.
            await asyncio.to_thread(lambda: (kill_server(server), restart_server(server)))
            run.downtime_s = time.perf_counter() - started
            killed.set()
            for conn in held:
                conn.close()

        await asyncio.gather(crash(), *(fleet.findings(singles, on_ack=acked, hold=hold) for _ in range(12)),
                             *(fleet.photos(inspector, shots, chunk=16 * 1024, on_ack=acked) for _ in range(3)))

    chief = {"Authorization": f"Bearer {server.token('chief')}"}
    with httpx.Client(base_url=server.url, headers=chief, timeout=120) as http:
        _, before = stored_findings(server)  # the demo's own field work is not this run's
        photos_before = audit_store(server).photos
        run.ledger_before = http.get("/api/v1/ledger/verify").json()["entries"]
        asyncio.run(main())
        total, ids = stored_findings(server)
        run.stored_findings = len(ids - before) if len(ids) == total else -total  # doubled ids: negative
        run.ledger = http.get("/api/v1/ledger/verify").json()
    run.audit = audit_store(server, photos_before=photos_before)
    return run



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--postgres-url", default=os.environ.get("SPOTCHECK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--findings", type=int, default=3000)
    parser.add_argument("--photos", type=int, default=24)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    url = create_postgres_database(args.postgres_url, prefix="spotcheck_crash") if args.db == "postgres" else None
    server = start_server(Path(tempfile.mkdtemp(prefix="spotcheck-crash-")), url, workers=args.workers,
                          extra_env={"SPOTCHECK_EVIDENCE_WORKERS": "1"})
    try:
        run = run_evidence_crash(server, prepare(server), findings=args.findings, photos=args.photos)
    finally:
        stop_server(server)
        if url:
            drop_postgres_database(args.postgres_url, url)
    tally, audit = run.fleet.tally, run.audit
    assert audit is not None and run.ledger is not None
    print(f"database {args.db}, {args.workers} workers: SIGKILL after {run.killed_at_findings}/{run.findings} findings and "
          f"{run.killed_at_photos}/{run.photos} photos acknowledged, {run.temporary_at_kill} uploads cut mid-body; "
          f"back after {run.downtime_s:.1f} s; connections dropped {tally.dropped}; answers {dict(sorted(tally.statuses.items()))}")
    print(f"findings acknowledged {len(tally.findings)}, stored {run.stored_findings}; photos acknowledged "
          f"{len(tally.evidence)}, recorded {audit.photos}; records without their bytes {len(audit.missing)}; "
          f"uncited blobs {len(audit.orphans)} (+{len(audit.staged_orphans)} staged); temporary files {len(audit.temporary)}; "
          f"ledger {'verifies' if run.ledger['ok'] else 'BROKEN'} ({run.ledger['entries']} entries); "
          f"unclean answers {len(tally.unclean)}: {'OK' if run.ok else 'FAILED'}")
    sys.exit(0 if run.ok else 1)


if __name__ == "__main__":
    main()
