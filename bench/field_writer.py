"""The group-commit writer alone: CPU and wall time per finding, without HTTP.

Under load, findings/s through HTTP (bench/field_load.py) drifts by 30 % or more from one
minute to the next on a shared 2-vCPU machine, which hides a change of 10 % in the writer.
This script takes the writer out of the server: it prepares a database the way
field_load.py does (demo bureau, a drawn plan, every inspector on their tasks), stops the
server, then queues findings in batches straight into ``GroupCommit`` with the app's
``FieldWriter`` (preparer, checks, proposed deduction, audit events, durable commit) and
prints the process CPU time and the wall time per finding. To compare two commits, run
each checkout's copy of the script in turn, a few times.

    .venv/bin/python bench/field_writer.py --findings 8000 --batch 29
    .venv/bin/python bench/field_writer.py --db postgres
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from api import audit  # noqa: E402
from api.db import make_engine  # noqa: E402
from api.field_facts import FieldFacts  # noqa: E402
from api.field_ops import FieldWriter, FindingOp  # noqa: E402
from api.group_commit import GroupCommit  # noqa: E402
from api.models import User  # noqa: E402
from api.schemas.field import FindingCreate  # noqa: E402
from api.security import Principal  # noqa: E402
from api.settings import Settings  # noqa: E402
from bench.field_load import prepared_database  # noqa: E402


def _subject(token: str) -> int:
    """The user id a token of ours names (its payload, read without checking: we made it)."""
    payload = token.split(".")[1]
    return int(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"])


async def drive(findings: int, batch: int, warmup: int, pairs: list[tuple[int, str, str]]) -> tuple[float, float, float]:
    """(CPU seconds, wall seconds, findings per batch) for ``findings`` after ``warmup``."""
    settings = Settings.from_env()
    engine = make_engine(settings.effective_database_url, pool_size=settings.db_pool_size)
    async with engine.connect() as connection:
        users = {id_: (name, role) for id_, name, role in (await connection.execute(select(User.id, User.username, User.role))).all()}
    ops = [(Principal(id=user, username=users[user][0], role=users[user][1], unit_code=None), uuid.UUID(task), rule)
           for user, task, rule in pairs]
    field_writer = FieldWriter(settings, FieldFacts())
    writer = GroupCommit(engine, field_writer.handlers(), journal=audit.write, preparers=field_writer.preparers(),
                         max_batch=batch)
    await writer.start()
    recorded = datetime.now(timezone.utc)

    def op(i: int) -> FindingOp:
        principal, task, rule = ops[i % len(ops)]
        return FindingOp(principal, FindingCreate(id=uuid.uuid4(), task_id=task, indicator=rule, recorded_at=recorded,
                                                  note="压力测试"))

    async def run(n: int) -> None:
        for start in range(0, n, batch):
            outcomes = await asyncio.gather(*(writer.submit("finding", op(i)) for i in range(start, min(n, start + batch))),
                                            return_exceptions=True)
            failed = [o for o in outcomes if isinstance(o, BaseException)]
            if failed:
                raise failed[0]

    try:
        await run(warmup)  # every task's facts cached, as in a server that has been up a while
        batches_before = writer.batches
        cpu, wall = time.process_time(), time.perf_counter()
        await run(findings)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        per_batch = findings / max(1, writer.batches - batches_before)
    finally:
        await writer.stop()
        await engine.dispose()
    return cpu, wall, per_batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--postgres-url", default=os.environ.get("SPOTCHECK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--findings", type=int, default=8_000)
    parser.add_argument("--batch", type=int, default=29, help="findings queued at once (the load run's batches hold about 29)")
    parser.add_argument("--warmup", type=int, default=1_000)
    args = parser.parse_args()

    with prepared_database(args.db, args.postgres_url) as pairs:
        cpu, wall, per_batch = asyncio.run(drive(args.findings, args.batch, args.warmup,
                                                 [(_subject(token), task, rule) for token, task, rule in pairs]))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; database {args.db}")
    print(f"writer alone: {args.findings} findings in batches of {per_batch:.1f}: "
          f"CPU {cpu / args.findings * 1e6:.1f} us, wall {wall / args.findings * 1e6:.1f} us per finding "
          f"({args.findings / wall:,.0f} findings/s on one writer)")



if __name__ == "__main__":
    main()
