"""``roost:serving:ModelFleet``: one deployment's serving fleet, the same shape on every cloud.

Each cloud subclasses ``ModelFleet`` (``AwsModelFleet``, ``GcpModelFleet``,
``AzureModelFleet``) and implements ``_build``; ``stacks.components.registry`` picks the
class for a cloud. This module imports no cloud module, so there is no import circle.
All clouds share one type token: the URNs (and so existing stacks) do not depend on which
class built them.
"""
from __future__ import annotations

from typing import Any

import pulumi

from stacks.components.outputs import FleetOutputs
from stacks.fleet_args import FleetArgs
from stacks.naming import FLEET_TYPE, PLAIN_HTTP_ALLOWED, TAG_PLAIN_HTTP
from stacks.providers import SharedCache
from stacks.settings import StackSettings

__all__ = ["FLEET_TYPE", "ModelFleet"]


class ModelFleet(pulumi.ComponentResource):
    """Load balancer, instance group(s) with autoscaling, identity, network rules and secrets
    for one deployment. Every child has ``parent=self`` and the region's explicit provider
    (``self.child_opts``); the outputs are registered when ``_build`` returns."""

    endpoint: pulumi.Output[str]
    group_name: pulumi.Output[str]
    outputs: dict[str, Any]

    def __init__(self, args: FleetArgs, *, provider: pulumi.ProviderResource, settings: StackSettings,
                 shared: SharedCache, opts: pulumi.ResourceOptions | None = None):
        super().__init__(FLEET_TYPE, args.name, None, opts)
        self.fleet_args = args
        self.settings = settings
        self.provider = provider
        self.shared = shared
        self.child_opts = pulumi.ResourceOptions(parent=self, provider=provider)
        out = self._build()
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

    def _build(self) -> FleetOutputs:
        raise NotImplementedError(f"{type(self).__name__} must declare its cloud's resources")

    def plain_http_tag(self, https: bool) -> dict[str, str]:
        """The stack's opt-in to a public endpoint without TLS, recorded on the load balancer so the
        policy pack (and anyone looking at the resource) sees it was chosen, not forgotten. Settings
        refuse a public plain-HTTP endpoint without ``roost:allowPlainHttp``."""
        if self.fleet_args.public and not https and self.settings.allow_plain_http:
            return {TAG_PLAIN_HTTP: PLAIN_HTTP_ALLOWED}
        return {}

    def child_options(self, **extra: Any) -> pulumi.ResourceOptions:
        """``child_opts`` plus per-resource options (ignore_changes, depends_on, …)."""
        return pulumi.ResourceOptions.merge(self.child_opts, pulumi.ResourceOptions(**extra))
