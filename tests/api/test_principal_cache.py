"""The per-worker cache of checked users: one read per key for a burst of misses, and a
logout during a read leaves nothing stale behind."""

from __future__ import annotations

import asyncio

import pytest

from api.security import Principal, PrincipalCache

ALICE = Principal(id=7, username="alice", role="inspector", unit_code=None)


class Reads:
    """A user-row read that waits until released, counting how often it ran."""

    def __init__(self, answer: Principal | None | Exception = ALICE) -> None:
        self.count = 0
        self.release = asyncio.Event()
        self.answer = answer

    async def __call__(self) -> Principal | None:
        self.count += 1
        await self.release.wait()
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


async def test_a_burst_of_misses_reads_the_user_once():
    cache, read = PrincipalCache(ttl=60), Reads()
    waiters = [asyncio.create_task(cache.fetch((7, 0), read)) for _ in range(50)]
    await asyncio.sleep(0)
    read.release.set()
    assert await asyncio.gather(*waiters) == [ALICE] * 50
    assert read.count == 1
    assert await cache.fetch((7, 0), Reads()) == ALICE  # cached: the new read never runs
    assert cache.get((7, 0)) == (True, ALICE)


async def test_a_failed_read_fails_every_waiter_and_is_not_kept():
    cache, read = PrincipalCache(ttl=60), Reads(ConnectionError("database away"))
    waiters = [asyncio.create_task(cache.fetch((7, 0), read)) for _ in range(3)]
    await asyncio.sleep(0)
    read.release.set()
    results = await asyncio.gather(*waiters, return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results) and read.count == 1
    assert cache.get((7, 0)) == (False, None)
    again = Reads()
    again.release.set()
    assert await cache.fetch((7, 0), again) == ALICE and again.count == 1


async def test_a_logout_during_the_read_keeps_its_answer_out_of_the_cache():
    cache, read = PrincipalCache(ttl=60), Reads()
    first = asyncio.create_task(cache.fetch((7, 0), read))
    await asyncio.sleep(0)
    cache.evict(7)  # the row read may predate the logout
    after = Reads(None)  # read after the logout: the token's version is gone
    second = asyncio.create_task(cache.fetch((7, 0), after))
    for _ in range(3):  # the caller's task, then its read's
        await asyncio.sleep(0)
    assert after.count == 1  # not joined to the read that began before the eviction
    read.release.set()
    after.release.set()
    assert await first == ALICE and await second is None
    assert cache.get((7, 0)) == (True, None)


async def test_a_caller_that_goes_away_does_not_cancel_the_read_for_the_others():
    cache, read = PrincipalCache(ttl=60), Reads()
    leaving = asyncio.create_task(cache.fetch((7, 0), read))
    staying = asyncio.create_task(cache.fetch((7, 0), read))
    await asyncio.sleep(0)
    leaving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaving
    read.release.set()
    assert await staying == ALICE and read.count == 1
