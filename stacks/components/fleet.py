"""``roost:serving:ModelFleet``: one deployment's serving fleet, the same shape on every cloud."""
from __future__ import annotations

from dataclasses import dataclass

import pulumi

from placement.types import Cloud
from stacks.fleet_args import FleetArgs
from stacks.providers import SharedCache
from stacks.settings import StackSettings

FLEET_TYPE = "roost:serving:ModelFleet"


@dataclass(frozen=True)
class FleetOutputs:
    """What a cloud builder hands back; everything else in the outputs comes from the plan."""

    endpoint: pulumi.Output[str]
    group_name: pulumi.Output[str]


class ModelFleet(pulumi.ComponentResource):
    """Load balancer, instance group(s) with autoscaling, identity, network rules and secrets
    for one deployment. Every child has ``parent=self`` and the region's explicit provider."""

    endpoint: pulumi.Output[str]
    group_name: pulumi.Output[str]

    def __init__(self, args: FleetArgs, *, provider: pulumi.ProviderResource, settings: StackSettings,
                 shared: SharedCache, opts: pulumi.ResourceOptions | None = None):
        super().__init__(FLEET_TYPE, args.name, None, opts)
        if args.cloud is Cloud.AWS:
            from stacks.components import aws as builder
        elif args.cloud is Cloud.GCP:
            from stacks.components import gcp as builder  # type: ignore[no-redef]
        else:
            from stacks.components import azure as builder  # type: ignore[no-redef]
        out = builder.build(self, args, provider, settings, shared)
        self.endpoint = out.endpoint
        self.group_name = out.group_name
        self.outputs = {
            "endpoint": out.endpoint,
            "groupName": out.group_name,
            "cloud": args.cloud.value,
            "region": args.region,
            "instanceType": args.instance_type,
            "purchase": args.purchase.value,
            "onDemandBase": args.on_demand_base,
            "minReplicas": args.min_replicas,
            "maxReplicas": args.max_replicas,
            "monthlyCostUsd": round(args.monthly_cost_usd, 2),
        }
        self.register_outputs(self.outputs)
