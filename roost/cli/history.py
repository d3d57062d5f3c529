"""``roost history``: validate, ingest, simulate and summarise deployment logs."""
from __future__ import annotations

import time
from pathlib import Path

import click

from placement.errors import InputError, did_you_mean
from roost.cli.options import catalog_options, json_option, load_catalog_from
from roost.output import Progress, console, money, print_json, table
from roost.paths import history_store


def default_store(project_dir: Path) -> Path:
    """The team's history store: ``<project>/.roost/history/deployments.parquet``."""
    return history_store(project_dir)


@click.group()
def history() -> None:
    """Deployment logs the recommender learns from (schema v1): check, ingest, simulate, inspect."""


@history.command("validate")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--skip-invalid", is_flag=True,
              help="Quarantine bad rows in <name>.rejected.csv (with a reason column) and exit 0.")
@click.option("--max-errors", type=click.IntRange(min=1), default=200, show_default=True,
              help="Problems to list (table view); --json lists all.")
@json_option
@catalog_options
@click.pass_context
def validate_cmd(ctx: click.Context, file: str, skip_invalid: bool, max_errors: int, as_json: bool,
                 catalog_path: str | None, discounts: tuple[str, ...]) -> None:
    """Check FILE (.csv, .csv.gz, .parquet) against log schema v1 and the catalog.

    Every bad row is reported as FILE: row N: COLUMN: reason (row 1 is the header). Exit 2
    when any row is invalid, unless --skip-invalid quarantines them.
    """
    from history.ingest import InvalidLog, check_log, summary_line

    catalog = load_catalog_from(catalog_path, discounts)
    result = check_log(file, catalog=catalog, skip_invalid=skip_invalid)
    report = result.report
    if as_json:
        print_json(result.to_dict())
        if not report.ok and not skip_invalid:
            ctx.exit(2)
        return
    if not report.ok and not skip_invalid:
        raise InvalidLog(report, limit=max_errors)
    for error in report.errors[:max_errors]:
        click.echo(str(error), err=True)
    if len(report.errors) > max_errors:
        click.echo(f"{report.source}: … and {len(report.errors) - max_errors} more problem(s)", err=True)
    out = console()
    if report.ok:
        out.print(summary_line(report))
    else:
        out.print(f"{report.source}: {report.valid_rows} of {report.rows} row(s) valid; "
                  f"{report.invalid_rows} quarantined in {result.rejected_path}")


@history.command("ingest")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--into", "into", type=click.Path(dir_okay=False),
              help="History store to append to (Parquet). Default: <project>/.roost/history/deployments.parquet.")
@click.option("--project", "project_dir", type=click.Path(file_okay=False), default=".", show_default=True,
              help="Project directory whose history store to use.")
@click.option("--skip-invalid", is_flag=True,
              help="Ingest the valid rows; quarantine bad ones in <name>.rejected.csv with a reason.")
@json_option
@catalog_options
def ingest_cmd(file: str, into: str | None, project_dir: str, skip_invalid: bool, as_json: bool,
               catalog_path: str | None, discounts: tuple[str, ...]) -> None:
    """Validate FILE and append its new rows to the history store, atomically.

    Rows whose deployment_id is already stored are skipped (the stored row wins). Any bad
    row stops the ingest (exit 2) unless --skip-invalid; the store is never half-written.
    """
    from history.ingest import ingest

    catalog = load_catalog_from(catalog_path, discounts)
    store = Path(into) if into else default_store(Path(project_dir))
    result = ingest(file, store=store, catalog=catalog, skip_invalid=skip_invalid)
    if as_json:
        print_json(result.to_dict())
        return
    report = result.check.report
    for error in report.errors[:50]:
        click.echo(str(error), err=True)
    out = console()
    out.print(f"Ingested {result.rows_added} new row(s) from {file} into {result.store}")
    out.print(f"  duplicates skipped (already stored): {result.duplicates_skipped}")
    if result.check.rejected_path is not None:
        out.print(f"  invalid rows quarantined: {report.invalid_rows} → {result.check.rejected_path}")
    out.print(f"  rows in store: {result.rows_in_store}")


@history.command("simulate")
@click.option("--rows", "n_rows", type=click.IntRange(min=1, max=50_000_000), required=True,
              help="Rows (deployment windows) to simulate.")
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same rows.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="Where to write the log (.parquet, .csv or .csv.gz).")
@click.option("--profiles", "n_profiles", type=click.IntRange(min=1, max=100_000),
              help="Model profiles to simulate (default: rows / 100, 20-10,000).")
@click.option("--gpu-speed", type=click.FloatRange(0, 10, min_open=True), default=1.0, show_default=True,
              help="Shifted world: GPUs serve at this multiple of their speed (0.6 = 40 % slower).")
@click.option("--accelerator", "shift_accelerator", metavar="NAME",
              help="Apply --gpu-speed to this accelerator only (e.g. A10G); default: every GPU.")
@click.option("--price-factor", type=click.FloatRange(0, 10, min_open=True), default=1.0, show_default=True,
              help="Shifted world: instances bill at this multiple of the catalog price (0.8 = a 20 % cut).")
@click.option("--cloud", "shift_cloud", type=click.Choice(["aws", "gcp", "azure"]),
              help="Apply --price-factor to this cloud only; default: every cloud.")
@json_option
@catalog_options
def simulate_cmd(n_rows: int, seed: int, output: str, n_profiles: int | None, gpu_speed: float,
                 shift_accelerator: str | None, price_factor: float, shift_cloud: str | None, as_json: bool,
                 catalog_path: str | None, discounts: tuple[str, ...]) -> None:
    """Simulate a realistic deployment history from roost's hardware-grounded world model.

    Deterministic for a seed and catalog. The bundled sample is
    `roost history simulate --rows 40000 --seed 20261101 -o history/data/sample.parquet`.
    --gpu-speed and --price-factor draw from a shifted world, for dry runs of `roost drift`
    and `roost train --challenger` (see docs/feedback.md).
    """
    from history.population import sample_specs
    from history.schema import write_log
    from history.simulate import simulate
    from history.summary import summarize
    from history.world import World, WorldShift

    catalog = load_catalog_from(catalog_path, discounts)
    if shift_accelerator:
        named = [a for a in catalog.accelerators if a.lower() == shift_accelerator.lower()]
        if not named:
            raise InputError(f"--accelerator: unknown accelerator {shift_accelerator!r}"
                             f"{did_you_mean(shift_accelerator, catalog.accelerators)}")
        shift_accelerator = named[0]
    shift = WorldShift(gpu_speed=gpu_speed, accelerator=shift_accelerator, price_factor=price_factor,
                       cloud=shift_cloud)
    specs = sample_specs(n_profiles, seed=seed) if n_profiles else None
    started = time.perf_counter()
    frame = simulate(n_rows, seed=seed, catalog=catalog, specs=specs, world=World(catalog, shift=shift),
                     on_progress=None if as_json else Progress("Simulating rows"))
    elapsed = time.perf_counter() - started
    write_log(frame, output)
    summary = summarize(frame)
    if as_json:
        print_json({"file": output, "seed": seed, "catalog_version": catalog.version,
                    "world_shift": shift.to_dict(), "seconds": round(elapsed, 2), **summary})
        return
    out = console()
    shifted = "" if shift.identity else f", shifted world {shift.to_dict()}"
    out.print(f"Wrote {len(frame):,} rows over {summary['profiles']} profiles to {output} "
              f"in {elapsed:.1f} s (seed {seed}, catalog {catalog.version}{shifted})")
    _print_summary(summary)


@history.command("show")
@click.argument("file", type=click.Path(dir_okay=False), required=False)
@click.option("--project", "project_dir", type=click.Path(file_okay=False), default=".", show_default=True,
              help="Project whose history store to show when FILE is omitted.")
@json_option
def show_cmd(file: str | None, project_dir: str, as_json: bool) -> None:
    """Summarise a deployment log: FILE, else the project's store, else the bundled sample."""
    from history.sample import bundled_history
    from history.schema import read_log
    from history.summary import summarize

    if file:
        source, frame = file, read_log(file)
    elif default_store(Path(project_dir)).exists():
        store = default_store(Path(project_dir))
        source, frame = str(store), read_log(store)
    else:
        source, frame = "bundled sample", bundled_history()
    summary = summarize(frame)
    if as_json:
        print_json({"source": source, **summary})
        return
    console().print(f"{source}: {summary['rows']:,} rows")
    if summary["rows"]:
        _print_summary(summary)


def _print_summary(summary: dict) -> None:
    out = console()
    out.print(f"profiles {summary['profiles']:,} · observed {summary['first_observed'][:10]} → "
              f"{summary['last_observed'][:10]} · SLO met {summary['slo_met_share']:.1%} · "
              f"median GPU utilisation {_pct(summary['median_gpu_utilization'])} · "
              f"cost {money(summary['total_cost_usd'])}")
    rows = []
    for key in ("outcomes", "clouds", "purchase", "accelerators", "tasks"):
        rows.extend((key if i == 0 else "", name, f"{share:.1%}")
                    for i, (name, share) in enumerate(summary[key].items()))
    out.print(table(None, ["", "value", "share"], rows, right=["share"]))


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"
