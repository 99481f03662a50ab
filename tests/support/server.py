"""A real ``spotcheck serve`` process on 127.0.0.1 for end-to-end and fuzz tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.databases import drop_postgres_database
from tests.support.demo_template import BIN, Demo, cli_env, demo_copy, load_demo, spotcheck

__all__ = ["LiveServer", "free_port", "kill_server", "restart_server", "start_server", "stop_server"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen[bytes]
    env: dict[str, str]
    log: Path
    accounts: dict[str, tuple[str, str]] = field(default_factory=dict)  # role -> (username, password), the first of each role
    passwords: dict[str, str] = field(default_factory=dict)  # username -> password, every demo account
    workers: int = 1

    def token(self, role: str) -> str:
        username, password = self.accounts[role]
        r = httpx.post(f"{self.url}/api/v1/auth/token", json={"username": username, "password": password}, timeout=10)
        r.raise_for_status()
        return r.json()["access_token"]


def start_server(data_dir: Path, database_url: str | None = None, *, workers: int = 1, demo: bool = True,
                 extra_env: dict[str, str] | None = None, prepared: Demo | None = None) -> LiveServer:
    """Migrate, load the demo (accounts captured from its output) and serve; waits for /readyz.
    With ``prepared``, the database and folder already hold the demo (a copy of the run's
    template, :func:`tests.support.demo_template.demo_copy`), whose accounts it names.

    Several servers may share one data folder (and database): each logs to its own file."""
    env = cli_env(data_dir, **(extra_env or {}))
    if database_url:
        env["SPOTCHECK_DATABASE_URL"] = database_url
    if prepared is None:
        if demo:
            prepared = load_demo(env)
        else:
            spotcheck(env, "migrate")
    accounts = dict(prepared.accounts) if prepared else {}
    passwords = dict(prepared.passwords) if prepared else {}
    port = free_port()
    server = LiveServer(url=f"http://127.0.0.1:{port}", process=None, env=env, log=data_dir / f"server-{port}.log",  # type: ignore[arg-type]
                        accounts=accounts, passwords=passwords, workers=workers)
    _launch(server)
    return server


def _launch(server: LiveServer) -> None:
    port = server.url.rsplit(":", 1)[1]
    with server.log.open("ab") as sink:
        server.process = subprocess.Popen(
            [str(BIN / "spotcheck"), "serve", "--host", "127.0.0.1", "--port", port, "--workers", str(server.workers)],
            env=server.env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log.read_text(errors='replace')}")
        try:
            if httpx.get(f"{server.url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    stop_server(server)
    raise RuntimeError("server did not become ready within 60 s")


def kill_server(server: LiveServer) -> None:
    """SIGKILL the whole process group we started: no shutdown, no flush, as in a crash."""
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait(timeout=10)


def restart_server(server: LiveServer) -> None:
    """Start the same server again, on the same port and data."""
    _launch(server)


def stop_server(server: LiveServer) -> None:
    """Stop the process group we started, by its id: TERM, then KILL after 10 s."""
    if server.process.poll() is None:
        os.killpg(server.process.pid, signal.SIGTERM)
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(timeout=10)


@contextmanager
def live_server(backend: str, data_dir: Path, *, postgres_url: str, name: str, workers: int = 2,
                extra_env: dict[str, str] | None = None) -> Iterator[LiveServer]:
    """A server on the demo in a fresh SQLite file (``backend == "sqlite"``) or a fresh
    PostgreSQL database beside ``postgres_url``, copied from the run's template when there is
    one; stopped by its process id, and its database dropped, on exit."""
    url, prepared = demo_copy(backend, data_dir, postgres_url=postgres_url, prefix=f"spotcheck_{name}")
    try:
        server = start_server(data_dir, url, workers=workers, extra_env=extra_env, prepared=prepared)
        try:
            yield server
        finally:
            stop_server(server)
    finally:
        if url:
            drop_postgres_database(postgres_url, url)
