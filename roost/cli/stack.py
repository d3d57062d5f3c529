"""Stack lifecycle commands: ``plan``, ``versions``, ``diff``, ``rollback``, ``up``, ``state restore``.

Thin: parse, call ``roost.lifecycle``, print. The version store and the engine runner come
from a ``StackServices`` object in click's ``ctx.obj`` when a caller (a test) puts one there,
else the real ones are built.
"""
from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from roost.cli.options import (
    catalog_options,
    json_option,
    load_catalog_from,
    predictor_option,
    services,
    stage_printer,
)
from roost.errors import BadInput
from roost.output import Progress, console, money, print_json, signed_money, table
from roost.paths import STORE_ENV
from roost.stackfile import find_project_dir, validate_stack_name

if TYPE_CHECKING:
    from history.versions import VersionStore
    from placement.diff import ModelDiff, PlanDiff
    from roost import lifecycle


@dataclass(frozen=True)
class Target:
    project_dir: Path
    stack: str
    store: VersionStore


def stack_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option("--lock-timeout", type=click.FloatRange(min=0), default=30.0, show_default=True,
                      envvar="ROOST_LOCK_TIMEOUT",
                      help="Seconds to wait for another roost command on the same stack before refusing.")(fn)
    fn = click.option("--store", "store_url", envvar=STORE_ENV, metavar="URL",
                      help="Version store: a directory or an s3://, gs:// or az:// URL "
                           "[default: <project>/.roost/versions; env ROOST_VERSION_STORE].")(fn)
    fn = click.option("--project-dir", type=click.Path(file_okay=False, exists=True),
                      help="Pulumi project directory [default: nearest directory with a Pulumi.yaml].")(fn)
    fn = click.option("--stack", "-s", required=True, envvar="ROOST_STACK",
                      help="Pulumi stack name (env ROOST_STACK).")(fn)
    return fn


def _target(ctx: click.Context, stack: str, project_dir: str | None, store_url: str | None,
            lock_timeout: float) -> Target:
    from roost import lifecycle

    validate_stack_name(stack)
    root = Path(project_dir).resolve() if project_dir else find_project_dir()
    store = services(ctx).store_factory(lifecycle.store_url(root, store_url), lock_timeout)
    return Target(project_dir=root, stack=stack, store=store)


def _warn(lines: tuple[str, ...] | list[str]) -> None:
    for line in lines:
        click.echo(f"Warning: {line}", err=True)


# -- rendering ------------------------------------------------------------------------------------
def _where(snapshot: Any) -> str:
    if not snapshot:
        return "-"
    purchase = str(snapshot["purchase"]).replace("_", "-")
    return f"{snapshot['cloud']}/{snapshot['region']} {snapshot['instance_type']} {purchase}"


def _replicas(snapshot: Any) -> str:
    if not snapshot:
        return "-"
    return f"{snapshot['replicas']} ({snapshot['min_replicas']}-{snapshot['max_replicas']})"


def _model_row(m: ModelDiff) -> tuple:
    before, after = m.before, m.after
    where = _where(after) if m.change in ("added", "resized", "reconfigured", "repriced", "unchanged") \
        else _where(before) if m.change == "removed" else f"{_where(before)} → {_where(after)}"
    reps_b, reps_a = _replicas(before), _replicas(after)
    replicas = reps_a if reps_b == reps_a else f"{reps_b} → {reps_a}"
    if m.change == "removed":
        replicas = reps_b
    return (m.model, m.change, where, replicas, money(m.monthly_cost_after_usd),
            signed_money(m.monthly_cost_delta_usd))


def print_diff(diff: PlanDiff, *, show_unchanged: bool = False) -> None:
    out = console()
    counts = {k: v for k, v in diff.counts().items() if v}
    out.print(f"Changes {diff.before_label} → {diff.after_label}: "
              + (", ".join(f"{v} {k}" for k, v in counts.items()) or "no models"))
    rows = [_model_row(m) for m in diff.models if show_unchanged or m.changed]
    if rows:
        out.print(table(None, ["model", "change", "placement", "replicas (min-max)", "$/month", "Δ $/month"], rows,
                        right=["$/month", "Δ $/month"]))
    out.print(f"Monthly cost: {money(diff.monthly_cost_before_usd)} → {money(diff.monthly_cost_after_usd)} "
              f"({signed_money(diff.monthly_cost_delta_usd)})")


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "-" if value is None else str(value)


def _confirmer(yes: bool, what: str) -> Callable[[lifecycle.ApplyRequest], bool] | None:
    if yes:
        return None
    if not sys.stdin.isatty():
        raise BadInput(f"{what} changes cloud resources: pass --yes to confirm in a non-interactive session")

    def confirm(request: lifecycle.ApplyRequest) -> bool:
        click.echo(f"About to deploy plan version {request.plan_version} of stack {request.stack!r}"
                   f"{' (refresh first)' if request.refresh else ''}:", err=True)
        with_stderr = console(stderr=True)
        counts = {k: v for k, v in request.diff.counts().items() if v}
        with_stderr.print(f"{request.diff.before_label} → {request.diff.after_label}: "
                          + ", ".join(f"{v} {k}" for k, v in counts.items())
                          + f"; monthly cost {signed_money(request.diff.monthly_cost_delta_usd)}")
        return click.confirm("Deploy it?", default=False, err=True)

    return confirm


discard_edits_option = click.option(
    "--discard-edits", is_flag=True,
    help="Overwrite a roost:plan edited by hand in Pulumi.<stack>.yaml (refused otherwise).")


# -- commands -------------------------------------------------------------------------------------
@click.command("plan")
@click.argument("fleet", type=click.Path(dir_okay=False, exists=True))
@stack_options
@json_option
@catalog_options
@predictor_option
@click.option("--all", "show_all", is_flag=True, help="List unchanged models in the diff too.")
@discard_edits_option
@click.pass_context
def plan(ctx: click.Context, fleet: str, stack: str, project_dir: str | None, store_url: str | None,
         lock_timeout: float, as_json: bool, catalog_path: str | None, discounts: tuple[str, ...],
         predictor_kind: str, show_all: bool, discard_edits: bool) -> None:
    """Recommend placements for FLEET and commit them to Pulumi.<stack>.yaml as a new version.

    Records a version only when the decisions changed, and prints what changed against the
    current version and the monthly cost change. `pulumi up` (or `roost up`) deploys it.
    """
    from roost import lifecycle
    from roost.workflows import load_checked_fleet, predictor_for, predictor_warnings

    target = _target(ctx, stack, project_dir, store_url, lock_timeout)
    catalog = load_catalog_from(catalog_path, discounts)
    load_checked_fleet(fleet, catalog)  # a bad fleet fails now, before any model is loaded or trained
    predictor = predictor_for(predictor_kind, catalog_version=catalog.version, on_stage=stage_printer("Model"))
    for warning in predictor_warnings(predictor):
        click.echo(f"Warning: {warning}", err=True)
    outcome = lifecycle.plan_stack(
        fleet_path=fleet, project_dir=target.project_dir, stack=target.stack, store=target.store,
        catalog=catalog, predictor=predictor,
        who=services(ctx).provenance(target.project_dir), on_progress=Progress("Placing models"),
        discard_edits=discard_edits)
    _warn(outcome.warnings)
    if as_json:
        print_json(outcome.to_dict())
        return
    out = console()
    config = outcome.config_path.name
    if outcome.created:
        out.print(f"Recorded version {outcome.current.number} of stack {stack!r} (plan); {config} now holds it.")
    else:
        out.print(f"Decisions unchanged: version {outcome.current.number} of stack {stack!r} stays current; "
                  "no new version.")
    print_diff(outcome.diff, show_unchanged=show_all)
    if outcome.created or outcome.config_written:
        out.print(f"\nNext: pulumi up --stack {stack}   (or: roost up --stack {stack})")




@click.command("versions")
@stack_options
@json_option
@click.pass_context
def versions(ctx: click.Context, stack: str, project_dir: str | None, store_url: str | None, lock_timeout: float,
             as_json: bool) -> None:
    """Every version of a stack: when, why, what changed, what it costs, whether it was applied."""
    from roost import lifecycle

    target = _target(ctx, stack, project_dir, store_url, lock_timeout)
    listing = lifecycle.list_versions(project_dir=target.project_dir, stack=target.stack, store=target.store)
    if as_json:
        print_json(listing.to_dict())
        return
    if listing.drift:
        _warn([listing.drift])
    out = console()
    if not listing.rows:
        out.print(f"Stack {stack!r} has no versions yet ({listing.store}); run `roost plan FLEET --stack {stack}`.")
        return
    rows = []
    for r in listing.rows:
        rec = r.record
        applied = "yes" if rec.applied else f"yes (v{r.applied_by})" if r.applied_by else "no"
        rows.append(("*" if r.current else "", rec.number, rec.created_at[:16].replace("T", " ") + "Z", rec.reason,
                     r.models_changed, money(rec.monthly_cost_usd), signed_money(r.monthly_cost_delta_usd), applied,
                     rec.provenance.author.split(" <")[0]))
    out.print(table(f"Versions of stack {stack!r} ({listing.store})",
                    ["", "version", "time (UTC)", "reason", "models changed", "$/month", "Δ $/month", "applied",
                     "author"], rows, right=["version", "models changed", "$/month", "Δ $/month"]))
    out.print("* = the version Pulumi." + stack + ".yaml holds")


@click.command("diff")
@click.argument("a")
@click.argument("b", required=False, default="current")
@stack_options
@json_option
@click.option("--all", "show_all", is_flag=True, help="List unchanged models too.")
@click.pass_context
def diff(ctx: click.Context, a: str, b: str, stack: str, project_dir: str | None, store_url: str | None,
         lock_timeout: float, as_json: bool, show_all: bool) -> None:
    """Placement changes from A to B: per model moves, replica changes and cost delta.

    A and B are version numbers, `latest`, `applied` (last applied through roost) or
    `current` (what Pulumi.<stack>.yaml holds; the default for B).
    """
    from placement.diff import ESTIMATE_FIELDS
    from roost import lifecycle

    target = _target(ctx, stack, project_dir, store_url, lock_timeout)
    outcome = lifecycle.diff_versions(project_dir=target.project_dir, stack=target.stack, store=target.store, a=a, b=b)
    if as_json:
        print_json(outcome.to_dict())
        return
    print_diff(outcome.diff, show_unchanged=show_all)
    out = console()
    for m in outcome.diff.changed:
        # Estimates (prices, predictions) follow from the decisions; list them only when alone.
        shown = [f for f in m.fields if f.field not in ESTIMATE_FIELDS] or list(m.fields)
        if shown:
            out.print(f"  {m.model}: " + ", ".join(f"{f.field} {_short(f.before)} → {_short(f.after)}" for f in shown))


@click.command("rollback")
@stack_options
@click.option("--to", "to", type=click.IntRange(min=1), required=True, help="The version to go back to.")
@click.option("--apply", "apply_", is_flag=True, help="Then deploy it through the engine (refresh, then up).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before deploying (needed without a terminal).")
@discard_edits_option
@json_option
@click.pass_context
def rollback(ctx: click.Context, stack: str, project_dir: str | None, store_url: str | None, lock_timeout: float,
             to: int, apply_: bool, yes: bool, discard_edits: bool, as_json: bool) -> None:
    """Put version N's decisions back into Pulumi.<stack>.yaml as a new version (`rollback to N`).

    Redeploys the old decisions like any plan; it never imports an old state checkpoint (that
    would orphan live resources: see `roost state restore` for repairing a broken state).
    """
    from roost import lifecycle

    target = _target(ctx, stack, project_dir, store_url, lock_timeout)
    confirm = _confirmer(yes, "rollback --apply") if apply_ else None
    runner = services(ctx).runner_factory(target.project_dir, target.stack) if apply_ else None
    outcome = lifecycle.rollback_stack(project_dir=target.project_dir, stack=target.stack, store=target.store,
                                       to=to, who=services(ctx).provenance(target.project_dir), runner=runner,
                                       confirm=confirm, discard_edits=discard_edits)
    _warn(outcome.warnings)
    if outcome.apply is not None:
        _warn(outcome.apply.warnings)
    if as_json:
        print_json(outcome.to_dict())
        return
    out = console()
    if outcome.created:
        out.print(f"Recorded version {outcome.current.number} of stack {stack!r} (rollback to {to}); "
                  f"{outcome.config_path.name} holds version {to}'s decisions.")
    print_diff(outcome.diff)
    if outcome.apply is None:
        out.print(f"\nNext: pulumi up --stack {stack}   (or: roost up --stack {stack})")
    elif outcome.apply.applied:
        _print_applied(outcome.apply)
    else:
        out.print(f"Not deployed. Run `pulumi up --stack {stack}` (or `roost up --stack {stack}`) when ready.")


def _print_applied(result: lifecycle.ApplyOutcome) -> None:
    out = console()
    rec = result.record
    assert rec is not None
    changes = ", ".join(f"{v} {k}" for k, v in (result.engine.resource_changes if result.engine else {}).items())
    out.print(f"Deployed plan version {result.plan_version}"
              f" (Pulumi update {result.engine.update_version if result.engine else '?'}"
              f"{'; ' + changes if changes else ''}); recorded as version {rec.number} (apply).")
    if rec.engine and rec.engine.outputs:
        out.print(table("Outputs", ["output", "value"], sorted(rec.engine.outputs.items())))


@click.command("up")
@stack_options
@click.option("--refresh", is_flag=True, help="Refresh the state from the clouds before updating.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before deploying (needed without a terminal).")
@json_option
@click.pass_context
def up(ctx: click.Context, stack: str, project_dir: str | None, store_url: str | None, lock_timeout: float,
       refresh: bool, yes: bool, as_json: bool) -> None:
    """Deploy the latest recorded version through the Pulumi engine and record it as applied.

    Refuses when Pulumi.<stack>.yaml does not hold the latest recorded version (edited by hand
    or left by an interrupted command). Needs the Pulumi CLI.
    """
    from roost import lifecycle

    target = _target(ctx, stack, project_dir, store_url, lock_timeout)
    confirm = _confirmer(yes, "roost up")
    result = lifecycle.up_stack(project_dir=target.project_dir, stack=target.stack, store=target.store,
                                runner=services(ctx).runner_factory(target.project_dir, target.stack),
                                who=services(ctx).provenance(target.project_dir), confirm=confirm,
                                refresh=refresh)
    _warn(result.warnings)
    if as_json:
        print_json(result.to_dict())
        return
    if result.applied:
        _print_applied(result)
    else:
        console().print("Not deployed.")


@click.group("state")
def state() -> None:
    """Repair Pulumi's state (not for rollback: use `roost rollback`)."""


@state.command("restore")
@stack_options
@click.option("--version", "version", type=click.IntRange(min=1),
              help="Import the state checkpoint exported when this version was applied.")
@click.option("--file", "file", type=click.Path(dir_okay=False, exists=True),
              help="Import a `pulumi stack export` file or a DIY-backend checkpoint file instead.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask (needed without a terminal).")
@json_option
@click.pass_context
def restore(ctx: click.Context, stack: str, project_dir: str | None, store_url: str | None, lock_timeout: float,
            version: int | None, file: str | None, yes: bool, as_json: bool) -> None:
    """Overwrite the stack's Pulumi state with a stored checkpoint, to repair a broken state.

    This changes only Pulumi's bookkeeping, not the clouds: resources created after that
    checkpoint are no longer tracked (they keep running and costing). Afterwards run
    `pulumi refresh` and `roost up`.
    """
    from roost import lifecycle

    target = _target(ctx, stack, project_dir, store_url, lock_timeout)
    if not yes and not sys.stdin.isatty():
        raise BadInput("state restore overwrites Pulumi's state: pass --yes to confirm in a non-interactive session")

    def confirm(request: lifecycle.RestoreRequest) -> bool:
        click.echo(f"This replaces Pulumi's state of stack {request.stack!r} with {request.source} "
                   f"({request.resources} resources). Resources created since then will no longer be tracked.",
                   err=True)
        return click.confirm("Import it?", default=False, err=True)

    result = lifecycle.restore_state(stack=target.stack, store=target.store,
                                     runner=services(ctx).runner_factory(target.project_dir, target.stack),
                                     version=version, file=Path(file) if file else None,
                                     confirm=None if yes else confirm)
    if as_json:
        print_json(result.to_dict())
        return
    if result.imported:
        console().print(f"Imported {result.source} ({result.resources} resources) into stack {stack!r}.")
        _warn(result.warnings)
    else:
        console().print("Not imported.")
