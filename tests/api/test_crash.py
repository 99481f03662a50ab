"""SIGKILL during field work: nothing acknowledged is lost, no retried write is doubled, no
photo is recorded without its bytes, no file is left without its record."""

from __future__ import annotations

import pytest

from bench.evidence_crash import run_evidence_crash
from bench.field_crash import run_crash
from bench.field_load import prepare
from tests.conftest import BACKENDS, POSTGRES_URL
from tests.support.server import live_server

# Phones of 8 inspectors: enough clients for the crash, and a quarter of the accounts (each
# costs the server argon2 hashes) the full roster takes.
INSPECTORS = 8


@pytest.mark.parametrize("backend", BACKENDS)
def test_sigkill_while_phones_create_findings(backend, tmp_path):
    with live_server(backend, tmp_path, postgres_url=POSTGRES_URL, name="crash") as server:
        report = run_crash(server, prepare(server, inspectors=INSPECTORS), total=4_000, clients=32, kill_after=1_500)
    assert report.killed_at >= 1_500 and report.downtime_s > 0  # the server really went down mid-run
    assert report.acknowledged == 4_000
    assert report.findings == report.distinct_ids == report.deductions == 4_000, report


@pytest.mark.parametrize("backend", BACKENDS)
def test_sigkill_while_phones_log_findings_and_file_photos(backend, tmp_path):
    with live_server(backend, tmp_path, postgres_url=POSTGRES_URL, name="crash",
                     extra_env={"SPOTCHECK_EVIDENCE_WORKERS": "1"}) as server:
        run = run_evidence_crash(server, prepare(server, inspectors=INSPECTORS), findings=1500, photos=12)
    tally, audit = run.fleet.tally, run.audit
    # The server really went down with writes of both kinds pending and two bodies half-sent.
    assert run.killed_at_findings < run.findings and run.killed_at_photos < run.photos and run.downtime_s > 0
    assert run.temporary_at_kill >= 2 and tally.dropped > 0
    assert tally.unclean == []
    assert len(tally.findings) == run.stored_findings == run.findings  # none lost, none doubled
    assert audit is not None and len(tally.evidence) == audit.photos == run.photos
    # Every record has its bytes, every blob its record; the crashed writes' temporary files
    # were removed when the server started again.
    assert audit.missing == [] and audit.orphans == [] and audit.staged_orphans == [] and audit.temporary == [], audit
    assert run.ledger is not None and run.ledger["ok"] and run.ledger["entries"] == run.ledger_before + run.photos, run.ledger
