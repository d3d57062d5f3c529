"""``roost report``: a cost review report of one version of a stack, in HTML, Markdown, CSV or JSON."""
from __future__ import annotations

from pathlib import Path

import click

from roost.cli.options import catalog_options, load_catalog_from
from roost.cli.stack import _target, stack_options

FORMATS = ("html", "md", "csv", "json")


@click.command("report")
@stack_options
@click.option("--version", "version", type=click.IntRange(min=1),
              help="The version to report on [default: the newest].")
@click.option("--compare", "compare", type=click.IntRange(min=1),
              help="The version to compare with [default: the one before --version].")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="html", show_default=True,
              help="html: one self-contained file; md: a pull-request comment; csv: one row per model; json: for tools.")
@click.option("-o", "--output", type=click.Path(),
              help="Write here (atomically). HTML default: roost-report-<stack>-v<N>.html; other formats: stdout.")
@click.option("--logs", type=click.Path(dir_okay=False),
              help="Ingested deployment log with observed costs [default: <project>/.roost/history/deployments.parquet].")
@catalog_options
@click.pass_context
def report(ctx: click.Context, stack: str, project_dir: str | None, store_url: str | None, lock_timeout: float,
           version: int | None, compare: int | None, fmt: str, output: str | None, logs: str | None,
           catalog_path: str | None, discounts: tuple[str, ...]) -> None:
    """Cost review of a stack version: totals, budgets, the change against another version, why each
    model runs where it does, cost over versions, actual vs predicted cost, and the assumptions.

    Reads only the version store, Pulumi.<stack>.yaml and the ingested logs; never a cloud.
    """
    from roost.cli.history import default_store
    from roost.report.figures import build_report
    from roost.report.render import default_filename, render
    from roost.report.sources import report_inputs
    from roost.report.write import check_writable, write_report

    target = _target(ctx, stack, project_dir, store_url, lock_timeout)
    path = Path(output) if output else None
    if path is not None:
        check_writable(path)  # before any work, and so nothing is left behind
    catalog = load_catalog_from(catalog_path, discounts)
    log_path = Path(logs) if logs else default_store(target.project_dir)
    inputs, settings = report_inputs(store=target.store, stack=target.stack, project_dir=target.project_dir,
                                     catalog=catalog, version=version, compare=compare, logs=log_path)
    figures = build_report(inputs)
    text = render(figures, fmt, secrets=settings.secrets)
    if path is None and fmt == "html":
        path = Path(default_filename(figures))
        check_writable(path)
    if path is None:
        click.echo(text, nl=False)
        return
    write_report(path, text)
    click.echo(f"Wrote {path} ({fmt}, version {figures.version} of stack {stack!r}, "
               f"{len(figures.models)} models, {figures.total_monthly_cost_usd:,.2f} USD/month)", err=True)
