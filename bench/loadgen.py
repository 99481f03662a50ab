"""A lean HTTP/1.1 load generator for the bench scripts (keep-alive, one request in flight
per connection), light enough to share two cores with the server it measures.

Library use: ``await run_load(host, port, make_request, clients=64, total=N)`` where
``make_request(i)`` returns the bytes of request ``i``; returns latencies, statuses and the
generator's own CPU time.

Every request is built before the clock starts, and each connection is an
``asyncio.Protocol`` (no stream reader or writer in between): what the generator spends
while it measures is sending, parsing the status line and Content-Length, and timing. That
CPU is taken from the same two cores as the server's, so every microsecond here is one the
server does not get (it was 0.051 ms a request with streams and bodies built on the fly,
see docs/performance.md).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Callable

__all__ = ["LoadResult", "build_request", "run_load"]


def build_request(method: str, path: str, host: str, *, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@dataclass
class LoadResult:
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    """The generator's own CPU time (all its threads) while it measured."""
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0

    def percentile(self, p: float) -> float:
        data = sorted(self.latencies)
        return data[min(len(data) - 1, int(p / 100 * len(data)))] if data else float("nan")

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One response from a stream (for scripts that keep their own connections)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    body = await reader.readexactly(length) if length else b""
    return status, body


def _content_length(head: bytes) -> int:
    start = head.lower().find(b"\r\ncontent-length:")
    if start < 0:
        return 0
    start += 17
    return int(head[start:head.index(b"\r\n", start)])


class _Connection(asyncio.Protocol):
    """One keep-alive connection: :meth:`exchange` sends a request and waits for its
    response (status and body); a closed connection fails the waiting exchange."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(buffer[:end + 2])
        total = end + 4 + _content_length(head)
        if len(buffer) < total:
            return
        body = bytes(buffer[end + 4:total])
        del buffer[:total]
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result((int(head[9:12]), body))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionResetError("connection closed"))

    def exchange(self, request: bytes) -> asyncio.Future[tuple[int, bytes]]:
        if self.closed or self.transport is None:
            raise ConnectionResetError("connection closed")
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self.waiter


async def run_load(host: str, port: int, make_request: Callable[[int], bytes], *, clients: int, total: int,
                   timeout: float = 120.0, on_response: Callable[[int, int, bytes], None] | None = None) -> LoadResult:
    """Send ``total`` requests over ``clients`` connections; stop at ``timeout`` seconds.

    The requests are all built first; the clock (and ``cpu_seconds``) starts once they are."""
    loop = asyncio.get_running_loop()
    requests = [make_request(i) for i in range(total)]
    result = LoadResult()
    counter = iter(range(total))
    latencies, statuses = result.latencies, result.statuses

    async def connect() -> _Connection:
        _, connection = await loop.create_connection(_Connection, host, port)
        return connection

    async def client() -> None:
        connection = await connect()
        try:
            for i in counter:
                if time.perf_counter() > deadline:
                    break
                started = time.perf_counter()
                try:
                    status, body = await connection.exchange(requests[i])
                except ConnectionError:
                    result.errors += 1
                    if connection.transport is not None:
                        connection.transport.close()
                    connection = await connect()
                    continue
                latencies.append(time.perf_counter() - started)
                statuses[status] = statuses.get(status, 0) + 1
                if on_response is not None:
                    on_response(i, status, body)
        finally:
            if connection.transport is not None:
                connection.transport.close()

    cpu, started = time.process_time(), time.perf_counter()
    deadline = started + timeout
    await asyncio.gather(*(client() for _ in range(clients)))
    result.seconds = time.perf_counter() - started
    result.cpu_seconds = time.process_time() - cpu
    return result
