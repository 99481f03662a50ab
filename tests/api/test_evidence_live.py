"""Evidence against real uvicorn processes: concurrent uploads through two workers and two
servers on one database form one consistent log; a body streamed past the limit is
stopped; a chunk cut off mid-body keeps what arrived."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import BACKENDS, POSTGRES_URL
from tests.evidence.images import encode, scene
from tests.support.databases import drop_postgres_database
from tests.support.demo_template import Demo, demo_copy
from tests.support.evidence import stored_files
from tests.support.server import LiveServer, start_server, stop_server

MIB = 1024 * 1024
ENV = {"SPOTCHECK_EVIDENCE_WORKERS": "1", "SPOTCHECK_EVIDENCE_MAX_BYTES": str(2 * MIB)}


@pytest.fixture(scope="module", params=BACKENDS)
def servers(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, LiveServer, Path]]:
    """Two servers (the first with two workers) on one database and one data folder."""
    data = tmp_path_factory.mktemp("evidence-live")
    url, demo = demo_copy(request.param, data, postgres_url=POSTGRES_URL, prefix="spotcheck_evidence")
    first = start_server(data, url, workers=2, extra_env=ENV, prepared=demo)
    try:
        second = start_server(data, url, extra_env=ENV, prepared=demo or Demo(first.accounts, first.passwords))
        try:
            yield first, second, data
        finally:
            stop_server(second)
    finally:
        stop_server(first)
        if url:
            drop_postgres_database(POSTGRES_URL, url)


def bearer(server: LiveServer, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.token(role)}"}


def photo(seed: int) -> bytes:
    return encode(scene(seed, (320, 240)), "JPEG")


async def test_concurrent_uploads_through_two_servers_form_one_consistent_log(servers):
    first, second, _ = servers
    chief = bearer(first, "chief")
    inspector = {first.url: bearer(first, "inspector"), second.url: bearer(second, "inspector")}
    async with httpx.AsyncClient(timeout=120) as client:
        before = (await client.get(f"{first.url}/api/v1/ledger/verify", headers=chief)).json()["entries"]

        async def send(seed: int) -> httpx.Response:
            base = (first, second)[seed % 2].url
            return await client.post(f"{base}/api/v1/evidence", content=photo(1000 + seed), headers=inspector[base])

        answers = await asyncio.gather(*(send(seed) for seed in range(16)))
        assert [r.status_code for r in answers] == [201] * 16, [r.text for r in answers if r.status_code != 201]
        receipts = [r.json()["receipt"] for r in answers]
        assert sorted(r["index"] for r in receipts) == list(range(before, before + 16))
        for receipt in receipts:  # each receipt names the tree its entry really entered
            proof = await client.get(f"{second.url}/api/v1/ledger/proofs/inclusion", headers=chief,
                                     params={"index": receipt["index"], "tree_size": receipt["tree_size"]})
            assert proof.json()["root"] == receipt["root"] and proof.json()["leaf_hash"] == receipt["leaf_hash"]
        await client.get(f"{second.url}/api/v1/ledger/checkpoint", headers=chief)
        report = (await client.get(f"{first.url}/api/v1/ledger/verify", headers=chief)).json()
    assert report["ok"] and report["entries"] == before + 16 and report["verified_size"] == before + 16


def _chunks(total: int) -> Iterator[bytes]:
    head = photo(7)
    yield head
    sent = len(head)
    while sent < total:
        yield bytes(min(64 * 1024, total - sent))
        sent += 64 * 1024


def test_a_body_streamed_past_the_limit_is_stopped(servers):
    first, _, data = servers
    before = stored_files(data / "evidence")
    headers = {**bearer(first, "inspector"), "Content-Type": "image/jpeg"}
    try:  # chunked: no Content-Length to refuse up front, only counting stops it
        r = httpx.post(f"{first.url}/api/v1/evidence", content=_chunks(3 * MIB), headers=headers, timeout=60)
        assert r.status_code == 413 and r.json()["code"] == "PAYLOAD_TOO_LARGE"
    except (httpx.WriteError, httpx.RemoteProtocolError):
        pass  # the server may answer and close before the client finishes sending
    time.sleep(0.5)
    assert stored_files(data / "evidence") == before


def _cut_off_patch(url: str, headers: dict[str, str], offset: int, total: int, part: bytes) -> None:
    """A PATCH announcing ``total`` bytes whose connection drops after ``part``."""
    address = urlsplit(url)
    lines = [f"PATCH {address.path} HTTP/1.1", f"Host: {address.netloc}", f"Content-Length: {total}",
             f"Upload-Offset: {offset}", "Tus-Resumable: 1.0.0", "Content-Type: application/offset+octet-stream",
             *(f"{k}: {v}" for k, v in headers.items())]
    with socket.create_connection((address.hostname, address.port), timeout=10) as conn:
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + part)
        time.sleep(0.3)


def test_a_chunk_cut_off_mid_body_keeps_what_arrived(servers):
    first, second, _ = servers
    auth = bearer(first, "inspector")
    body = encode(scene(8, (1200, 900)), "JPEG", quality=95)
    tus = {**auth, "Tus-Resumable": "1.0.0"}
    created = httpx.post(f"{first.url}/api/v1/uploads", headers={**tus, "Upload-Length": str(len(body))})
    assert created.status_code == 201
    location = created.headers["location"]
    half = len(body) // 2
    _cut_off_patch(f"{first.url}{location}", auth, 0, len(body), body[:half])
    deadline = time.monotonic() + 20
    while True:  # the server notices the drop and keeps the bytes that arrived
        offset = int(httpx.head(f"{second.url}{location}", headers=tus).headers["upload-offset"])
        if offset == half or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert offset == half
    rest = httpx.patch(f"{second.url}{location}", content=body[half:], timeout=60,
                       headers={**tus, "Upload-Offset": str(half), "Content-Type": "application/offset+octet-stream"})
    assert rest.status_code == 204, rest.text
    original = httpx.get(f"{first.url}/api/v1/evidence/{rest.headers['x-evidence-id']}/original", headers=auth)
    assert original.content == body
