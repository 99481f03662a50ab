"""The yardsticks of issue 6, rebuilt so that bench/field_floor.py can measure them on the
machine at hand: a bare Litestar app that takes a finding-shaped JSON body and answers 201.

``FLOOR_MODE=none``: no database at all ("the same app without a database").
``FLOOR_MODE=sqlite``: plus one group-commit writer per worker, as in the issue's prototype:
requests queue their row, the writer inserts everything queued (up to 512 rows) in one
transaction on the file ``FLOOR_DB`` (WAL, synchronous=FULL, workers taking turns with an
``flock``), commits, and only then answers. No authentication, no checks, no audit: what is
left when all of Spotcheck's own work is taken away.

Served by ``uvicorn bench.floor_app:app``; never imported by the product.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
import uuid
from datetime import datetime

import msgspec
from litestar import Litestar, get, post

__all__ = ["app"]

MAX_BATCH = 512


class FindingIn(msgspec.Struct, forbid_unknown_fields=True):
    id: uuid.UUID
    task_id: uuid.UUID
    indicator: str
    recorded_at: datetime
    note: str = ""


class FindingAck(msgspec.Struct):
    id: uuid.UUID
    task_id: uuid.UUID
    indicator: str


class _Writer:
    def __init__(self, path: str) -> None:
        self.connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=15000"):
            self.connection.execute(f"PRAGMA {pragma}")
        self.connection.execute("CREATE TABLE IF NOT EXISTS findings (id TEXT PRIMARY KEY, task_id TEXT NOT NULL, "
                                "indicator TEXT NOT NULL, note TEXT NOT NULL, recorded_at TEXT NOT NULL)")
        self.lock = os.open(f"{path}.writelock", os.O_RDWR | os.O_CREAT, 0o600)
        self.queue: asyncio.Queue[tuple[FindingIn, asyncio.Future[None]]] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def submit(self, finding: FindingIn) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.queue.put_nowait((finding, future))
        await future

    async def run(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while len(batch) < MAX_BATCH and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                fcntl.flock(self.lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                await asyncio.to_thread(fcntl.flock, self.lock, fcntl.LOCK_EX)
            try:
                self.connection.execute("BEGIN IMMEDIATE")
                self.connection.executemany(
                    "INSERT OR IGNORE INTO findings VALUES (?, ?, ?, ?, ?)",
                    [(str(f.id), str(f.task_id), f.indicator, f.note, f.recorded_at.isoformat()) for f, _ in batch])
                self.connection.execute("COMMIT")
            finally:
                fcntl.flock(self.lock, fcntl.LOCK_UN)
            for _, future in batch:
                if not future.done():
                    future.set_result(None)


_writer: _Writer | None = None


async def _start() -> None:
    global _writer
    if os.environ.get("FLOOR_MODE") == "sqlite":
        _writer = _Writer(os.environ["FLOOR_DB"])
        _writer.task = asyncio.create_task(_writer.run())


@get("/readyz")
async def ready() -> dict[str, str]:
    return {"status": "ready"}


@post("/api/v1/findings", status_code=201)
async def create(data: FindingIn) -> FindingAck:
    if _writer is not None:
        await _writer.submit(data)
    return FindingAck(id=data.id, task_id=data.task_id, indicator=data.indicator)


app = Litestar([ready, create], on_startup=[_start])
