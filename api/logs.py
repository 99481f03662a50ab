"""Structured JSON logs, one line per event, each tagged with the request id."""

from __future__ import annotations

import itertools
import logging
import re
import secrets
import sys
import time
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any

import msgspec
from litestar.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["REQUEST_ID", "configure_logging", "request_id_middleware", "request_id_of"]

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._\-]{8,128}$")
_access = logging.getLogger("spotcheck.access")
# Record attributes that are not event fields (uvicorn adds an ANSI-coloured copy of msg).
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"color_message", "message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return msgspec.json.encode(entry).decode()


def configure_logging(level: str = "INFO") -> None:
    """Route every logger (ours, uvicorn's, SQLAlchemy's) through one JSON handler on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # Our middleware writes the access log with the request id; uvicorn's would duplicate it.
    logging.getLogger("uvicorn.access").disabled = True


_ID_PREFIX = secrets.token_hex(8)
_ids = itertools.count(1)


def _next_id() -> str:
    # Unique across workers and restarts (random per-process prefix) without a system call
    # for randomness on every request.
    return f"{_ID_PREFIX}{next(_ids):016x}"


async def _refuse_nul(send: Send) -> None:
    # PostgreSQL refuses NUL in text; no code or name may contain one, so refuse it early.
    body = b'{"code":"BAD_REQUEST","message":"NUL characters are not allowed in URLs.","details":null}'
    await send({"type": "http.response.start", "status": 400,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def request_id_of(scope: Scope) -> str:
    """The request's id: the one the middleware gave it, else the client's if sane, else new."""
    known = scope.get("state", {}).get("request_id")
    if known:
        return str(known)
    given = dict(scope.get("headers", [])).get(b"x-request-id", b"").decode("latin-1")
    return given if _CLIENT_ID.match(given) else _next_id()


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """Give every request an id (the client's X-Request-ID if sane), echo it, log the access."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        token = REQUEST_ID.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            if "\x00" in scope["path"] or b"%00" in scope.get("query_string", b""):
                await _refuse_nul(send_with_id)
                return
            await app(scope, receive, send_with_id)
        except Exception as exc:
            # Answered by the exception middleware outside this one (e.g. the auth
            # middleware's 401), whose send this one never sees: log the status it will send.
            if status == 500:
                status = int(getattr(exc, "status_code", 500))
            raise
        finally:
            if _access.isEnabledFor(logging.INFO):
                user = scope.get("user")
                _access.info(
                    "%s %s %s",
                    scope["method"],
                    scope["path"],
                    status,
                    extra={
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                        "user": getattr(user, "username", None),
                    },
                )
            REQUEST_ID.reset(token)

    return middleware
