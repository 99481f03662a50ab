"""Phones that never give up, for the fault runs (bench/faults.py, tests/api/test_crash.py,
tests/api/test_db_outage.py).

Each client works through its share of writes, retrying each one with the same ids and
bytes until the server acknowledges it, as the field protocol asks of a phone: findings
with their client-made id, photos by one-shot upload (``POST /evidence``) or resumable upload
(tus: create, then PATCH from the offset the server reports). Every answer is checked: a
success, or a clean refusal while the service is impaired (503 with ``Retry-After`` and the
error shape); anything else is recorded as unclean. A request that takes longer than
``timeout`` counts as a hang.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable

import httpx

__all__ = ["Fleet", "Photo", "Tally"]

TUS = {"Tus-Resumable": "1.0.0"}


@dataclass
class Photo:
    body: bytes
    resumable: bool
    task_id: str | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    unclean: list[str] = field(default_factory=list)
    hangs: int = 0
    dropped: int = 0
    """Connections refused or cut (the server process was down)."""
    findings: set[str] = field(default_factory=set)
    evidence: dict[str, str] = field(default_factory=dict)
    """sha256 -> evidence id, once acknowledged."""
    successes: list[float] = field(default_factory=list)
    """Monotonic times of every 2xx."""
    refusals: list[float] = field(default_factory=list)
    """Monotonic times of every clean 503."""
    operations_refused: int = 0
    """Operations of a sync request answered 503 on their own (sent again)."""

    @property
    def acknowledged(self) -> int:
        return len(self.findings) + len(self.evidence)


class Fleet:
    def __init__(self, base_url: str, *, timeout: float = 20.0, pause: float = 0.1) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self.pause = pause
        self.tally = Tally()

    async def call(self, client: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> httpx.Response | None:
        """One attempt: the response if it is a success or a 4xx the caller handles, None
        after a clean refusal, a dropped connection or a hang (the caller retries)."""
        try:
            response = await client.request(method, path, timeout=self.timeout, **kwargs)
        except httpx.TimeoutException:
            self.tally.hangs += 1
            return None
        except httpx.TransportError:
            self.tally.dropped += 1
            await asyncio.sleep(self.pause)
            return None
        status = response.status_code
        self.tally.statuses[status] += 1
        if status < 400:
            self.tally.successes.append(time.monotonic())
            return response
        if status == 503 and _clean_refusal(response):
            self.tally.refusals.append(time.monotonic())
            await asyncio.sleep(self.pause)
            return None
        if status >= 500:
            self.tally.unclean.append(f"{method} {path}: {status} {response.headers.get('retry-after')} {response.text[:300]}")
            await asyncio.sleep(self.pause)
            return None
        return response

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, limits=httpx.Limits(max_keepalive_connections=1))

    async def findings(self, jobs: asyncio.Queue[tuple[str, str, str]], on_ack: Callable[[], None] = lambda: None,
                       hold: Callable[[], Awaitable[None]] | None = None) -> None:
        """Log findings ``(token, task_id, indicator)`` from ``jobs`` until the queue is empty;
        ``hold`` is awaited before each one is taken."""
        recorded = datetime.now(timezone.utc).isoformat()
        async with self._client() as client:
            while not jobs.empty():
                if hold is not None:
                    await hold()
                    if jobs.empty():
                        break
                token, task, indicator = jobs.get_nowait()
                body = {"id": str(uuid.uuid4()), "task_id": task, "indicator": indicator, "recorded_at": recorded}
                while True:
                    r = await self.call(client, "POST", "/api/v1/findings", json=body, headers=_bearer(token))
                    if r is None:
                        continue
                    if r.status_code in (200, 201):
                        self.tally.findings.add(body["id"])
                        on_ack()
                        break
                    self.tally.unclean.append(f"finding: {r.status_code} {r.text[:300]}")
                    break

    async def sync(self, jobs: asyncio.Queue[tuple[str, str, str]], batch: int = 20) -> None:
        """Like :meth:`findings`, but through ``POST /sync``: ``batch`` findings per job, in one
        request; the phone sends again exactly the operations not answered 200/201."""
        recorded = datetime.now(timezone.utc).isoformat()
        async with self._client() as client:
            while not jobs.empty():
                token, task, rule = jobs.get_nowait()
                pending = [{"op": "finding", "finding": {"id": str(uuid.uuid4()), "task_id": task, "indicator": rule,
                                                         "recorded_at": recorded}} for _ in range(batch)]
                while pending:
                    r = await self.call(client, "POST", "/api/v1/sync", json={"operations": pending}, headers=_bearer(token))
                    if r is None:
                        continue
                    if r.status_code != 200:
                        self.tally.unclean.append(f"sync: {r.status_code} {r.text[:300]}")
                        return
                    again = []
                    for result in r.json()["results"]:
                        op = pending[result["index"]]
                        if result["status"] in (200, 201):
                            self.tally.findings.add(op["finding"]["id"])
                        elif result["status"] == 503 and result["error"]["code"] == "SERVICE_UNAVAILABLE":
                            self.tally.operations_refused += 1
                            again.append(op)
                        else:
                            self.tally.unclean.append(f"sync operation: {result['status']} {result['error']}")
                    if again:
                        await asyncio.sleep(self.pause)
                    pending = again

    async def photos(self, token: str, jobs: asyncio.Queue[Photo], *, chunk: int = 64 * 1024,
                     on_ack: Callable[[], None] = lambda: None) -> None:
        """File photos from ``jobs``, each by its own protocol, until each is acknowledged."""
        async with self._client() as client:
            while not jobs.empty():
                photo = jobs.get_nowait()
                send = self._resumable if photo.resumable else self._one_shot
                evidence_id = await send(client, token, photo, chunk)
                if evidence_id is not None:
                    self.tally.evidence[photo.sha256] = evidence_id
                    on_ack()

    async def _one_shot(self, client: httpx.AsyncClient, token: str, photo: Photo, _: int) -> str | None:
        params = {"task_id": photo.task_id} if photo.task_id else {}
        headers = {**_bearer(token), "X-Content-SHA256": photo.sha256}
        while True:
            r = await self.call(client, "POST", "/api/v1/evidence", content=photo.body, params=params, headers=headers)
            if r is None:
                continue
            if r.status_code in (200, 201):
                return str(r.json()["id"])
            self.tally.unclean.append(f"evidence: {r.status_code} {r.text[:300]}")
            return None

    async def _resumable(self, client: httpx.AsyncClient, token: str, photo: Photo, chunk: int) -> str | None:
        auth = {**_bearer(token), **TUS}
        length = len(photo.body)
        location = None
        while True:
            if location is None:
                created = await self.call(client, "POST", "/api/v1/uploads", headers={**auth, "Upload-Length": str(length)})
                if created is None:
                    continue
                if created.status_code != 201:
                    self.tally.unclean.append(f"upload create: {created.status_code} {created.text[:300]}")
                    return None
                location = created.headers["location"]
            state = await self.call(client, "GET", location, headers=auth)
            if state is None:
                continue
            if state.status_code != 200:
                self.tally.unclean.append(f"upload state: {state.status_code} {state.text[:300]}")
                return None
            progress = state.json()
            if progress["evidence_id"]:  # finished, though its last answer may have been lost
                return str(progress["evidence_id"])
            offset = progress["offset"]
            piece = photo.body[offset:offset + chunk]  # empty at the end: the filing is retried
            r = await self.call(client, "PATCH", location, content=piece, headers={
                **auth, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"})
            if r is None or r.status_code == 204:
                continue  # ask for the offset again in either case
            if r.status_code == 409:  # another attempt moved it meanwhile: ask again
                continue
            self.tally.unclean.append(f"upload chunk: {r.status_code} {r.text[:300]}")
            return None


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _clean_refusal(response: httpx.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    retry_after = response.headers.get("retry-after", "")
    return (isinstance(body, dict) and set(body) == {"code", "message", "details"}
            and body["code"] in {"SERVICE_UNAVAILABLE", "STORAGE_ERROR", "NOT_READY"} and retry_after.isdigit())
