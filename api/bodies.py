"""Request bodies that stall: a body with no bytes for ``body_idle_seconds`` counts as cut off.

Without this, a client that sends half a photo and then nothing (a phone losing signal
without a reset, or a slow-loris attack) holds its connection, its temporary file and its
share of the worker forever: uvicorn has no timeout inside a request. Here the wait for each
piece of body is bounded; past it the handler sees the connection as dropped, so the code
paths for a cut-off body run (a photo upload keeps nothing, a resumable chunk keeps what
arrived) and the answer is 408.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["TIMED_OUT", "body_timeout_middleware", "body_timed_out"]

log = logging.getLogger("spotcheck.bodies")
TIMED_OUT = "body_timed_out"
"""Key in ``scope["state"]`` set when the body stalled (tells a timeout from a real drop)."""


def body_timed_out(scope: Any) -> bool:
    return bool(scope.get("state", {}).get(TIMED_OUT))


def body_timeout_middleware(idle_seconds: float) -> Any:
    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or idle_seconds <= 0:
                await app(scope, receive, send)
                return
            complete = False

            async def timed_receive() -> Message:
                nonlocal complete
                if complete:  # after the body: listeners for a disconnect wait as long as they like
                    return await receive()
                # asyncio.timeout's logic with a bare timer: this runs for every piece of every
                # body, and the timer costs a third of a Timeout object.
                task = asyncio.current_task()
                assert task is not None
                cancelling = task.cancelling()
                expired = False

                def expire() -> None:
                    nonlocal expired
                    expired = True
                    task.cancel()

                timer = asyncio.get_running_loop().call_later(idle_seconds, expire)
                try:
                    message = await receive()
                except asyncio.CancelledError:
                    # Ours only if the timer fired and nobody else cancelled the task meanwhile.
                    if not expired or task.uncancel() > cancelling:
                        raise
                else:
                    if message["type"] != "http.request" or not message.get("more_body", False):
                        complete = True
                    return message
                finally:
                    timer.cancel()
                complete = True
                scope.setdefault("state", {})[TIMED_OUT] = True
                log.warning("request body stalled for %.0f s; treated as cut off", idle_seconds,
                            extra={"path": scope["path"]})
                return {"type": "http.disconnect"}

            await app(scope, timed_receive, send)

        return middleware

    return factory
