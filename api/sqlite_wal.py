"""Copying SQLite's write-ahead log into the database file, off the writer's path.

In WAL mode every commit appends pages to the ``-wal`` file; a *checkpoint* (SQLite's term)
copies them back into the database file, so that the log can start over. By default the
connection whose commit takes the log past 1,000 pages runs that checkpoint itself, before
its commit returns: copying a few megabytes and two more fsyncs. For the group-commit writer
that is one batch in a few dozen held up for tens of milliseconds with every phone of the
batch waiting, and the whole worker's event loop stalled meanwhile.

So the writer's connection turns automatic checkpoints off (``PRAGMA wal_autocheckpoint=0``)
and :class:`WalBackfill` runs them in a thread of its own, every ``interval`` seconds, on a
connection of its own. They are ``PASSIVE``: they copy what no reader still needs, and never
wait for or block a reader or the writer. A page written many times between two runs is
copied once.

The log starts over only when a writer begins a transaction after *everything* in it was
copied. Under steady load the writers commit while a checkpoint runs, so that never happens
by itself and the log would grow without end. So once a run has copied a long log
(``restart_frames``), the thread copies the frames committed meanwhile, again while they are
many, and then the last few inside the writers' turn (their ``flock``): the next batch then
starts the log over. Writers wait for that short last run only.

Durability does not change: a commit is on disk once its log frames are (``synchronous=FULL``),
and a checkpoint cut by a crash is redone from the log on the next open.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
from typing import Callable

__all__ = ["WalBackfill"]

log = logging.getLogger("spotcheck.sqlite_wal")


class WalBackfill:
    """A daemon thread checkpointing ``database`` every ``interval`` seconds until :meth:`close`.

    ``configure`` is applied to its connection once opened (the app's pragmas: WAL,
    ``synchronous=FULL``, so the database file is synced after each copy). ``turn_lock`` is
    the writers' lock file: after a run that copied ``restart_frames`` or more, the thread
    holds it for a second run, so that the log starts over.
    """

    TURN_TAIL_FRAMES = 256
    """Copied inside the writers' turn once the frames added during a run are this few."""

    def __init__(self, database: str, interval: float, configure: Callable[[sqlite3.Connection, object], None], *,
                 turn_lock: str | None = None, restart_frames: int = 4096) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.database = database
        self.interval = interval
        self.turn_lock = turn_lock
        self.restart_frames = restart_frames
        self.runs = 0
        self.last: tuple[int, int, int] | None = None
        self._configure = configure
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sqlite-wal-backfill", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def close(self) -> None:
        """Stop the thread (a run under way finishes first)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _loop(self) -> None:
        connection: sqlite3.Connection | None = None
        while not self._stop.wait(self.interval):
            try:
                if connection is None:
                    connection = sqlite3.connect(self.database, timeout=0, isolation_level=None)
                    self._configure(connection, None)
                busy, frames, copied = self.run(connection)
                if self.turn_lock and not busy and copied == frames >= self.restart_frames:
                    self._start_over(connection, frames)
            except Exception as exc:  # the thread must outlive any one run; the next one tries again
                log.warning("WAL checkpoint failed: %s", exc)
                if connection is not None:
                    connection.close()
                    connection = None
        if connection is not None:
            connection.close()

    def run(self, connection: sqlite3.Connection) -> tuple[int, int, int]:
        """One passive checkpoint: (1 if it could not finish, frames in the log, frames copied)."""
        busy, frames, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        self.runs += 1
        self.last = (busy, frames, copied)
        return self.last

    def _start_over(self, connection: sqlite3.Connection, frames: int) -> None:
        """Copy the frames committed during the last run, again and again while that tail is
        long, then the rest inside the writers' turn: they wait only for a short copy."""
        for _ in range(8):
            busy, now, _copied = self.run(connection)
            if busy or now < frames:  # the log started over meanwhile (another worker's thread)
                return
            tail, frames = now - frames, now
            if tail <= self.TURN_TAIL_FRAMES:
                break
        assert self.turn_lock is not None
        fd = os.open(self.turn_lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # the writers wait meanwhile (see the module docstring)
            self.run(connection)
        finally:
            os.close(fd)  # releases the lock
