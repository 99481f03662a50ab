"""``spotcheck evidence …``: maintenance of the photo store."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import click

from evidence.errors import EvidenceError
from api.cli import _run_with_session, _settings

__all__ = ["evidence_group"]


@click.group("evidence", help="The photo store.")
def evidence_group() -> None:
    pass


@evidence_group.command("sweep", help=(
    "Delete stored photos and thumbnails that no evidence record cites (left by filings cut between storage and "
    "record, whose phone never sent them again), once they are older than --older-than-hours, and the resumable "
    "uploads that expired, with the bytes they received. Each deleted photo is audited."))
@click.option("--older-than-hours", default=24.0, show_default=True, type=click.FloatRange(min=1.0),
              help="Only blobs stored at least this long ago (a filing in progress is never touched).")
@click.option("--dry-run", is_flag=True, help="List what would be deleted; delete nothing.")
def sweep(older_than_hours: float, dry_run: bool) -> None:
    from api.evidence_runtime import make_stores
    from api.evidence_sweep import expired_uploads, sweep_blobs

    settings = _settings()
    try:
        store, staging = make_stores(settings)
    except EvidenceError as exc:
        raise click.ClickException(str(exc)) from None

    async def work(session: Any) -> Any:
        report = await sweep_blobs(session, store, older_than=timedelta(hours=older_than_hours), dry_run=dry_run)
        return report, await expired_uploads(session, staging, dry_run=dry_run)

    report, uploads = _run_with_session(settings, work)
    for sha in report.swept:
        click.echo(f"  {sha}")
    verb = "would delete" if dry_run else "deleted"
    click.echo(f"{verb} {len(report.swept)} of {report.stored} stored blobs ({report.bytes:,} bytes) that no record cites")
    click.echo(f"{verb} {uploads} expired resumable upload(s)")
