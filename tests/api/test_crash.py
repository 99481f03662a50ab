"""SIGKILL during field work: nothing acknowledged is lost, no retried write is doubled."""

from __future__ import annotations

import pytest

from bench.field_crash import run_crash
from bench.field_load import prepare
from tests.conftest import BACKENDS, POSTGRES_URL
from tests.support.databases import create_postgres_database, drop_postgres_database
from tests.support.server import start_server, stop_server


@pytest.mark.parametrize("backend", BACKENDS)
def test_sigkill_while_phones_create_findings(backend, tmp_path):
    url = create_postgres_database(POSTGRES_URL, prefix="spotcheck_crash") if backend == "postgres" else None
    server = start_server(tmp_path, url, workers=2)
    try:
        report = run_crash(server, prepare(server), total=10_000, clients=32, kill_after=3_000)
    finally:
        stop_server(server)
        if url:
            drop_postgres_database(POSTGRES_URL, url)
    assert report.killed_at >= 3_000 and report.downtime_s > 0  # the server really went down mid-run
    assert report.acknowledged == 10_000
    assert report.findings == report.distinct_ids == report.deductions == 10_000, report
