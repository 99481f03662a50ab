"""``spotcheck ledger …``: verify the evidence ledger, sign a checkpoint, print the verifier key."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from evidence.checkpoint import CheckpointVerifier, load_signer
from evidence.errors import EvidenceError
from api.cli import _run_with_session, _settings

__all__ = ["ledger_group"]


@click.group("ledger", help="The tamper-evident evidence ledger (docs/ledger.md).")
def ledger_group() -> None:
    pass


@ledger_group.command("verify", help=(
    "Replay the whole ledger against the evidence records, the stored photos and the signed checkpoints; "
    "print the first broken entry and exit 1 if there is one."))
@click.option("--no-blobs", is_flag=True, help="Do not re-hash every stored photo (much faster).")
@click.option("--verifier-key", default=None, metavar="KEY",
              help=("Check checkpoints with this published verifier key (name+id+key, or a file holding it) "
                    "instead of the local key file."))
def verify(no_blobs: bool, verifier_key: str | None) -> None:
    from api.evidence_runtime import make_stores
    from api.ledger_verify import verify_ledger

    settings = _settings()
    given = None
    if verifier_key:
        try:
            given = CheckpointVerifier.from_key(_key_text(verifier_key))
        except EvidenceError as exc:  # a bad option (exit 2), not a broken ledger (exit 1)
            raise click.BadParameter(str(exc), param_hint="--verifier-key") from None
    try:
        verifier = given or load_signer(settings.ledger_key_path).verifier()
        store = None if no_blobs else make_stores(settings)[0]
    except EvidenceError as exc:
        raise click.ClickException(str(exc)) from None

    async def work(session: Any) -> Any:
        return await verify_ledger(session, verifier, store, origin=verifier.name)

    result = _run_with_session(settings, work)
    scope = "records, photos and checkpoints" if store is not None else "records and checkpoints (photos not re-hashed)"
    if result.problem:
        click.echo(f"BROKEN: {result.problem}")
        sys.exit(1)
    if result.first_broken is not None:
        b = result.first_broken
        click.echo(f"BROKEN at entry {b.index} ({b.kind}): {b.message}")
        click.echo(f"  {result.entries} entries replayed; signed checkpoints matched up to size {result.verified_size}")
        sys.exit(1)
    click.echo(f"OK: {result.entries} entries, {result.checkpoints} signed checkpoint(s) up to size "
               f"{result.verified_size}, root {result.root}; checked {scope}")


@ledger_group.command("checkpoint", help="Sign a checkpoint of the ledger now (if it grew) and print it.")
def checkpoint() -> None:
    from api.evidence_runtime import load_or_create_signer
    from api.ledger import checkpoint_note

    settings = _settings()
    signer = load_or_create_signer(settings)

    async def work(session: Any) -> str:
        return (await checkpoint_note(session, signer)).note

    click.echo(_run_with_session(settings, work), nl=False)


@ledger_group.command("key", help="Print the verifier key auditors need (publish it where the service cannot change it).")
def key() -> None:
    from api.evidence_runtime import load_or_create_signer

    click.echo(load_or_create_signer(_settings()).verifier_key)


def _key_text(value: str) -> str:
    """The verifier key itself, or the text of the file ``value`` names (as `ledger key` wrote it)."""
    path = Path(value)
    try:
        return path.read_text(encoding="utf-8").strip() if path.is_file() else value
    except OSError as exc:
        raise click.BadParameter(f"cannot read {value}: {exc.strerror}", param_hint="--verifier-key") from None
