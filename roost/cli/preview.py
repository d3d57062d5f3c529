from __future__ import annotations

import json
from pathlib import Path

import click

from placement.errors import RoostError
from roost.cli.options import json_option, services
from roost.errors import GateFailed
from roost.output import Progress, console, money, print_json, table
from roost.stackfile import find_project_dir


def _short(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return text if len(text) <= 60 else text[:57] + "..."


@click.command()
@click.option("--stack", "-s", required=True, envvar="ROOST_STACK", help="Stack to preview (Pulumi.<stack>.yaml).")
@click.option("--offline", is_flag=True,
              help="Run the program under mocks: no Pulumi CLI, credentials or network (what CI runs).")
@click.option("--project-dir", type=click.Path(file_okay=False, exists=True),
              help="Directory with Pulumi.yaml (default: the nearest one at or above the current directory).")
@json_option
@click.pass_context
def preview(ctx: click.Context, stack: str, offline: bool, project_dir: str | None, as_json: bool) -> None:
    """Every resource `pulumi up` would create for STACK, grouped by deployment, with monthly
    cost per fleet and the policy guardrails' verdict (exit 1 on a mandatory violation).

    Without --offline, `pulumi preview` runs through the engine (needs the Pulumi CLI); its
    output streams to stderr and the change counts are printed (or returned with --json)."""
    from roost.preview import SHARED, offline_preview

    directory = Path(project_dir) if project_dir else find_project_dir()
    _warn_hand_edits(ctx, directory.resolve(), stack)
    if not offline:
        _engine_preview(ctx, directory.resolve(), stack, as_json)
        return
    progress = Progress("Running the stack's program offline", enabled=None if not as_json else False)
    progress(0, 1)
    report = offline_preview(directory, stack)
    progress(1, 1)
    failed = report.mandatory_violations
    if as_json:
        print_json(report.to_dict())
    else:
        out = console()
        for d in report.deployments:
            endpoint = d.outputs.get("endpoint", "")
            out.print(f"\n[bold]{d.name}[/bold]  {d.cloud}/{d.region}  {d.instance_type}  "
                      f"{d.purchase.replace('_', '-')}  replicas {d.replicas} ({d.min_replicas}-{d.max_replicas})  "
                      f"{money(d.monthly_cost_usd)}/month  {endpoint}")
            out.print(table(None, ["  type", "name", "key inputs"],
                            [("  " + r.type, r.name, "; ".join(f"{k}={_short(v)}" for k, v in r.key_inputs.items()))
                             for r in d.resources]))
        shared = [r for r in report.resources if r.deployment is None]
        if shared:
            out.print(f"\n[bold]{SHARED}[/bold]  providers and per-region resources")
            out.print(table(None, ["  type", "name", "key inputs"],
                            [("  " + r.type, r.name, "; ".join(f"{k}={_short(v)}" for k, v in r.key_inputs.items()))
                             for r in shared]))
        if report.violations:
            out.print(table("\nPolicy violations", ["policy", "resource", "enforcement", "message"],
                            [(v.policy, v.resource, v.enforcement, v.message) for v in report.violations]))
        else:
            out.print("\nPolicy: no violations.")
        for note in report.notes:
            if note.startswith("warning: "):
                out.print(f"[yellow]Warning:[/yellow] {note.removeprefix('warning: ')}", markup=True)
            else:
                out.print(f"Note: {note}")
        s = report.summary()
        out.print(f"\nStack {report.stack} (plan version {report.plan_version}): {s['deployments']} deployments, "
                  f"{s['resources']} resources, {money(s['monthly_cost_usd'])}/month estimated.")
    if failed:
        raise GateFailed(f"{len(failed)} mandatory policy violation(s); first: "
                         f"{failed[0].policy} on {failed[0].resource}: {failed[0].message}")


def _engine_preview(ctx: click.Context, directory: Path, stack: str, as_json: bool) -> None:
    from roost.lifecycle import engine_preview

    runner = services(ctx).runner_factory(directory, stack)
    outcome = engine_preview(project_dir=directory, stack=stack, runner=runner)
    if as_json:
        print_json({"stack": stack, "engine": "pulumi", **outcome.to_dict()})
        return
    changes = ", ".join(f"{n} {op}" for op, n in sorted(outcome.resource_changes.items())) or "no changes"
    console().print(f"\nStack {stack} (engine preview): {changes}.")


def _warn_hand_edits(ctx: click.Context, directory: Path, stack: str) -> None:
    """Say so when the stack file's plan is not the version it names (before anything runs)."""
    from roost import lifecycle
    from roost.stackfile import validate_stack_name

    validate_stack_name(stack)
    try:
        store = services(ctx).store_factory(lifecycle.store_url(directory), 0.0)
    except RoostError:
        return
    warning = lifecycle.stack_file_warning(directory, stack, store)
    if warning:
        click.echo(f"Warning: {warning}", err=True)
