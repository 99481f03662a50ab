"""The evidence machinery of one process: blob stores, the analysis pool, the ledger key.

Built once per worker in the app's lifespan (``app.state.evidence``) and by the CLI. The
photo store is a local folder (``SPOTCHECK_EVIDENCE_DIR``, default ``DATA_DIR/evidence``)
or an S3 bucket; resumable uploads keep their parts in a second store beside it
(``…/uploads``), so a deployment whose hosts share the bucket can take an upload's chunks
on any host.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio

from evidence.analysis import ImageAnalysis, ImageLimits, analyze
from evidence.checkpoint import CheckpointSigner, generate_key_file, load_signer
from evidence.errors import CorruptImage, KeyFileError
from evidence.flags import FlagPolicy
from evidence.storage import BlobStore
from evidence.storage_local import LocalBlobStore, read_error
from api.settings import Settings

__all__ = ["EvidenceRuntime", "load_or_create_signer", "make_stores"]

log = logging.getLogger("spotcheck.evidence")
STAGING = "uploads"


def make_stores(settings: Settings) -> tuple[BlobStore, BlobStore]:
    """The photo store and the staging store of resumable uploads, per the settings."""
    limit = settings.evidence_max_bytes
    if not settings.evidence_s3_bucket:
        root = settings.evidence_path
        return LocalBlobStore(root, max_bytes=limit), LocalBlobStore(root / STAGING, max_bytes=limit)
    import boto3

    from evidence.storage_s3 import S3BlobStore

    options: dict[str, Any] = {}
    if settings.evidence_s3_endpoint_url:
        options["endpoint_url"] = settings.evidence_s3_endpoint_url
    if settings.evidence_s3_region:
        options["region_name"] = settings.evidence_s3_region
    if settings.evidence_s3_access_key_id:
        options["aws_access_key_id"] = settings.evidence_s3_access_key_id
        options["aws_secret_access_key"] = settings.evidence_s3_secret_access_key
    client = boto3.client("s3", **options)
    prefix = settings.evidence_s3_prefix
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    bucket = settings.evidence_s3_bucket
    return (S3BlobStore(bucket, prefix=prefix, client=client, max_bytes=limit),
            S3BlobStore(bucket, prefix=f"{prefix}{STAGING}/", client=client, max_bytes=limit))


def load_or_create_signer(settings: Settings) -> CheckpointSigner:
    """The checkpoint signing key, created (mode 0600) on first use.

    Several workers start at once: exactly one creates the file (O_EXCL) and the others
    read it back once it is written.
    """
    path = settings.ledger_key_path
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return generate_key_file(path, settings.ledger_origin)
        except KeyFileError:
            pass  # another worker won the race
    for attempt in range(50):
        try:
            signer = load_signer(path)
            break
        except KeyFileError:
            # A file younger than a few seconds may still be being written by its creator.
            if attempt == 49 or time.time() - path.stat().st_mtime > 5:
                raise
            time.sleep(0.05)
    if signer.name != settings.ledger_origin:
        log.warning("ledger key %s is named %r; checkpoints use that origin, not SPOTCHECK_LEDGER_ORIGIN=%r",
                    path, signer.name, settings.ledger_origin)
    return signer


class EvidenceRuntime:
    """Stores, pool, key and policies shared by the evidence endpoints of one worker."""

    def __init__(self, settings: Settings, store: BlobStore, staging: BlobStore, signer: CheckpointSigner) -> None:
        self.settings = settings
        self.store = store
        self.staging = staging
        self.signer = signer
        self.limits = ImageLimits(max_pixels=settings.evidence_max_pixels)
        self.policy = FlagPolicy(clock_tolerance=timedelta(seconds=settings.evidence_clock_tolerance_seconds),
                                 near_max_distance=settings.evidence_near_distance)
        self.unit_radius_m = settings.evidence_unit_radius_m
        self._pool: ProcessPoolExecutor | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> EvidenceRuntime:
        store, staging = make_stores(settings)
        runtime = cls(settings, store, staging, load_or_create_signer(settings))
        for local in (store, staging):
            if isinstance(local, LocalBlobStore):
                local.purge_temporary()  # leftovers of a crashed process
        return runtime

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn: forking a process that runs an event loop and threads is unsafe.
            self._pool = ProcessPoolExecutor(self.settings.evidence_workers, mp_context=multiprocessing.get_context("spawn"))
        return self._pool

    async def _run(self, source: str) -> ImageAnalysis:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor(), analyze, source, self.limits)

    async def analyze(self, sha256: str) -> ImageAnalysis:
        """Decode, read and hash the stored photo ``sha256`` in the process pool.

        Raises the library's UnsupportedFormat, CorruptImage or ImageTooLarge, and
        BlobNotFound or StorageError when the stored file is gone or unreadable. A photo
        that kills its worker (the kernel's OOM killer, a decoder crash) gets one retry on
        a fresh pool, then counts as corrupt.
        """
        if isinstance(self.store, LocalBlobStore):
            try:
                return await self._analyze_path(str(self.store.path(sha256)))
            except OSError as exc:  # the decoder's own failures are CorruptImage: this is the file's
                raise read_error(exc, sha256) from None
        with tempfile.TemporaryDirectory(prefix="spotcheck-analysis-") as folder:
            path = Path(folder) / sha256
            await anyio.to_thread.run_sync(self._download, sha256, path)
            return await self._analyze_path(str(path))

    def _download(self, sha256: str, path: Path) -> None:
        with self.store.open(sha256) as source, open(path, "wb") as target:
            while chunk := source.read(1 << 20):
                target.write(chunk)

    async def _analyze_path(self, path: str) -> ImageAnalysis:
        for attempt in range(2):
            pool = self._executor()
            try:
                return await self._run(path)
            except BrokenProcessPool:
                log.warning("analysis worker died; replacing the pool (attempt %d)", attempt + 1)
                if self._pool is pool:
                    self._pool = None
                    pool.shutdown(wait=False, cancel_futures=True)
        raise CorruptImage("the image could not be decoded: it crashed the decoder twice")

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
