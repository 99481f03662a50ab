"""The ``spotcheck`` console command."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any, Awaitable, Callable, TypeVar

import click

from api.settings import Settings, SettingsError

__all__ = ["main"]

T = TypeVar("T")


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def _run_with_session(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
    from api.db import make_engine, make_sessionmaker

    async def runner() -> T:
        engine = make_engine(settings.effective_database_url, pool_size=1)
        try:
            async with make_sessionmaker(engine)() as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(runner())


@click.group(help="Spotcheck: randomized field inspections backend. Settings come from SPOTCHECK_* variables.")
@click.version_option(package_name="spotcheck")
def main() -> None:
    pass


@main.command(help="Serve the HTTP API with uvicorn.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
def serve(host: str, port: int, workers: int) -> None:
    import uvicorn

    from api.http_protocol import CoalescingHttpToolsProtocol
    from api.logs import configure_logging

    settings = _settings()  # fail fast, before forking workers
    configure_logging(settings.log_level)
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    uvicorn.run(
        "api.app:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        server_header=False,
        access_log=False,  # api.logs writes one access line per request, with its id and user
        timeout_graceful_shutdown=10,
        http=CoalescingHttpToolsProtocol,  # one write per response: see api/http_protocol.py
    )


@main.command(help="Create or upgrade the database schema (idempotent).")
def migrate() -> None:
    from api.migrate import MigrationRefused, upgrade

    settings = _settings()
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    try:
        upgrade(settings.effective_database_url)
    except MigrationRefused as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("database is at the latest schema revision")


@main.command(help="Load the demo bureau and create demo accounts (passwords printed once).")
@click.option("--if-empty", is_flag=True, help="Do nothing if the registry already has units.")
def demo(if_empty: bool) -> None:
    from api.demo import has_registry, load_demo
    from api.demo_field import load_field_demo

    settings = _settings()

    async def work(session: Any) -> list[Any] | None:
        if await has_registry(session):
            if if_empty:
                return None
            raise click.ClickException("the registry is not empty; the demo loads into an empty database only")
        accounts = await load_demo(session)
        await session.commit()
        await load_field_demo(session, settings)
        return accounts

    accounts = _run_with_session(settings, work)
    if accounts is None:
        click.echo("demo data already present; accounts unchanged (reset one with `spotcheck users set-password`)")
        return
    click.echo("Demo bureau loaded. Accounts (passwords are shown only this once):")
    for a in accounts:
        bound = f" (unit {a.unit_code})" if a.unit_code else ""
        click.echo(f"  {a.role:<10} {a.username:<12} {a.password}{bound}")


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        raise click.ClickException("the password must have at least 8 characters")
    return password


def _api_errors(fn: Callable[..., T]) -> Callable[..., T]:
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        from api.errors import ApiError

        try:
            return fn(*args, **kwargs)
        except ApiError as exc:
            raise click.ClickException(exc.message) from None

    return wrapper


@main.group(help="Manage accounts.")
def users() -> None:
    pass


@users.command("add", help="Create an account.")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(["admin", "chief", "inspector", "unit"]))
@click.option("--unit", "unit_code", default=None, help="Unit code (required for --role unit).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@_api_errors
def users_add(username: str, role: str, unit_code: str | None, password_stdin: bool) -> None:
    import msgspec

    from api.accounts import create_user
    from api.audit import CLI
    from api.schemas.auth import UserCreate

    password = _read_password(password_stdin)
    try:
        data = msgspec.convert({"username": username, "role": role, "password": password, "unit_code": unit_code}, UserCreate)
    except msgspec.ValidationError as exc:
        raise click.ClickException(f"invalid account: {exc}") from None

    async def work(session: Any) -> None:
        await create_user(session, data, CLI)
        await session.commit()

    _run_with_session(_settings(), work)
    click.echo(f"created {role} {username}")


@users.command("set-password", help="Set a new password (revokes the account's tokens).")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@_api_errors
def users_set_password(username: str, password_stdin: bool) -> None:
    import msgspec

    from api.accounts import get_user, update_user
    from api.audit import CLI
    from api.schemas.auth import UserUpdate

    password = _read_password(password_stdin)
    try:  # converted, not constructed: the API's rules for a password apply
        data = msgspec.convert({"password": password}, UserUpdate)
    except msgspec.ValidationError as exc:
        raise click.ClickException(f"invalid password: {exc}") from None

    async def work(session: Any) -> None:
        await update_user(session, await get_user(session, username), data, CLI)
        await session.commit()

    _run_with_session(_settings(), work)
    click.echo(f"password of {username} changed")


@main.command("import", help="Import units, case-files or inspectors from a CSV or XLSX file (all or nothing).")
@click.argument("kind", type=click.Choice(["units", "case-files", "inspectors"]))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_cmd(kind: str, file: Path) -> None:
    from tqdm import tqdm

    from api.audit import CLI
    from api.importing import ImportInvalid, import_file
    from api.registry import RESOURCES

    data = file.read_bytes()

    async def work(session: Any) -> Any:
        with tqdm(desc=f"importing {kind}", unit=" rows", disable=None, file=sys.stderr) as bar:
            report = await import_file(session, RESOURCES[kind], data, progress=bar.update, actor=CLI, file_name=file.name)
        await session.commit()
        return report

    try:
        report = _run_with_session(_settings(), work)
    except ImportInvalid as exc:
        click.echo(f"{exc.total_errors} problem(s) in {file}; nothing was imported:", err=True)
        for e in exc.errors:
            click.echo(f"  row {e.row}, column {e.column or '-'}: {e.message}", err=True)
        sys.exit(1)
    click.echo(f"{report.kind}: {report.rows} rows, {report.created} created, {report.updated} updated")


@main.group(help="Scoring catalogs and schemes.")
def catalog() -> None:
    pass


@catalog.command("load", help="Load a catalog or scheme from a YAML or JSON file (the kind is read from the document).")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_api_errors
def catalog_load(file: Path) -> None:
    from api import documents
    from api.audit import CLI
    from scoring import ScoringError

    data = file.read_bytes()
    format = "json" if file.suffix.lower() == ".json" else "yaml"
    kind = documents.detect_kind(data, format)

    async def work(session: Any) -> tuple[Any, bool]:
        row, created = await documents.store(session, kind, data, format, CLI)
        await session.commit()
        return row, created

    try:
        row, created = _run_with_session(_settings(), work)
    except ScoringError as exc:
        raise click.ClickException(f"{file}: invalid {kind.name}: {exc}") from None
    state = "loaded" if created else "already loaded, unchanged"
    click.echo(f"{kind.name} {row.code} version {row.version} {state} (sha256 {row.sha256[:12]})")


@catalog.command("list", help="List the loaded catalog and scheme versions.")
def catalog_list() -> None:
    from sqlalchemy import select

    from api import documents

    async def work(session: Any) -> list[tuple[str, Any]]:
        found = []
        for kind in documents.KINDS.values():
            rows = (await session.execute(select(kind.model).order_by(kind.model.code, kind.model.version))).scalars()
            found += [(kind.name, row) for row in rows]
        return found

    rows = _run_with_session(_settings(), work)
    if not rows:
        click.echo("no catalog or scheme is loaded (load the shipped ones with `spotcheck demo` or `spotcheck catalog load`)")
    for kind, row in rows:
        click.echo(f"{kind:<8} {row.code:<28} v{row.version:<4} {row.sha256[:12]}  {row.loaded_at:%Y-%m-%d %H:%M}  {row.loaded_by:<12} {row.name}")


def _register() -> None:
    from api.cli_draws import draw_group, sample
    from api.cli_evidence import evidence_group
    from api.cli_ledger import ledger_group

    main.add_command(sample)
    main.add_command(draw_group)
    main.add_command(ledger_group)
    main.add_command(evidence_group)


_register()
