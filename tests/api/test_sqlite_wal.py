"""SQLite's write-ahead log is copied into the database file by WalBackfill's thread, never by
the group-commit writer's commits (which would hold up a batch of callers meanwhile)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from api.db import make_engine, sqlite_pragmas
from api.group_commit import GroupCommit
from api.sqlite_wal import WalBackfill

ROW = "观察记录" * 2000  # 24 KB of UTF-8: six pages a row


def insert_notes(connection, notes):
    connection.execute(text("INSERT INTO notes (body) VALUES (:body)"), [{"body": n} for n in notes])
    return [len(n) for n in notes]


@contextlib.asynccontextmanager
async def _writer(path: Path, backfill_seconds: float, restart_frames: int | None = None):
    """A group-commit writer of ``notes`` on a new SQLite file; stopped on the way out (the
    last connection to close copies and removes the log)."""
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"))
    writer = GroupCommit(engine, {"note": insert_notes}, wal_backfill_seconds=backfill_seconds)
    if restart_frames is not None:
        writer.wal_backfill.restart_frames = restart_frames
    await writer.start()
    try:
        yield writer
    finally:
        await writer.stop()
        await engine.dispose()


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


async def _wait_for(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_the_writers_commits_leave_the_log_to_the_backfill_thread(tmp_path):
    path = tmp_path / "field.db"
    # An hour between runs: within the test, nothing copies the log but the writer could.
    async with _writer(path, 3600) as writer:
        before = _size(path)
        for _ in range(10):  # 10 commits of 30 rows: about 1,800 pages, past SQLite's automatic 1,000
            await asyncio.gather(*(writer.submit("note", ROW) for _ in range(30)))
        assert _size(path.with_name("field.db-wal")) > 1000 * 4096
        assert _size(path) == before  # no commit copied the log into the database file
    with sqlite3.connect(path) as check:  # every row is readable (from the log)
        assert check.execute("SELECT count(*), sum(length(body)) FROM notes").fetchone() == (300, 300 * len(ROW))


async def test_the_backfill_thread_copies_the_log_while_the_writer_runs(tmp_path):
    path = tmp_path / "field.db"
    async with _writer(path, 0.05) as writer:
        backfill = writer.wal_backfill
        before = _size(path)
        await asyncio.gather(*(writer.submit("note", ROW) for _ in range(100)))
        await _wait_for(lambda: backfill.last is not None and backfill.last[1] > 0 and backfill.last[1] == backfill.last[2])
        assert _size(path) > before + 100 * len(ROW.encode())  # the rows are in the database file now
    assert not backfill.running


async def test_a_failing_run_is_logged_and_retried(tmp_path, caplog):
    backfill = WalBackfill(str(tmp_path / "missing" / "field.db"), 0.02, sqlite_pragmas)
    with caplog.at_level(logging.WARNING, logger="spotcheck.sqlite_wal"):
        backfill.start()
        await _wait_for(lambda: len(caplog.records) >= 2)  # the thread goes on after a failure
        backfill.close()
    assert "WAL checkpoint failed" in caplog.records[0].getMessage()
    assert backfill.runs == 0 and not backfill.running


def test_the_interval_must_be_positive(tmp_path):
    with pytest.raises(ValueError):
        WalBackfill(str(tmp_path / "field.db"), 0, sqlite_pragmas)


async def test_the_log_starts_over_under_steady_load(tmp_path):
    # Checkpoints that run while the writer keeps committing never copy the last frames, so
    # the log would never start over by itself (and grow with every row).
    path = tmp_path / "field.db"
    written, largest = 0, 0
    deadline = time.monotonic() + 2.0
    async with _writer(path, 0.02, restart_frames=64) as writer:  # 64 frames: a long log at this scale

        async def phone() -> None:  # eight of them keep the writer's queue from ever running dry
            nonlocal written, largest
            while time.monotonic() < deadline:
                await writer.submit("note", ROW[:1000])
                written += len(ROW[:1000].encode())
                largest = max(largest, _size(path.with_name("field.db-wal")))

        await asyncio.gather(*(phone() for _ in range(8)))
    assert written > 4 << 20
    assert largest < written / 4  # started over many times, instead of holding every row
