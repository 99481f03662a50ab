"""Slow and abandoned uploads against a real server, through raw sockets: a client that
sends half a body and closes, one that stalls, and a resumable upload left unfinished.
Each frees what it held (temporary files, staged chunks, the upload row), records nothing,
and the server keeps serving the others meanwhile."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Callable, Iterator

import httpx
import pytest

from tests.conftest import BACKENDS, POSTGRES_URL
from tests.evidence.images import encode, scene
from tests.support.evidence import stored_files
from tests.support.faults import half_sent
from tests.support.server import LiveServer, live_server

IDLE_SECONDS = 2
EXPIRY_SECONDS = 4
ENV = {"SPOTCHECK_EVIDENCE_WORKERS": "1", "SPOTCHECK_BODY_IDLE_SECONDS": str(IDLE_SECONDS),
       "SPOTCHECK_UPLOAD_EXPIRY_SECONDS": str(EXPIRY_SECONDS)}
TUS = {"Tus-Resumable": "1.0.0"}


@pytest.fixture(scope="module", params=BACKENDS)
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(request.param, tmp_path_factory.mktemp("abandon"), postgres_url=POSTGRES_URL, name="abandon", extra_env=ENV) as server:
        yield server


@pytest.fixture(scope="module")
def inspector(live: LiveServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {live.token('inspector')}"}


@pytest.fixture(scope="module")
def chief(live: LiveServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {live.token('chief')}"}


def evidence_dir(live: LiveServer) -> Path:
    return Path(live.env["SPOTCHECK_DATA_DIR"]) / "evidence"


def temporary_files(live: LiveServer) -> list[str]:
    return [f for f in stored_files(evidence_dir(live)) if "/.tmp/" in f or f.startswith(".tmp/")]


def evidence_total(live: LiveServer, chief: dict[str, str]) -> int:
    return httpx.get(f"{live.url}/api/v1/evidence?limit=1", headers=chief, timeout=30).json()["total"]


def wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def read_status(conn: socket.socket) -> tuple[int, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return int(data[9:12]), data


def photo(seed: int) -> bytes:
    return encode(scene(seed, (1600, 1200)), "JPEG", quality=95)


def test_a_client_that_closes_mid_body_leaves_nothing(live, inspector, chief):
    before = evidence_total(live, chief)
    conn = half_sent(live.url, "POST", "/api/v1/evidence", inspector, photo(1))
    assert wait_for(lambda: temporary_files(live) != [], 10)  # the server is receiving it
    conn.close()
    assert wait_for(lambda: temporary_files(live) == [], 10), temporary_files(live)
    assert evidence_total(live, chief) == before
    assert httpx.post(f"{live.url}/api/v1/evidence", content=photo(2), headers=inspector, timeout=60).status_code == 201


def test_stalled_uploads_time_out_while_others_are_served(live, inspector, chief):
    before = evidence_total(live, chief)
    stalled = [half_sent(live.url, "POST", "/api/v1/evidence", inspector, photo(10 + i)) for i in range(8)]
    try:
        assert wait_for(lambda: len(temporary_files(live)) == len(stalled), 10)
        # Eight connections hold a half-sent photo each; the service answers everyone else.
        assert httpx.get(f"{live.url}/api/v1/me", headers=chief, timeout=5).status_code == 200
        for conn in stalled:  # each is answered 408 once its body stalls past the limit
            status, head = read_status(conn)
            assert status == 408 and b"REQUEST_TIMEOUT" in head + conn.recv(65536), head
    finally:
        for conn in stalled:
            conn.close()
    assert wait_for(lambda: temporary_files(live) == [], 10), temporary_files(live)
    assert evidence_total(live, chief) == before


def test_an_abandoned_resumable_upload_expires_and_is_cleaned(live, inspector, chief):
    before = evidence_total(live, chief)
    body = photo(20)
    created = httpx.post(f"{live.url}/api/v1/uploads", headers={**inspector, **TUS, "Upload-Length": str(len(body))})
    location = created.headers["location"]
    chunk = {**inspector, **TUS, "Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"}
    conn = half_sent(live.url, "PATCH", location, chunk, body)
    try:  # a stalled chunk keeps what arrived, like a dropped one, and is answered
        status, head = read_status(conn)
        assert status == 204 and f"upload-offset: {len(body) // 2}".encode() in head.lower(), head
    finally:
        conn.close()
    staged = stored_files(evidence_dir(live) / "uploads")
    assert len(staged) == 1 and temporary_files(live) == []
    # The client never comes back: past the expiry the upload is gone (410), and the next
    # upload anyone starts deletes its row and staged bytes.
    assert wait_for(lambda: httpx.head(f"{live.url}{location}", headers={**inspector, **TUS}).status_code == 410,
                    EXPIRY_SECONDS + 10)
    other = httpx.post(f"{live.url}/api/v1/uploads", headers={**inspector, **TUS, "Upload-Length": "100"})
    assert other.status_code == 201
    assert stored_files(evidence_dir(live) / "uploads") == []
    assert httpx.get(f"{live.url}{location}", headers=inspector).status_code == 404
    httpx.delete(f"{live.url}{other.headers['location']}", headers={**inspector, **TUS})
    assert evidence_total(live, chief) == before
