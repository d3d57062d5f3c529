"""`roost drift`: is the model in use still right? Exit 0 no drift, 1 drift, 2 bad input."""
from __future__ import annotations

from pathlib import Path

import click

from roost.cli.options import catalog_options, json_option, load_catalog_from
from roost.output import console, print_json, table


@click.command("drift")
@click.option("--logs", type=click.Path(dir_okay=False, exists=True),
              help="Recent outcomes (.csv, .csv.gz, .parquet; schema v1). Default: the project's ingested history.")
@click.option("--project", "project_dir", type=click.Path(file_okay=False), default=".", show_default=True,
              help="Project whose ingested history to read when --logs is omitted.")
@click.option("--model", "model", metavar="VERSION|DIR", help="Model to judge (default: the model in use).")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
              help="Only outcomes observed at or after this UTC date.")
@click.option("--store", metavar="URL", help="Version store holding the decisions outcomes link to "
              "(default: $ROOST_VERSION_STORE, else <project>/.roost/versions).")
@click.option("--max-price-age-days", type=click.IntRange(min=1), default=365, show_default=True,
              help="Catalog prices older than this when the newest outcome was observed count as drift.")
@json_option
@catalog_options
@click.pass_context
def drift(ctx: click.Context, logs: str | None, project_dir: str, model: str | None, since, store: str | None,
          max_price_age_days: int, as_json: bool, catalog_path: str | None, discounts: tuple[str, ...]) -> None:
    """Compare recent outcomes with the model in use: prediction error (capacity, p95 latency,
    failure rate, per accelerator, task and cloud), data drift per input (PSI, reported only)
    and catalog drift (stale or changed prices, offerings the catalog lacks).

    Exit 0: no drift; 1: drift (retrain: `roost train --challenger`); 2: bad input.
    """
    import pandas as pd

    from placement.learned.drift import Thresholds
    from roost.drift import run_drift

    catalog = load_catalog_from(catalog_path, discounts)
    start = None if since is None else pd.Timestamp(since, tz="UTC")
    report, source, linked = run_drift(logs, catalog=catalog, project_dir=Path(project_dir), model=model,
                                       thresholds=Thresholds(max_price_age_days=max_price_age_days), since=start,
                                       store=store)
    if as_json:
        print_json({"logs": source, **report.to_dict(), "decisions": linked})
    else:
        _print(report, source, linked)
    ctx.exit(1 if report.drift else 0)


def _print(report, source: str, linked: dict | None) -> None:
    out = console()
    verdict = "DRIFT" if report.drift else "no drift"
    sample = " (a sample of whole profiles)" if report.sampled else ""
    out.print(f"{verdict}: model {report.model_version} on {report.matched_rows:,} of {report.rows:,} outcomes"
              f"{sample} ({report.profiles} profiles) from {source}")
    for finding in report.findings:
        out.print(f"  - {finding['message']}")
    rows = []
    for metric in ("capacity", "latency"):
        o = report.prediction_error[metric]["overall"]
        base = report.prediction_error[metric]["baseline"]
        if not o.get("deployments"):
            continue
        rows.append((metric, f"{o['deployments']:,}", f"{o['median_abs_pct_error']:.0f}%",
                     f"{base['median_abs_pct_error']:.0f}%", f"{o['p90_abs_pct_error']:.0f}%",
                     f"{base['p90_abs_pct_error']:.0f}%", f"{o['bias_pct']:+.0f}%"))
    f = report.prediction_error["failure"]["overall"]
    if f.get("deployments"):
        rows.append(("failure rate", f"{f['deployments']:,}", f"{f['observed_failure_rate']:.1%} observed", "",
                     f"{f['predicted_failure_rate']:.1%} predicted", "", f"{f['gap'] * 100:+.1f} pts"))
    out.print(table("Prediction error on these outcomes (model's own on unseen profiles beside it)",
                    ["metric", "deployments", "median |err|", "own", "p90 |err|", "own", "bias"], rows,
                    right=["deployments", "median |err|", "own", "p90 |err|", "bias"]))
    cat = report.catalog_drift
    age = "unknown" if cat["price_age_days"] is None else f"{cat['price_age_days']} days"
    out.print(f"catalog {cat['catalog_version']}: prices as of {cat['prices_as_of'] or '?'} ({age} old at the newest "
              f"outcome); {cat['missing_offerings']['rows']} outcome(s) on offerings it lacks")
    data = report.data_drift
    if data.get("available"):
        moved = sorted(((n, v["psi"]) for n, v in data["features"].items()), key=lambda kv: -kv[1])[:5]
        out.print("data drift (PSI, reported only): " + ", ".join(f"{n} {v:.2f}" for n, v in moved))
    else:
        out.print(f"data drift: {data.get('reason')}")
    if linked:
        out.print(f"decisions: {linked['linked']:,} of {linked['rows_with_link']:,} linked outcome(s) matched the "
                  f"deployment their plan version placed" + (f" (not matched: {linked['not_linked']})"
                                                                if linked["not_linked"] else ""))
        rows = [(name, d["windows"], f"{d['slo_met_share']:.0%}", _ratio(d["median_p95_observed_over_predicted"]),
                 _ratio(d["median_load_over_predicted_rps"])) for name, d in linked["decisions"].items()]
        if rows:
            out.print(table(None, ["decision", "windows", "SLO met", "p95 observed/predicted",
                                   "load/predicted rps"], rows, right=["windows", "SLO met"]))


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}×"
