"""What several commands share: option decorators, the stack services, training progress.

The one home for anything two command modules need, so command modules never import each
other. Kept light: nothing here imports LightGBM, pandas or a Pulumi SDK at module level.
"""
from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from placement.catalog import Catalog, load_catalog
from placement.types import Cloud
from roost.workflows import DEFAULT_PREDICTOR, PREDICTORS

if TYPE_CHECKING:
    from history.versions import Provenance, VersionStore
    from roost.engine import EngineRunner


def _parse_discounts(values: tuple[str, ...]) -> dict[Cloud, float]:
    out: dict[Cloud, float] = {}
    for item in values:
        cloud, _, pct = item.partition("=")
        try:
            out[Cloud(cloud.strip().lower())] = float(pct)
        except ValueError:
            raise click.BadParameter(f"{item!r}: expected CLOUD=PERCENT, e.g. aws=12.5",
                                     param_hint="--discount") from None
    return out


def catalog_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option("--discount", "discounts", multiple=True, metavar="CLOUD=PCT",
                      help="Per-cloud discount percentage on list prices (repeatable), e.g. aws=15.")(fn)
    fn = click.option("--catalog", "catalog_path", type=click.Path(dir_okay=False), envvar="ROOST_CATALOG",
                      help="Your own catalog file (JSON or CSV); default: the bundled snapshot.")(fn)
    return fn


def load_catalog_from(catalog_path: str | None, discounts: tuple[str, ...]) -> Catalog:
    return load_catalog(catalog_path, discounts=_parse_discounts(discounts))


json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")


predictor_option = click.option(
    "--predictor", "predictor_kind", type=click.Choice(PREDICTORS), default=DEFAULT_PREDICTOR, show_default=True,
    help="learned: the LightGBM models (the shipped default model unless --model-dir or `roost train` says "
         "otherwise); baseline: the physics heuristic.")


def stage_printer(label: str, enabled: bool | None = None) -> Callable[[str], None]:
    """Training stages as lines on stderr for a person at a terminal; silent for pipelines."""
    show = sys.stderr.isatty() if enabled is None else enabled

    def emit(stage: str) -> None:
        if show:
            click.echo(f"{label}: {stage}", err=True)
    return emit


def _default_runner(project_dir: Path, stack: str) -> EngineRunner:
    from roost.engine import PulumiAutomationRunner

    return PulumiAutomationRunner.for_project(project_dir, stack)


def _default_store(url: str, lock_timeout: float) -> VersionStore:
    from history.store import check_durable
    from history.versions import VersionStore

    return VersionStore(check_durable(url), lock_timeout=lock_timeout)


def _default_provenance(project_dir: Path) -> Provenance:
    from roost.lifecycle import provenance

    return provenance(project_dir)


@dataclass(frozen=True)
class StackServices:
    """What the stack commands touch outside the process; tests replace any of them."""

    runner_factory: Callable[[Path, str], EngineRunner] = _default_runner
    store_factory: Callable[[str, float], VersionStore] = _default_store
    provenance: Callable[[Path], Provenance] = _default_provenance


def services(ctx: click.Context) -> StackServices:
    return ctx.find_object(StackServices) or StackServices()
