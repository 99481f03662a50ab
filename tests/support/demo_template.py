"""What ``spotcheck migrate`` and ``spotcheck demo`` make, built once per test run and copied
for each live server.

Migrating and loading the demo take 8 s or more of a busy 2-core machine, and a test run starts
a dozen live servers. The first server of each backend builds a template (a data folder, plus a
PostgreSQL database beside the admin URL); the others copy it: the folder with ``shutil``, the
database with ``CREATE DATABASE … TEMPLATE``. The xdist workers share the templates through
the folder named by ``SPOTCHECK_TEST_TEMPLATES``, which the controlling pytest process sets,
and removes with the template databases at the end of the run (tests/conftest.py). Without
that variable (a bench script, a single test run outside pytest) nothing is shared.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from tests.support.databases import admin_execute, asyncpg_url, create_postgres_database, drop_postgres_database

__all__ = ["BIN", "TEMPLATES_ENV", "Demo", "cli_env", "demo_copy", "drop_templates", "load_demo", "spotcheck"]

TEMPLATES_ENV = "SPOTCHECK_TEST_TEMPLATES"
BIN = Path(sys.executable).parent
# The checkout under test comes first, whichever checkout the virtualenv was installed from.
ROOT = str(Path(__file__).resolve().parents[2])


def cli_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a ``spotcheck`` process of the checkout under test on ``data_dir``."""
    return {**os.environ, "SPOTCHECK_DATA_DIR": str(data_dir), "SPOTCHECK_LOG_LEVEL": "WARNING",
            "PYTHONPATH": os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])), **extra}


def spotcheck(env: dict[str, str], *args: str) -> str:
    """Run the ``spotcheck`` CLI with ``env``; its output, or RuntimeError with its errors."""
    done = subprocess.run([str(BIN / "spotcheck"), *args], env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"spotcheck {' '.join(args)} failed: {done.stderr or done.stdout}")
    return done.stdout


@dataclass(frozen=True)
class Demo:
    accounts: dict[str, tuple[str, str]]
    """role -> (username, password), the first account of each role."""
    passwords: dict[str, str]
    """username -> password, every demo account."""


def load_demo(env: dict[str, str]) -> Demo:
    """Migrate and load the demo into the database and folder ``env`` names; the accounts
    come from the demo's output."""
    spotcheck(env, "migrate")
    accounts: dict[str, tuple[str, str]] = {}
    passwords: dict[str, str] = {}
    for line in spotcheck(env, "demo").splitlines():
        parts = line.split()
        if line.startswith("  ") and len(parts) >= 3:
            accounts.setdefault(parts[0], (parts[1], parts[2]))
            passwords[parts[1]] = parts[2]
    return Demo(accounts=accounts, passwords=passwords)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def demo_copy(backend: str, data_dir: Path, *, postgres_url: str, prefix: str) -> tuple[str | None, Demo | None]:
    """Fill ``data_dir`` (and, for PostgreSQL, a new database named ``prefix_…``) with a copy of
    the run's demo template; return the database URL (None for SQLite, which lives in the
    folder) and the demo's accounts. Without a template folder: the new database, empty, and
    None (the caller migrates and loads the demo itself)."""
    root = os.environ.get(TEMPLATES_ENV)
    if not root:
        return (create_postgres_database(postgres_url, prefix=prefix) if backend == "postgres" else None), None
    folder = Path(root) / backend
    folder.mkdir(parents=True, exist_ok=True)
    made = folder / "demo.json"
    with _locked(Path(root) / f"{backend}.lock"):
        if not made.exists():
            _build(folder, backend, postgres_url)
        saved = json.loads(made.read_text())
        shutil.copytree(folder / "data", data_dir, dirs_exist_ok=True)
        url = None
        if backend == "postgres":
            name = f"{prefix}_{uuid.uuid4().hex[:12]}"
            admin_execute(postgres_url, f'CREATE DATABASE "{name}" TEMPLATE "{urlsplit(saved["database"]).path.lstrip("/")}"')
            url = asyncpg_url(postgres_url, name)
    return url, Demo(accounts={role: tuple(pair) for role, pair in saved["accounts"].items()},  # type: ignore[misc]
                     passwords=saved["passwords"])


def _build(folder: Path, backend: str, postgres_url: str) -> None:
    env = cli_env(folder / "data")
    template = None
    if backend == "postgres":
        template = create_postgres_database(postgres_url, prefix="spotcheck_template")
        env["SPOTCHECK_DATABASE_URL"] = template
    try:
        demo = load_demo(env)
    except BaseException:  # the next server tries again from scratch
        shutil.rmtree(folder / "data", ignore_errors=True)
        if template:
            drop_postgres_database(postgres_url, template)
        raise
    (folder / "demo.json").write_text(json.dumps({"accounts": demo.accounts, "passwords": demo.passwords, "database": template}))


def drop_templates(root: Path, postgres_url: str) -> None:
    """Drop the run's template databases and remove its template folder."""
    for made in root.glob("*/demo.json"):
        database = json.loads(made.read_text()).get("database")
        if database and postgres_url:
            drop_postgres_database(postgres_url, database)
    shutil.rmtree(root, ignore_errors=True)
