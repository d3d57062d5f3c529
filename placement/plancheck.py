"""A committed plan against the catalog it was priced with: offerings real, costs recomputed.

``DeploymentPlan.from_dict`` checks a plan's form (types, names, bounds). This checks its
substance: every deployment's cloud, region, instance type and accelerator name an offering
of the catalog, spot is bought only where the catalog has a spot price, and every cost is
recomputed from the catalog's prices (``placement.costs.fleet_hourly_cost``) — the costs
written in the plan are never believed. The Pulumi program, the offline preview and the
budget policy (through the cost tags the program writes) all see the recomputed plan.

Which catalog: ``catalog_version`` names it. The bundled catalog and a user's catalog file
(``ROOST_CATALOG``, the same variable `roost plan --catalog` reads) are the candidates; a
version with per-cloud discounts (``…+disc(aws-15)``) is the same catalog with them re-applied.
"""
from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

from placement.catalog import Catalog, load_catalog
from placement.costs import fleet_hourly_cost
from placement.errors import CatalogError, did_you_mean
from placement.plan import Deployment, DeploymentPlan, PlanError
from placement.types import Offering, Purchase

CATALOG_ENV = "ROOST_CATALOG"  # also `roost plan --catalog`'s environment variable
_DISCOUNTS = re.compile(r"^(?P<base>.+)\+disc\((?P<tags>[^()]*)\)$")


def catalog_for(version: str, user_catalog: str | Path | None = None) -> Catalog:
    """The catalog whose version is ``version``: bundled or ``user_catalog``, discounts re-applied."""
    stamp = None
    if user_catalog:
        try:
            stamp = Path(user_catalog).stat().st_mtime_ns
        except OSError:
            stamp = -1
    return _catalog_for(version, str(user_catalog) if user_catalog else None, stamp)


@lru_cache(maxsize=8)  # the program checks one plan per run; previews and fuzzing check thousands
def _catalog_for(version: str, user_catalog: str | None, _stamp: int | None) -> Catalog:
    base, discounts = version, {}
    m = _DISCOUNTS.match(version)
    if m:
        base = m.group("base")
        for tag in m.group("tags").split(","):
            cloud, _, pct = tag.rpartition("-")
            try:
                discounts[cloud] = float(pct)
            except ValueError:
                raise CatalogError(f"plan: catalog_version {version!r} has an unreadable discount {tag!r}") from None
    known = []
    for path in (None, user_catalog) if user_catalog else (None,):
        catalog = load_catalog(path)
        known.append(catalog.version)
        if catalog.version == base:
            return catalog.with_discounts(discounts)
    raise CatalogError(f"plan: catalog_version {version!r} is not a catalog this program can read (it has "
                       f"{' and '.join(repr(k) for k in known)}); set ROOST_CATALOG to the catalog file the plan was "
                       "made with, or re-run `roost plan`")


def check_plan(plan: DeploymentPlan, catalog: Catalog) -> DeploymentPlan:
    """``plan`` with every offering checked and every cost recomputed; PlanError lists the problems."""
    problems: list[str] = []
    deployments = []
    for i, d in enumerate(plan.deployments):
        where = f"plan: deployments[{i}] ({d.name}).placement"
        offering, problem = _offering(d, catalog)
        if problem:
            problems.append(f"{where}: {problem}")
            continue
        deployments.append(_repriced(d, offering))
    if problems:
        raise PlanError(problems)
    return replace(plan, deployments=tuple(deployments))


def _offering(d: Deployment, catalog: Catalog) -> tuple[Offering, str | None]:
    c = d.choice
    here = [o for o in catalog if o.cloud is c.cloud and o.region == c.region]
    if not here:
        regions = sorted({o.region for o in catalog if o.cloud is c.cloud})
        return None, f"region: unknown {c.cloud.value} region {c.region!r}{did_you_mean(c.region, regions)}"  # type: ignore[return-value]
    same_type = [o for o in here if o.instance_type == c.instance_type]
    if not same_type:
        hint = did_you_mean(c.instance_type, sorted({o.instance_type for o in here}))
        return None, (f"instance_type: {c.instance_type!r} is not offered in "  # type: ignore[return-value]
                      f"{c.cloud.value}/{c.region}{hint}")
    match = [o for o in same_type if o.accelerator == c.accelerator and o.guest_accelerator == c.guest_accelerator
             and (o.accelerator is None or o.accelerator_count == c.accelerator_count)]
    if not match:
        offered = ", ".join(sorted(f"{o.accelerator}×{o.accelerator_count:g}" if o.accelerator else "no GPU"
                                   for o in same_type))
        got = f"{c.accelerator}×{c.accelerator_count:g}" if c.accelerator else "no GPU"
        return None, f"accelerator: {got} does not match {c.instance_type} in the catalog ({offered})"  # type: ignore[return-value]
    offering = match[0]
    if c.purchase is Purchase.SPOT and offering.spot_price_hour_usd is None:
        return offering, f"purchase: spot, but {offering.offering_id} has no spot price in the catalog"
    return offering, None


def _repriced(d: Deployment, offering: Offering) -> Deployment:
    c = d.choice
    base = c.on_demand_base if c.purchase is Purchase.SPOT else 0
    hourly, on_demand = fleet_hourly_cost(offering, c.purchase, c.replicas, base)
    return replace(d, choice=replace(c, hourly_cost_usd=hourly, on_demand_hourly_cost_usd=on_demand))
