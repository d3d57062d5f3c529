"""The Pulumi program: deploy exactly the decisions committed in the stack's config.

Reads ``roost:plan`` and the cloud settings (stacks.settings), never the recommender, so
`pulumi preview` and `pulumi up` cannot disagree or flap. Every deployment is validated
before the first resource is declared.
"""
from __future__ import annotations

import pulumi

from stacks import settings as stack_settings
from stacks.components.registry import create_fleet
from stacks.fleet_args import FleetArgs
from stacks.providers import ProviderCache, SharedCache

EXPORT_PREFIX = "fleet."


def run() -> None:
    settings = stack_settings.load()
    fleet_args = [FleetArgs.from_deployment(d, settings) for d in settings.plan.deployments]
    providers = ProviderCache(settings)
    shared = SharedCache()
    for args in fleet_args:
        fleet = create_fleet(args, provider=providers.get(args.cloud, args.region), settings=settings, shared=shared)
        pulumi.export(f"{EXPORT_PREFIX}{args.name}", fleet.outputs)
    pulumi.export("roost", {
        "planVersion": settings.plan_version,
        "decisionsSha256": settings.plan.decisions_sha256(),
        "monthlyCostUsd": round(settings.plan.monthly_cost_usd, 2),
        "deployments": len(fleet_args),
    })
