"""Helpers for the evidence API tests: drawn tasks, real photos, uploads, the store's files."""

from __future__ import annotations

import hashlib
import os
from functools import partial
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import anyio
from click.testing import CliRunner, Result
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.cli import main
from api.settings import Settings
from tests.conftest import TEST_SECRET
from tests.evidence.images import encode, exif, scene
from tests.support.api import add_user, login, seed_registry

__all__ = ["CST", "NOW", "TAKEN", "Team", "current_team", "digest", "draw_tasks", "evidence_settings", "photo",
           "stored_files", "upload"]

CST = timezone(timedelta(hours=8))
NOW = datetime.now(CST).replace(microsecond=0)
TAKEN = (NOW - timedelta(hours=1)).replace(tzinfo=None)
"""An hour ago on a phone's clock in China (EXIF times carry no zone; the offset tag says +08:00)."""

# The small registry's offices: two, in different grids, each with a position.
HUMEN = (22.82, 113.67)
CHANGAN = (22.81, 113.80)
PLAN_PARAMS = {
    "units": {"filter": {"kind": ["office"], "parent_code": ["DG"]}, "rules": [{"size": 2}]},
    "case_files": None,
    "assignment": {"task_kinds": ["file_review"], "team_size": 1},
}


class Team:
    """Tokens and the tasks of one drawn plan: ``tasks[unit_code] = (task_id, inspector)``."""

    def __init__(self, tasks: dict[str, tuple[str, str]], headers: dict[str, dict[str, str]]) -> None:
        self.tasks = tasks
        self.headers = headers

    def task(self, unit_code: str) -> str:
        return self.tasks[unit_code][0]

    def inspector(self, unit_code: str) -> dict[str, str]:
        """Auth headers of the inspector on the unit's task."""
        return self.headers[self.tasks[unit_code][1]]


async def draw_tasks(
    client: AsyncTestClient[Litestar], db: async_sessionmaker[AsyncSession], *, due_from: date, due_to: date,
    seed: str = "20261121", setup: bool = True,
) -> Team:
    """Draw a plan over the small registry's two offices through the API (one file review
    each, one inspector each: insp02 goes to 虎门 DG-HM, insp01 to 长安 DG-CA, the only teams
    the grid rule allows) and log the people in."""
    if setup:
        await seed_registry(db)
        for username, role in (("chief", "chief"), ("admin", "admin"), ("insp01", "inspector"), ("insp02", "inspector")):
            await add_user(db, username, role)
        await add_user(db, "unit-hm", "unit", unit_code="DG-HM")
    headers = {name: await login(client, name) for name in ("chief", "admin", "insp01", "insp02", "unit-hm")}
    plan = await client.post("/api/v1/plans", json={"name": f"抽查 {seed}", "params": PLAN_PARAMS, "unannounced": False,
                                                    "due_from": due_from.isoformat(), "due_to": due_to.isoformat()},
                             headers=headers["chief"])
    assert plan.status_code == 201, plan.text
    drawn = await client.post(f"/api/v1/plans/{plan.json()['id']}/draw", json={"seed": seed}, headers=headers["chief"])
    assert drawn.status_code == 201, drawn.text
    listed = (await client.get(f"/api/v1/tasks?plan_id={plan.json()['id']}", headers=headers["chief"])).json()["items"]
    tasks = {t["unit_code"]: (t["id"], t["team"][0]) for t in listed}
    assert {u: t[1] for u, t in tasks.items()} == {"DG-HM": "insp02", "DG-CA": "insp01"}
    return Team(tasks, headers)


def evidence_settings(database_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    """Test settings with one analysis process (tests send photos one at a time)."""
    return Settings(data_dir=str(tmp_path / "data"), database_url=database_url, secret_key=TEST_SECRET,
                    **{"evidence_workers": 1, **overrides})


async def current_team(client: AsyncTestClient[Litestar], db: async_sessionmaker[AsyncSession]) -> Team:
    """The small registry's tasks, due from three days ago to ten days ahead."""
    return await draw_tasks(client, db, due_from=NOW.date() - timedelta(days=3), due_to=NOW.date() + timedelta(days=10))


def photo(
    seed: int = 1,
    *,
    fmt: str = "JPEG",
    size: tuple[int, int] = (640, 480),
    taken: datetime | None = TAKEN,
    offset: str | None = "+08:00",
    gps: tuple[float, float] | None = CHANGAN,
    orientation: int | None = None,
    software: str | None = None,
    **options: Any,
) -> bytes:
    """A real photo made by Pillow, with EXIF (capture time, GPS, orientation) by default."""
    data = exif(taken=taken, offset=offset, gps=gps, orientation=orientation, software=software)
    return encode(scene(seed, size), fmt, data, **options)


async def upload(
    client: AsyncTestClient[Litestar], headers: dict[str, str], body: bytes, *, task_id: str | None = None,
    sha256: str | None = None, content_type: str = "application/octet-stream",
) -> Any:
    params = {"task_id": task_id} if task_id else {}
    extra = {"Content-Type": content_type}
    if sha256 is not None:
        extra["X-Content-SHA256"] = sha256
    return await client.post("/api/v1/evidence", content=body, params=params, headers={**headers, **extra})


def digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def stored_files(root: Path) -> list[str]:
    """Every file under the store folder, temporary ones included, as relative paths."""
    found = []
    for folder, _, files in os.walk(root):
        found += [str(Path(folder, f).relative_to(root)) for f in files]
    return sorted(found)


async def cli(settings: Settings, *args: str) -> Result:
    """Run ``spotcheck ARGS`` against the test's database and data folder. The CLI owns its
    event loop (asyncio.run), so it runs in a thread beside the test's loop."""
    env = {"SPOTCHECK_DATABASE_URL": settings.database_url, "SPOTCHECK_DATA_DIR": settings.data_dir,
           "SPOTCHECK_SECRET_KEY": settings.secret_key}
    return await anyio.to_thread.run_sync(partial(CliRunner().invoke, main, list(args), env=env))
