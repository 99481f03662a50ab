"""``spotcheck sample`` and ``spotcheck draw verify``: offline draws and audits.

Neither needs the database or the service: an auditor with the published draw record and
its inputs (or a registry export) re-checks the draw on their own machine.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
import msgspec
import sampling

from api.drawing import DrawInputs
from api.tables import read_table

__all__ = ["draw_group", "sample"]


def _records(path: Path) -> list[dict[str, str | None]]:
    try:
        header, body = read_table(path.read_bytes())
    except ValueError as exc:
        raise click.ClickException(f"{path}: {exc}") from None
    if "code" not in header:
        raise click.ClickException(f"{path}: the first row must name a `code` column")
    return [dict(zip(header, cells + [None] * (len(header) - len(cells)))) for _, cells in body]


def _quotas(sizes: tuple[str, ...], rates: tuple[str, ...], stratify: str | None) -> tuple[sampling.StratumRule, ...]:
    """``--size 10`` | ``--size I=5,II=3`` | ``--rate I=0.1,III=0.02`` into stratum rules."""
    if len(sizes) + len(rates) != 1:
        raise click.UsageError("give exactly one --size or --rate")
    spec, kind = (sizes[0], "size") if sizes else (rates[0], "rate")
    def rule(number: str, where: dict[str, str] | None = None) -> sampling.StratumRule:
        # Converted, not constructed: only conversion checks the quota's constraints (size >= 0, rate in (0, 1]).
        return msgspec.convert({kind: int(number) if kind == "size" else float(number), "where": where or {}},
                               sampling.StratumRule)

    try:
        if "=" not in spec:
            return (rule(spec),)
        if stratify is None:
            raise click.UsageError(f"--{kind} VALUE=N needs --stratify COLUMN")
        rules = []
        for item in spec.split(","):
            value, _, amount = item.partition("=")
            rules.append(rule(amount, {stratify: value.strip()}))
        return tuple(rules)
    except (ValueError, msgspec.ValidationError) as exc:
        raise click.UsageError(f"bad --{kind} {spec!r}: {exc}") from None


def _fail(exc: sampling.SamplingError) -> click.ClickException:
    return click.ClickException(f"{exc.code}: {exc.message}")


@click.command(help="Draw a sample offline from a registry file: the CSV/XLSX `spotcheck import units` takes (columns include `code`).")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--seed", required=True, help="The public seed (text; '007' and '7' differ).")
@click.option("--algorithm", type=click.Choice(["consistent-sha256", "philox-keyed"]), default="consistent-sha256", show_default=True)
@click.option("--stratify", "stratify", default=None, help="Column whose values form the strata.")
@click.option("--size", "sizes", multiple=True, help="N, or VALUE=N,... per stratum.")
@click.option("--rate", "rates", multiple=True, help="VALUE=R,... per stratum (R between 0 and 1; rounded up).")
@click.option("--files-per-unit", type=click.IntRange(1, 1000), default=None, help="Also draw K case files per unit.")
@click.option("--case-files", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="CSV/XLSX of case files (code, unit_code, type) for --files-per-unit.")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
def sample(file: Path, seed: str, algorithm: str, stratify: str | None, sizes: tuple[str, ...], rates: tuple[str, ...],
           files_per_unit: int | None, case_files: Path | None, fmt: str) -> None:
    if files_per_unit and case_files is None:
        raise click.UsageError("--files-per-unit needs --case-files FILE")
    records = _records(file)
    if stratify is not None and records and stratify not in records[0]:
        raise click.ClickException(f"{file}: no column {stratify!r} to stratify by")
    units = sampling.UnitSampling(rules=_quotas(sizes, rates, stratify), stratify_by=(stratify,) if stratify else ())
    files_param = sampling.CaseFileSampling(per_unit=sampling.Quota(size=files_per_unit)) if files_per_unit else None
    params = sampling.DrawParams(units=units, algorithm=algorithm, case_files=files_param, assignment=None)  # type: ignore[arg-type]
    registry: dict[str, list[sampling.CaseFile]] = {}
    for row in _records(case_files) if case_files else []:
        registry.setdefault(row.get("unit_code") or "", []).append(sampling.CaseFile(file_id=row["code"], file_type=row.get("type") or "other"))  # type: ignore[arg-type]
    try:
        population = sampling.Population.from_records(records, fields=[stratify] if stratify else [])
        draw = sampling.run_draw(population, params, seed, case_files=registry)
    except sampling.SamplingError as exc:
        raise _fail(exc) from None
    if fmt == "json":
        click.echo(msgspec.json.format(msgspec.json.encode(draw)).decode())
        return
    # Tickets come from a seed derived from the public one (so a published commitment
    # reveals nothing); with it, consistent_sampler.sampler(ids, seed=...) re-checks the order.
    click.echo(f"ticket seed: {draw.units.ticket_seed}", err=True)
    strata = {s.index: s.label for s in draw.units.strata}
    chosen = {u.unit_id: [f.file_id for f in u.files] for u in (draw.case_files.units if draw.case_files else ())}
    import csv

    writer = csv.writer(sys.stdout)
    writer.writerow(["rank", "code", "stratum", "ticket"] + (["case_files"] if files_per_unit else []))
    for u in draw.units.units:
        writer.writerow([u.rank, u.unit_id, strata[u.stratum], u.ticket] + (["、".join(chosen.get(u.unit_id, []))] if files_per_unit else []))


@click.group("draw", help="Audit draws.")
def draw_group() -> None:
    pass


def _load_record(path: Path) -> tuple[sampling.Draw, dict[str, Any]]:
    """The record of a draw file (the record alone, or ``GET /draws/{id}`` with the summary
    beside it), and that summary ({} if none)."""
    try:
        raw: Any = msgspec.json.decode(path.read_bytes())
        wrapped = isinstance(raw, dict) and "record" in raw
        record = msgspec.convert(raw["record"] if wrapped else raw, sampling.Draw)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise click.ClickException(f"{path}: not a draw record: {exc}") from None
    summary = raw.get("draw") if wrapped else None
    return record, summary if isinstance(summary, dict) else {}


def _summary_differences(record: sampling.Draw, summary: dict[str, Any]) -> list[str]:
    """Where the summary published beside the record says something else than the record:
    a reader trusts the summary's seed and digest, so they must be the record's."""
    said = {"seed": record.seed.seed, "population_digest": record.units.population_digest,
            "algorithm": record.algorithm, "algorithm_version": record.algorithm_version}
    return [f"draw.{key}: the summary says {summary[key]!r}, the record {value!r}"
            for key, value in said.items() if key in summary and summary[key] != value]


@draw_group.command("verify", help="Recompute a published draw and say whether it matches, and where not.")
@click.argument("draw_file", metavar="DRAW.json", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--inputs", "inputs_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="The draw's inputs as published (GET /api/v1/draws/{id}/inputs): checks everything.")
@click.option("--population", "population_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="A CSV/XLSX registry export: checks the unit sample only.")
def verify(draw_file: Path, inputs_file: Path | None, population_file: Path | None) -> None:
    if (inputs_file is None) == (population_file is None):
        raise click.UsageError("give exactly one of --inputs and --population")
    record, summary = _load_record(draw_file)
    try:
        if inputs_file is not None:
            inputs = msgspec.json.decode(inputs_file.read_bytes(), type=DrawInputs)
            result = sampling.verify_draw(record, inputs.population(), case_files=inputs.case_files,
                                          inspectors=inputs.inspectors, conflicts=inputs.conflicts, recent=inputs.recent)
            scope = "units, case files and teams"
        else:
            population = sampling.Population.from_records(_records(population_file), fields=list(record.units.population_fields))  # type: ignore[arg-type]
            result = sampling.verify_unit_sample(record, population)
            scope = "the unit sample (case files and teams need --inputs)"
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise click.ClickException(f"unreadable inputs: {exc}") from None
    except sampling.SamplingError as exc:
        raise _fail(exc) from None
    beside = _summary_differences(record, summary)
    if result.ok and not beside:
        click.echo(f"MATCH: the draw recomputes exactly ({scope}); population digest {record.units.population_digest}")
        return
    click.echo(f"MISMATCH: {result.total + len(beside)} difference(s) in {scope} and the summary beside the record:")
    for line in beside:
        click.echo(f"  {line}")
    for d in result.differences:
        click.echo(f"  {d.path or 'draw'}: {d.message}" + (f" (recorded {d.recorded}, recomputed {d.recomputed})" if d.recorded or d.recomputed else ""))
    sys.exit(1)
