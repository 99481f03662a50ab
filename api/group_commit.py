"""Group commit: many small writes share one transaction and one durable commit.

Field phones send thousands of small writes a second. Committing each in its own
transaction costs one fsync (SQLite) or one round trip and WAL flush (PostgreSQL) per
row. Here every worker runs one writer task: callers enqueue an operation and wait; the
writer takes everything queued (up to ``max_batch``), hands each kind's operations to its
batch handler inside one transaction, commits, and only then answers each caller. Under
light load a batch holds one operation and adds no delay; under heavy load batches grow
and the cost per write falls.

A handler returns one outcome per operation: a value, or an exception for that operation
alone (validation, conflict), which never affects the others. If a handler itself fails,
the batch is rolled back and each of its operations is retried alone, so one bad write
cannot sink its neighbours.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

__all__ = ["BatchHandler", "GroupCommit"]

log = logging.getLogger("spotcheck.group_commit")

BatchHandler = Callable[[AsyncSession, Sequence[Any]], Awaitable[Sequence[Any]]]
"""Applies operations of one kind in the open transaction; returns one outcome each
(a result, or an Exception instance meaning that operation failed)."""


@dataclass
class _Pending:
    kind: str
    operation: Any
    future: asyncio.Future[Any] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class GroupCommit:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], handlers: dict[str, BatchHandler], *,
                 max_batch: int = 512) -> None:
        self._sessionmaker = sessionmaker
        self._handlers = handlers
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        self.operations = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="group-commit-writer")

    async def stop(self) -> None:
        """Finish what is queued, then stop."""
        if self._task is None:
            return
        await self._queue.join()
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        self._task = None

    async def submit(self, kind: str, operation: Any) -> Any:
        """Queue ``operation`` for the ``kind`` handler; return its outcome once committed."""
        if self._task is None or self._task.done():
            raise RuntimeError("the group-commit writer is not running")
        pending = _Pending(kind, operation)
        self._queue.put_nowait(pending)
        return await pending.future

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._apply(batch)
            except Exception as exc:  # the writer must survive anything one batch does
                log.exception("group commit failed for %d operations", len(batch))
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_exception(exc)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _apply(self, batch: list[_Pending]) -> None:
        try:
            outcomes = await self._transaction(batch)
        except Exception:
            if len(batch) == 1:
                raise
            log.warning("batch of %d failed; retrying its operations one by one", len(batch))
            for pending in batch:
                try:
                    [outcome] = await self._transaction([pending])
                except Exception as exc:
                    outcome = exc
                self._settle(pending, outcome)
            return
        for pending, outcome in zip(batch, outcomes):
            self._settle(pending, outcome)
        self.batches += 1
        self.operations += len(batch)

    async def _transaction(self, batch: list[_Pending]) -> list[Any]:
        by_kind: dict[str, list[int]] = defaultdict(list)
        for index, pending in enumerate(batch):
            by_kind[pending.kind].append(index)
        outcomes: list[Any] = [None] * len(batch)
        async with self._sessionmaker() as session:
            for kind, indexes in by_kind.items():
                results = await self._handlers[kind](session, [batch[i].operation for i in indexes])
                if len(results) != len(indexes):
                    raise RuntimeError(f"handler {kind!r} returned {len(results)} outcomes for {len(indexes)} operations")
                for i, result in zip(indexes, results):
                    outcomes[i] = result
            await session.commit()
        return outcomes

    @staticmethod
    def _settle(pending: _Pending, outcome: Any) -> None:
        if pending.future.done():  # the caller went away (client disconnected)
            return
        if isinstance(outcome, BaseException):
            pending.future.set_exception(outcome)
        else:
            pending.future.set_result(outcome)
