"""PostgreSQL crashes under load and comes back; the service rides it out without a restart.

A private PostgreSQL cluster (never the machine's shared one) serves a real two-worker
server while phones log findings (one by one and through /sync) and file photos, inspectors
read, and people log in (bench/db_outage.py). The database is stopped with ``-m immediate``
(a crash: connections cut, no checkpoint) for longer than the token cache lasts, then
started again. Meanwhile every answer is a success or a clean 503 with Retry-After and the
error shape: no 500, no request hanging past the client's timeout. Afterwards the same
server process answers again within a bounded time, and every write a phone retried until
acknowledged is stored exactly once.
"""

from __future__ import annotations

from typing import Iterator

import httpx
import pytest

from bench.db_outage import run_outage, stored_findings
from tests.support.faults import audit_store
from tests.support.pg_cluster import PrivateCluster, start_cluster
from tests.support.server import LiveServer, start_server, stop_server

RECOVERY_BOUND = 30


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivateCluster]:
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture(scope="module")
def live(cluster: PrivateCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    url = cluster.create_database("spotcheck")
    server = start_server(tmp_path_factory.mktemp("outage"), url, workers=2,
                          extra_env={"SPOTCHECK_EVIDENCE_WORKERS": "1", "SPOTCHECK_DB_POOL_SIZE": "4"})
    try:
        yield server
    finally:
        stop_server(server)


def test_postgres_crash_under_load_is_ridden_out(live, cluster):
    pid = live.process.pid
    run = run_outage(live, cluster, findings=1200, syncs=20, photos=12, outage_seconds=8)
    tally = run.fleet.tally
    assert tally.unclean == [] and tally.hangs == 0 and tally.dropped == 0, tally.unclean[:5]
    assert run.refused_while_down > 0, "the outage was never noticed"
    # The same server process recovered on its own, within the bound.
    assert live.process.poll() is None and live.process.pid == pid
    assert run.recovery_seconds < RECOVERY_BOUND
    # Every acknowledged write is stored once: none lost, none doubled.
    assert len(tally.findings) == run.findings + run.synced == stored_findings(live)
    audit = audit_store(live)
    assert len(tally.evidence) == run.photos == audit.photos
    assert audit.missing == [] and audit.temporary == [], audit
    chief = {"Authorization": f"Bearer {live.token('chief')}"}
    ledger = httpx.get(f"{live.url}/api/v1/ledger/verify", headers=chief, timeout=60).json()
    assert ledger["ok"] and ledger["entries"] >= run.photos, ledger
    # An outage is expected, not a bug: warnings, no stack traces.
    assert "Traceback" not in live.log.read_text(errors="replace")
