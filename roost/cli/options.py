"""Options shared by several commands, as reusable decorators."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from placement.catalog import Catalog, load_catalog
from placement.types import Cloud


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
