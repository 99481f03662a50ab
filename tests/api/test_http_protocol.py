"""api.http_protocol: a response leaves in one write, and bytes are never lost or reordered.

The protocol runs on a real event loop over a real socket pair. Each write that reaches the
socket's transport (one ``send()`` each) is noted on its way through; the peer reads the
bytes. The live-server tests (``spotcheck serve`` uses this protocol) cover the rest.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from litestar import Litestar, get
from litestar.response import Stream
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from api.http_protocol import CoalescingHttpToolsProtocol, CoalescingTransport


@get("/small", sync_to_thread=False)
def small() -> dict[str, str]:
    return {"name": "市场监管所"}


@get("/big", sync_to_thread=False)
def big() -> Stream:
    async def chunks() -> Any:
        for i in range(40):
            yield bytes([65 + i % 26]) * 10_000  # 400 KB in 40 parts, several per turn
            if i % 8 == 7:
                await asyncio.sleep(0)

    return Stream(chunks(), media_type="application/octet-stream")


APP = Litestar([small, big], debug=False)


class Noting:
    """The event loop's own transport, noting each write it is given."""

    def __init__(self, transport: asyncio.Transport, writes: list[bytes]) -> None:
        self.transport, self.writes = transport, writes

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))
        self.transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


def _noted(protocol_class: type[HttpToolsProtocol], writes: list[bytes]) -> type[HttpToolsProtocol]:
    class Noted(protocol_class):  # type: ignore[valid-type, misc]
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(Noting(transport, writes))  # type: ignore[arg-type]

    return Noted


async def _exchange(protocol_class: type[HttpToolsProtocol], request: bytes, *, until: bytes, times: int = 1) -> list[bytes]:
    """Serve ``request`` with ``protocol_class`` until the peer has received ``until``
    ``times`` times, or the server closed; the server's writes to the socket, checked
    against what the peer received."""
    config = Config(APP, lifespan="off", log_config=None, access_log=False)
    config.load()
    writes: list[bytes] = []
    noted = _noted(protocol_class, writes)
    server_end, client_end = socket.socketpair()
    loop = asyncio.get_running_loop()
    transport, _ = await loop.connect_accepted_socket(
        lambda: noted(config=config, server_state=ServerState(), app_state={}), server_end)
    client_end.setblocking(False)
    client_end.sendall(request)
    received = b""
    try:
        while received.count(until) < times:
            chunk = await asyncio.wait_for(loop.sock_recv(client_end, 1 << 20), timeout=5)
            if not chunk:
                break
            received += chunk
        await asyncio.sleep(0.01)  # anything written after ``until`` would show now
        client_end.setblocking(True)
        client_end.settimeout(0.01)
        try:
            received += client_end.recv(1 << 20)
        except TimeoutError:
            pass
    finally:
        transport.close()
        client_end.close()
    assert b"".join(writes) == received
    return writes


def test_a_small_response_leaves_in_one_write() -> None:
    request = b"GET /small HTTP/1.1\r\nhost: x\r\n\r\n"
    body = '{"name":"市场监管所"}'.encode()
    plain = asyncio.run(_exchange(HttpToolsProtocol, request, until=body))
    joined = asyncio.run(_exchange(CoalescingHttpToolsProtocol, request, until=body))
    assert len(plain) == 2  # uvicorn's own: the head, then the body
    assert len(joined) == 1
    assert joined[0] == b"".join(plain)
    assert joined[0].startswith(b"HTTP/1.1 200 OK\r\n") and joined[0].endswith(body)


def test_keep_alive_requests_in_one_packet_are_answered_in_order() -> None:
    request = b"GET /small HTTP/1.1\r\nhost: x\r\n\r\n" * 3
    body = '{"name":"市场监管所"}'.encode()
    messages = asyncio.run(_exchange(CoalescingHttpToolsProtocol, request, until=body, times=3))
    one = asyncio.run(_exchange(CoalescingHttpToolsProtocol, request[: len(request) // 3], until=body))[0]
    assert messages == [one, one, one]  # one write per response, none merged into another


def test_a_streamed_body_arrives_whole_and_in_order() -> None:
    request = b"GET /big HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
    messages = asyncio.run(_exchange(CoalescingHttpToolsProtocol, request, until=b"0\r\n\r\n"))
    raw = b"".join(messages)
    head, _, chunked = raw.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head
    body = b""
    while True:
        size_line, _, chunked = chunked.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        body, chunked = body + chunked[:size], chunked[size + 2:]
    assert body == b"".join(bytes([65 + i % 26]) * 10_000 for i in range(40))
    # Several parts a turn are joined, but never held past the flush size.
    assert len(messages) < 40
    assert max(map(len, messages)) < CoalescingTransport.flush_at + 20_000


async def _through_wrapper(act: Any) -> tuple[list[bytes], bytes]:
    """Writes reaching the socket, and the bytes the peer read until the server closed,
    after ``act(wrapper)`` on a CoalescingTransport over a real socket pair."""
    writes: list[bytes] = []
    server_end, client_end = socket.socketpair()
    loop = asyncio.get_running_loop()
    transport, _ = await loop.connect_accepted_socket(asyncio.Protocol, server_end)
    act(CoalescingTransport(Noting(transport, writes), loop))  # type: ignore[arg-type]
    client_end.setblocking(False)
    received = b""
    while chunk := await asyncio.wait_for(loop.sock_recv(client_end, 1024), timeout=5):
        received += chunk
    client_end.close()
    return writes, received


def test_close_sends_what_is_pending_first() -> None:
    def act(wrapper: CoalescingTransport) -> None:
        wrapper.write(b"head ")
        wrapper.write(b"body")
        wrapper.close()

    assert asyncio.run(_through_wrapper(act)) == ([b"head body"], b"head body")


def test_abort_drops_what_is_pending() -> None:
    def act(wrapper: CoalescingTransport) -> None:
        wrapper.write(b"never sent")
        wrapper.abort()

    assert asyncio.run(_through_wrapper(act)) == ([], b"")


@pytest.mark.parametrize("protocol_class", [CoalescingHttpToolsProtocol])
def test_a_bad_request_is_answered_and_closed(protocol_class: type[HttpToolsProtocol]) -> None:
    messages = asyncio.run(_exchange(protocol_class, b"NOT HTTP AT ALL\r\n\r\n", until=b"\x00never"))
    raw = b"".join(messages)
    assert raw.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"connection: close" in raw
