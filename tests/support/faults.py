"""What fault tests check after the dust settles: the store against the records, read
straight from the server's database and evidence folder."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import select

from api.db import make_engine
from api.models_evidence import Evidence, UploadPart
from evidence.storage_local import LocalBlobStore
from tests.support.server import LiveServer

__all__ = ["StoreAudit", "audit_store", "half_sent", "server_database_url"]


def server_database_url(server: LiveServer) -> str:
    return server.env.get("SPOTCHECK_DATABASE_URL") or f"sqlite+aiosqlite:///{Path(server.env['SPOTCHECK_DATA_DIR']) / 'spotcheck.db'}"


@dataclass
class StoreAudit:
    photos: int
    """Evidence records."""
    missing: list[str]
    """Blobs a record cites (photo or thumbnail) that the store lacks."""
    orphans: list[str]
    """Blobs in the photo store no record cites."""
    staged_orphans: list[str]
    """Blobs in the staging store no upload part cites."""
    temporary: list[str]
    """Temporary files of either store."""

    @property
    def clean(self) -> bool:
        return not (self.missing or self.orphans or self.staged_orphans or self.temporary)


def audit_store(server: LiveServer, *, photos_before: int = 0) -> StoreAudit:
    """Compare the evidence folder with the evidence and upload-part records; ``photos``
    counts the records beyond ``photos_before`` (those of the demo's own field work)."""

    async def cited() -> tuple[int, set[str], set[str]]:
        engine = make_engine(server_database_url(server), pool_size=1)
        try:
            async with engine.connect() as connection:
                rows = (await connection.execute(select(Evidence.sha256, Evidence.thumbnails))).all()
                parts = set((await connection.execute(select(UploadPart.sha256))).scalars())
        finally:
            await engine.dispose()
        blobs = {sha for sha, _ in rows} | {t["sha256"] for _, thumbs in rows for t in thumbs}
        return len(rows), blobs, parts

    photos, blobs, parts = asyncio.run(cited())
    root = Path(server.env.get("SPOTCHECK_EVIDENCE_DIR") or Path(server.env["SPOTCHECK_DATA_DIR"]) / "evidence")
    store, staging = LocalBlobStore(root), LocalBlobStore(root / "uploads")
    stored, staged = set(store), set(staging)
    temporary = [str(p) for p in store.temporary_files() + staging.temporary_files()]
    return StoreAudit(photos=photos - photos_before, missing=sorted(blobs - stored), orphans=sorted(stored - blobs),
                      staged_orphans=sorted(staged - parts), temporary=temporary)


def half_sent(base_url: str, method: str, path: str, headers: dict[str, str], body: bytes) -> socket.socket:
    """A raw connection that announced ``body`` and sent only its first half; the caller
    closes it (a dropped client) or leaves it open (a stalled one)."""
    address = urlsplit(base_url)
    lines = [f"{method} {path} HTTP/1.1", f"Host: {address.netloc}", f"Content-Length: {len(body)}",
             *(f"{k}: {v}" for k, v in headers.items())]
    conn = socket.create_connection((address.hostname, address.port), timeout=30)
    conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body[: len(body) // 2])
    return conn
