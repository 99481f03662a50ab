"""A lean HTTP/1.1 load generator for the bench scripts (keep-alive, one request in flight
per connection), light enough to share two cores with the server it measures.

Library use: ``await run_load(host, port, make_request, clients=64, total=N)`` where
``make_request(i)`` returns the bytes of request ``i``; returns latencies and statuses.
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
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    body = await reader.readexactly(length) if length else b""
    return status, body


async def run_load(host: str, port: int, make_request: Callable[[int], bytes], *, clients: int, total: int,
                   timeout: float = 120.0, on_response: Callable[[int, int, bytes], None] | None = None) -> LoadResult:
    """Send ``total`` requests over ``clients`` connections; stop at ``timeout`` seconds."""
    result = LoadResult()
    counter = iter(range(total))
    deadline = time.perf_counter() + timeout

    async def client() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for i in counter:
                if time.perf_counter() > deadline:
                    break
                request = make_request(i)
                started = time.perf_counter()
                try:
                    writer.write(request)
                    status, body = await _read_response(reader)
                except (ConnectionError, asyncio.IncompleteReadError):
                    result.errors += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
                    continue
                result.latencies.append(time.perf_counter() - started)
                result.statuses[status] = result.statuses.get(status, 0) + 1
                if on_response is not None:
                    on_response(i, status, body)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    result.seconds = time.perf_counter() - started
    return result
