"""Which component class builds a fleet on which cloud.

Classes are imported on first use, so a stack without GCP never loads pulumi_gcp (its
import alone takes seconds), and ``fleet.py`` never imports a cloud module.
"""
from __future__ import annotations

import importlib

import pulumi

from placement.types import Cloud
from stacks.components.fleet import ModelFleet
from stacks.fleet_args import FleetArgs
from stacks.providers import SharedCache
from stacks.settings import StackSettings

BUILDERS: dict[Cloud, tuple[str, str]] = {
    Cloud.AWS: ("stacks.components.aws", "AwsModelFleet"),
    Cloud.GCP: ("stacks.components.gcp", "GcpModelFleet"),
    Cloud.AZURE: ("stacks.components.azure", "AzureModelFleet"),
}


def fleet_class(cloud: Cloud) -> type[ModelFleet]:
    module, name = BUILDERS[cloud]
    cls = getattr(importlib.import_module(module), name)
    if not (isinstance(cls, type) and issubclass(cls, ModelFleet)):
        raise TypeError(f"{module}.{name} is not a ModelFleet")
    return cls


def create_fleet(args: FleetArgs, *, provider: pulumi.ProviderResource, settings: StackSettings,
                 shared: SharedCache) -> ModelFleet:
    return fleet_class(args.cloud)(args, provider=provider, settings=settings, shared=shared)
