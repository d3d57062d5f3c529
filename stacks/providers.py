"""One explicit provider per (cloud, region) per run, and resources shared by a region's fleets.

Every resource names its provider, so nothing falls back to a default provider picking
up whatever region or project a laptop's environment happens to have.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi

from placement.types import Cloud
from stacks.settings import StackSettings


class ProviderCache:
    def __init__(self, settings: StackSettings):
        self._settings = settings
        self._providers: dict[tuple[Cloud, str], pulumi.ProviderResource] = {}

    def get(self, cloud: Cloud, region: str) -> pulumi.ProviderResource:
        key = (cloud, region)
        if key not in self._providers:
            self._providers[key] = self._create(cloud, region)
        return self._providers[key]

    def _create(self, cloud: Cloud, region: str) -> pulumi.ProviderResource:
        # Provider modules are imported on first use: a stack without GCP never loads pulumi_gcp.
        name = f"{cloud.value}-{region}"
        if cloud is Cloud.AWS:
            import pulumi_aws as aws

            return aws.Provider(name, region=region)
        if cloud is Cloud.GCP:
            import pulumi_gcp as gcp

            return gcp.Provider(name, project=self._settings.gcp.project, region=region)
        import pulumi_azure_native as azure_native

        return azure_native.Provider(name, location=region)


class SharedCache:
    """Resources built once per key (e.g. a GCP region's proxy-only subnet) however many fleets need them."""

    def __init__(self) -> None:
        self._items: dict[tuple[Any, ...], Any] = {}

    def get(self, key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
        if key not in self._items:
            self._items[key] = build()
        return self._items[key]
