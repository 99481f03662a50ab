"""The group-commit writer on real databases: batching, per-operation failures, poison batches."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import DBAPIError

from api.group_commit import GroupCommit, Journaled
from api.models import LoginThrottle


class Refused(Exception):
    pass


def insert_names(connection, names):
    """Insert each name unless it starts with 'bad' (that one alone fails); 'boom' breaks the batch."""
    if any(n == "boom" for n in names):
        raise RuntimeError("handler failure")
    good = [n for n in names if not n.startswith("bad")]
    if good:
        connection.execute(insert(LoginThrottle), [{"username": n, "failures": 0} for n in good])
    return [Refused(n) if n.startswith("bad") else n.upper() for n in names]


@pytest.fixture
async def engine(db):
    return db.kw["bind"]


@pytest.fixture
async def writer(engine):
    gc = GroupCommit(engine, {"names": insert_names}, max_batch=64)
    await gc.start()
    yield gc
    await gc.stop()


async def stored(db) -> set[str]:
    async with db() as s:
        return set((await s.execute(select(LoginThrottle.username))).scalars())


async def test_concurrent_writes_share_transactions_and_all_commit(db, writer):
    names = [f"user{i:03d}" for i in range(300)]
    results = await asyncio.gather(*(writer.submit("names", n) for n in names))
    assert results == [n.upper() for n in names]
    assert await stored(db) == set(names)
    assert writer.operations == 300 and writer.batches < 300  # batched, not one commit each
    assert writer.batches >= 300 / 64


async def test_one_failed_operation_leaves_the_others(db, writer):
    results = await asyncio.gather(*(writer.submit("names", n) for n in ["a1", "bad1", "a2"]), return_exceptions=True)
    assert results[0] == "A1" and isinstance(results[1], Refused) and results[2] == "A2"
    assert await stored(db) == {"a1", "a2"}


async def test_a_broken_batch_is_retried_operation_by_operation(db, writer):
    results = await asyncio.gather(*(writer.submit("names", n) for n in ["b1", "boom", "b2", "b3"]), return_exceptions=True)
    assert [r for r in results if isinstance(r, str)] == ["B1", "B2", "B3"]
    assert isinstance(results[1], RuntimeError)
    assert await stored(db) == {"b1", "b2", "b3"}


async def test_a_database_error_reaches_only_its_caller(db, writer):
    await writer.submit("names", "dup")
    results = await asyncio.gather(*(writer.submit("names", n) for n in ["c1", "dup", "c2"]), return_exceptions=True)
    assert results[0] == "C1" and results[2] == "C2" and isinstance(results[1], Exception)
    async with db() as s:
        assert (await s.execute(select(func.count()).select_from(LoginThrottle))).scalar_one() == 3


async def test_stop_finishes_the_queue(db, engine):
    gc = GroupCommit(engine, {"names": insert_names})
    await gc.start()
    pending = [asyncio.ensure_future(gc.submit("names", f"q{i}")) for i in range(50)]
    await asyncio.sleep(0)
    await gc.stop()
    assert all(p.done() for p in pending) and len(await stored(db)) == 50
    with pytest.raises(RuntimeError):
        await gc.submit("names", "late")


def journaled_names(connection, names):
    """insert_names, each stored name journaled as a row "j-<name>" (what audit events are)."""
    return [r if isinstance(r, Exception) else Journaled(r, [{"username": f"j-{n}", "failures": 0}])
            for n, r in zip(names, insert_names(connection, names))]


async def test_journal_rows_are_written_once_per_batch_with_the_batch(db, engine):
    calls: list[int] = []

    def journal(connection, rows):
        calls.append(len(rows))
        connection.execute(insert(LoginThrottle), rows)

    gc = GroupCommit(engine, {"names": journaled_names}, max_batch=16, journal=journal)
    await gc.start()
    try:
        names = [f"n{i:02d}" for i in range(40)]
        assert await asyncio.gather(*(gc.submit("names", n) for n in names)) == [n.upper() for n in names]
        assert len(calls) == gc.batches and sum(calls) == 40  # one write per batch, holding all its rows
        # A broken batch is rolled back with its journal rows; each operation is retried alone.
        results = await asyncio.gather(*(gc.submit("names", n) for n in ["k1", "boom", "bad1", "k2"]), return_exceptions=True)
        assert results[0] == "K1" and results[3] == "K2"
    finally:
        await gc.stop()
    assert await stored(db) == {*names, *(f"j-{n}" for n in names), "k1", "k2", "j-k1", "j-k2"}


async def test_journal_rows_without_a_journal_fail_the_batch(db, engine):
    gc = GroupCommit(engine, {"names": journaled_names})
    await gc.start()
    try:
        with pytest.raises(RuntimeError, match="no journal"):
            await gc.submit("names", "lost")
    finally:
        await gc.stop()
    assert await stored(db) == set()


async def test_preparers_run_as_operations_queue_and_a_failing_one_loses_nothing(db, engine):
    def prepare(op):
        if op["name"].startswith("oops"):
            raise ValueError("a bug in a preparer")
        op["prepared"] = op["name"].upper() + "!"

    def insert_prepared(connection, ops):
        connection.execute(insert(LoginThrottle), [{"username": op["name"], "failures": 0} for op in ops])
        return [op.get("prepared") or f"worked out in the turn: {op['name']}" for op in ops]

    gc = GroupCommit(engine, {"names": insert_prepared}, preparers={"names": prepare})
    await gc.start()
    try:
        results = await asyncio.gather(*(gc.submit("names", {"name": n}) for n in ["p1", "oops1", "p2"]))
    finally:
        await gc.stop()
    assert results == ["P1!", "worked out in the turn: oops1", "P2!"]
    assert await stored(db) == {"p1", "oops1", "p2"}


def insert_or_break(connection, names):
    """Like insert_names, but 'sever' closes the database connection under the batch first."""
    if "sever" in names:
        connection.connection.dbapi_connection.close()
        raise RuntimeError("connection lost")
    return insert_names(connection, names)


async def test_a_connection_lost_mid_batch_is_replaced_for_the_next(db, engine):
    gc = GroupCommit(engine, {"names": insert_or_break}, max_batch=64)
    await gc.start()
    try:
        assert await gc.submit("names", "before") == "BEFORE"
        # The handler's error, or (SQLite) the failed rollback on the closed connection.
        with pytest.raises((RuntimeError, DBAPIError)):
            await gc.submit("names", "sever")
        assert await asyncio.gather(*(gc.submit("names", n) for n in ["after1", "after2"])) == ["AFTER1", "AFTER2"]
    finally:
        await gc.stop()
    assert await stored(db) == {"before", "after1", "after2"}
