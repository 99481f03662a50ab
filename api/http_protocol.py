"""uvicorn's httptools protocol, with each response sent in one write to the socket.

uvicorn writes a response's status line and headers as soon as the app sends
``http.response.start``, then the body on ``http.response.body``: two ``send()`` calls and
two TCP segments for every small JSON answer. On loopback or a fast link each ``send()``
costs about as much as the app's own work on a small request (the kernel delivers the
segment in the sender's time), so a phone's finding paid for two. Here the writes a
response makes within one turn of the event loop are joined and sent once, at the end of
that turn; a response whose body streams over several turns still goes out as it comes.
Nothing else of uvicorn's protocol changes.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["CoalescingHttpToolsProtocol", "CoalescingTransport"]


class CoalescingTransport:
    """A transport whose writes within one event-loop turn reach the socket as one write.

    Every other attribute is the wrapped transport's. ``close``, ``write_eof`` and ``abort``
    first send or drop what is pending, so bytes are never reordered or written after a close.
    """

    __slots__ = ("_transport", "_pending", "_pending_size", "_loop")

    #: Pending bytes past which a write goes out at once, so that a large body written in
    #: one turn still meets uvicorn's flow control (it looks at the real transport's buffer).
    flush_at = 64 * 1024

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._loop = loop

    def write(self, data: bytes) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self.flush)
        # Held until the turn ends: a buffer the caller may change meanwhile is copied.
        self._pending.append(data if isinstance(data, bytes) else bytes(data))
        self._pending_size += len(data)
        if self._pending_size >= self.flush_at:
            self.flush()

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending.clear()
        self._pending_size = 0
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._pending.clear()
        self._pending_size = 0
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + self._pending_size

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` writing through a :class:`CoalescingTransport`."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]
