"""The sweep run by ``spotcheck evidence sweep``: stored photos and thumbnails that no
evidence record cites (the rule: :func:`evidence.sweep.sweepable`), and resumable uploads
that expired (otherwise removed only when someone starts the next upload)."""

from __future__ import annotations

import time
from datetime import timedelta

import anyio
import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from evidence.errors import BlobNotFound
from evidence.storage import BlobStore
from evidence.sweep import sweepable

from api import audit
from api.db import utcnow
from api.ledger import lock_head
from api.models_evidence import Evidence, Upload
from api.uploads import purge_expired

__all__ = ["SweepReport", "expired_uploads", "sweep_blobs"]


class SweepReport(msgspec.Struct, frozen=True):
    stored: int
    """Blobs in the store when the sweep looked."""
    swept: list[str]
    """Digests removed (or, in a dry run, that would be)."""
    bytes: int
    """Their total size."""


def _listing(store: BlobStore) -> list[tuple[str, float, int]]:
    found = []
    for sha in store:
        try:
            found.append((sha, store.stored_at(sha), store.size(sha)))
        except BlobNotFound:  # deleted while we listed
            continue
    return found


async def _cited(session: AsyncSession, candidates: set[str]) -> set[str]:
    cited: set[str] = set()
    listed = sorted(candidates)
    for start in range(0, len(listed), 500):
        chunk = listed[start:start + 500]
        cited.update((await session.execute(select(Evidence.sha256).where(Evidence.sha256.in_(chunk)))).scalars())
    # Thumbnails are cited inside a JSON list; read them all (the sweep is a rare, offline job).
    thumbnails = await session.stream_scalars(select(Evidence.thumbnails).execution_options(yield_per=1000))
    async for listed_thumbnails in thumbnails:
        cited.update(t["sha256"] for t in listed_thumbnails or () if t.get("sha256") in candidates)
    return cited


async def sweep_blobs(session: AsyncSession, store: BlobStore, *, older_than: timedelta, dry_run: bool = False,
                      actor: str = audit.CLI) -> SweepReport:
    """Delete the blobs of ``store`` that no evidence record cites and that were stored at
    least ``older_than`` ago; each deletion is audited (``evidence.blob_swept``).

    The check and the deletions run under the ledger lock, the lock every filing holds while
    it checks that its blob exists and records it, so no record can start citing a blob
    between the check and its deletion. The age keeps the blobs of filings still on their way
    (stored, being analysed) out of reach.
    """
    listing = await anyio.to_thread.run_sync(_listing, store)
    sizes = {sha: size for sha, _, size in listing}
    ages = [(sha, stored_at) for sha, stored_at, _ in listing]
    now, seconds = time.time(), older_than.total_seconds()
    old = sweepable(ages, (), now=now, older_than=seconds)
    await session.rollback()
    await lock_head(session)
    cited = await _cited(session, set(old)) if old else set()
    swept = sweepable(ages, cited, now=now, older_than=seconds)
    if not dry_run:
        for sha in swept:
            await anyio.to_thread.run_sync(store.delete, sha)
            audit.record(session, actor, "evidence.blob_swept", "blob", sha, {"size": sizes[sha]}, None)
    await session.commit()
    return SweepReport(stored=len(listing), swept=swept, bytes=sum(sizes[sha] for sha in swept))


async def expired_uploads(session: AsyncSession, staging: BlobStore, *, dry_run: bool = False) -> int:
    """Remove every expired resumable upload with the bytes it received; return how many
    (in a dry run, how many there are)."""
    if dry_run:
        return (await session.execute(select(func.count()).select_from(Upload).where(Upload.expires_at <= utcnow()))).scalar_one()
    removed = 0
    while batch := await purge_expired(session, staging):
        removed += batch
    return removed
