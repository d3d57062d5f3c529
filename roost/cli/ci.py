"""`roost ci`: the infrastructure stage of a pipeline (thin: parse, run the gates, print).

Non-interactive by design: it never prompts, prints no colour off a terminal or when CI is
set, and writes the Markdown comment even when it cannot judge the change, so a sticky PR
comment always says what happened. Exit 0 pass, 1 a gate failed, 2 invalid input, 3 engine
or internal error.
"""
from __future__ import annotations

import os
from pathlib import Path

import click

from placement.errors import RoostError
from roost.cli.options import catalog_options, json_option, load_catalog_from, services
from roost.errors import EngineError, GateFailed
from roost.output import console, in_ci, print_json, table


def _stages(enabled: bool):
    def emit(stage: str) -> None:
        if enabled:
            click.echo(f"roost ci: {stage}", err=True)
    return emit


@click.command("ci")
@click.option("--stack", "-s", required=True, envvar="ROOST_STACK", help="Stack to gate (Pulumi.<stack>.yaml).")
@click.option("--fleet", "fleet", type=click.Path(dir_okay=False),
              help="Fleet file [default: the one the committed version was planned from, else fleet.yaml].")
@click.option("--base-version", type=click.IntRange(min=1),
              help="Version the cost diff starts from [default: the last applied version, else the one before "
                   "the committed version].")
@click.option("--max-increase-usd", type=click.FloatRange(min=0), metavar="USD",
              help="Fail when the monthly cost rises by more than this against the base version.")
@click.option("--max-increase-pct", type=click.FloatRange(min=0), metavar="PCT",
              help="Fail when the monthly cost rises by more than this percentage against the base version.")
@json_option
@click.option("--markdown", "markdown_path", type=click.Path(dir_okay=False, writable=True), metavar="FILE",
              help="Write a Markdown summary for a pull-request comment to FILE (written on every exit code).")
@click.option("--project-dir", type=click.Path(file_okay=False, exists=True),
              help="Pulumi project directory [default: nearest directory with a Pulumi.yaml].")
@click.option("--store", "store_url", envvar="ROOST_VERSION_STORE", metavar="URL",
              help="Version store [default: <project>/.roost/versions; env ROOST_VERSION_STORE].")
@catalog_options
@click.pass_context
def ci(ctx: click.Context, stack: str, fleet: str | None, base_version: int | None, max_increase_usd: float | None,
       max_increase_pct: float | None, as_json: bool, markdown_path: str | None, project_dir: str | None,
       store_url: str | None, catalog_path: str | None, discounts: tuple[str, ...]) -> None:
    """Gate a change to a stack for a pipeline: stale plan, policy, budgets, cost increase, model quality.

    Recomputes placements from the fleet file and compares them with the committed decisions,
    runs the stack's program offline with the policy rules, checks model/team/stack budgets and
    the allowed cost increase, and, when the registry's default model is newer than the one that
    made the decisions, checks it does not evaluate worse. Needs no cloud credentials.

    Exit 0 every gate passed, 1 a gate failed, 2 invalid input, 3 engine or internal error.
    """
    from roost.gate.markdown import render, render_error

    try:
        result = _run(ctx, stack, fleet, base_version, max_increase_usd, max_increase_pct, project_dir, store_url,
                      catalog_path, discounts, progress=not as_json)
    except (RoostError, click.ClickException) as exc:
        code = exc.exit_code
        _write_error(markdown_path, as_json, stack, code, exc.format_message()
                     if isinstance(exc, click.ClickException) else str(exc), render_error)
        raise
    except Exception as exc:  # the gate must not pass on a crash: engine/internal error, exit 3
        if os.environ.get("ROOST_DEBUG"):
            raise
        message = f"internal error: {type(exc).__name__}: {exc} (set ROOST_DEBUG=1 for the traceback)"
        _write_error(markdown_path, as_json, stack, 3, message, render_error)
        raise EngineError(message) from None
    data = result.to_dict()
    if markdown_path:
        _write(markdown_path, render(result))
    if as_json:
        print_json(data)
    else:
        _print(data)
    if result.failed:
        raise GateFailed("\n".join(f"{g.name}: {g.summary}" for g in result.failed))


def _run(ctx: click.Context, stack: str, fleet: str | None, base_version: int | None, max_usd: float | None,
         max_pct: float | None, project_dir: str | None, store_url: str | None, catalog_path: str | None,
         discounts: tuple[str, ...], *, progress: bool):
    from roost import lifecycle
    from roost.gate.run import CiRequest, run_ci
    from roost.stackfile import find_project_dir, validate_stack_name

    validate_stack_name(stack)
    root = Path(project_dir).resolve() if project_dir else find_project_dir()
    store = services(ctx).store_factory(lifecycle.store_url(root, store_url), 30.0)
    catalog = load_catalog_from(catalog_path, discounts)
    request = CiRequest(project_dir=root, stack=stack, store=store, catalog=catalog,
                        fleet=Path(fleet) if fleet else None, base_version=base_version,
                        max_increase_usd=max_usd, max_increase_pct=max_pct)
    interactive = progress and os.isatty(2) and not in_ci()
    return run_ci(request, on_stage=_stages(interactive))


def _write(path: str, text: str) -> None:
    from placement.atomic import atomic_write_text

    atomic_write_text(path, text)


def _write_error(markdown_path: str | None, as_json: bool, stack: str, code: int, message: str, render_error) -> None:
    if markdown_path:
        try:
            _write(markdown_path, render_error(stack, code, message))
        except OSError:
            pass  # the error itself is what must reach the log
    if as_json:
        print_json({"stack": stack, "result": "error", "exit_code": code, "error": message})


def _print(data: dict) -> None:
    from rich.markup import escape

    from roost.report.fmt import money, percent, signed_money

    out = console()
    out.print(table(f"roost ci: stack {escape(data['stack'])}", ["gate", "result", "summary"],
                    [(g["name"], g["status"], escape(g["summary"])) for g in data["gates"]]))
    cost = data["cost"]
    out.print(f"\nMonthly cost {cost['from']} → {cost['to']}: {money(cost['previous_total_monthly_cost_usd'])} → "
              f"{money(cost['total_monthly_cost_usd'])} ({signed_money(cost['delta_monthly_cost_usd'])}, "
              f"{percent(cost['delta_pct'])}); {cost['models_changed']} model(s) changed", markup=False)
    for g in data["gates"]:
        for f in g["findings"]:
            out.print(f"  {g['name']}: {f['subject']}: {f['rule']}: {f['message']}", markup=False)
    for i, fix in enumerate(data["fixes"], 1):
        out.print(f"Fix {i}: {fix}", markup=False)
    for note in data["notes"]:
        out.print(f"Note: {note}", markup=False)
