"""What one ModelFleet component needs, derived purely from a plan's Deployment and the settings.

Validation that only matters for deploying (env names, ports, replica bounds, GPU
attachment) happens here, before any resource is declared, so a bad plan fails with one
clear line instead of half a preview.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum

from placement.errors import InputError
from placement.plan import Deployment
from placement.types import Cloud, Purchase, SpotPolicy
from stacks import machines
from stacks.machines import AzureGpuSetup, AzureImage, GuestAccelerator
from stacks.naming import CostTags, secret_env_name
from stacks.settings import SecretRef, StackSettings

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Scale out before a replica reaches its predicted capacity: headroom for bursts and for
# the minutes a new replica takes to boot and load weights.
TARGET_UTILIZATION = 0.7


class GroupRole(StrEnum):
    MAIN = "main"   # autoscaled
    BASE = "base"   # fixed on-demand floor under `spot: allow`


@dataclass(frozen=True)
class GroupSpec:
    """One instance group. GCP and Azure cannot mix spot and on-demand VMs in one group, so a
    spot fleet with an on-demand base becomes a fixed on-demand group plus an autoscaled spot
    group behind the same load balancer (AWS does this inside one Auto Scaling group)."""

    role: GroupRole
    purchase: Purchase
    min_size: int
    max_size: int
    desired: int
    autoscaled: bool


@dataclass(frozen=True)
class SecretSpec:
    name: str
    env_var: str
    has_value: bool          # a Pulumi secret value is configured: roost stores it in the cloud store
    ref: SecretRef | None    # an existing secret in the cloud store


@dataclass(frozen=True, kw_only=True)
class FleetArgs:
    name: str
    stack: str
    cloud: Cloud
    region: str
    instance_type: str
    instance_types: tuple[str, ...]
    arch: str
    accelerator: str | None
    accelerator_count: float
    guest_accelerator: GuestAccelerator | None
    purchase: Purchase
    spot_policy: SpotPolicy
    replicas: int
    min_replicas: int
    max_replicas: int
    on_demand_base: int
    predicted_rps_per_replica: float
    slo_p95_latency_ms: float
    port: int
    health_path: str
    image: str
    env: tuple[tuple[str, str], ...]
    secrets: tuple[SecretSpec, ...]
    root_disk_gib: int
    health_grace_seconds: int
    monthly_cost_usd: float
    tags: CostTags
    public: bool
    image_kind: str
    machine_image: str            # AWS: AMI id or SSM parameter; GCP: image self-link/family
    azure_image: AzureImage | None
    azure_gpu_setup: AzureGpuSetup

    @property
    def has_gpu(self) -> bool:
        return self.accelerator is not None and self.accelerator_count > 0

    @property
    def is_spot(self) -> bool:
        return self.purchase is Purchase.SPOT

    @property
    def request_timeout_seconds(self) -> int:
        """Load balancer idle/request timeout: twice the latency SLO, at least a minute."""
        return int(min(3600, max(60, math.ceil(2 * self.slo_p95_latency_ms / 1000))))

    @property
    def target_rps_per_replica(self) -> float:
        return max(0.01, self.predicted_rps_per_replica * TARGET_UTILIZATION)

    def groups(self) -> tuple[GroupSpec, ...]:
        if not self.is_spot or self.on_demand_base == 0:
            return (GroupSpec(GroupRole.MAIN, self.purchase, self.min_replicas, self.max_replicas, self.replicas,
                              True),)
        base = self.on_demand_base
        return (
            GroupSpec(GroupRole.BASE, Purchase.ON_DEMAND, base, base, base, False),
            GroupSpec(GroupRole.MAIN, Purchase.SPOT, max(0, self.min_replicas - base), self.max_replicas - base,
                      max(0, self.replicas - base), True),
        )

    @classmethod
    def from_deployment(cls, d: Deployment, settings: StackSettings) -> FleetArgs:
        c = d.choice
        where = f"plan: deployment {d.name}"
        if not (1 <= d.port <= 65535):
            raise InputError(f"{where}: port {d.port} is not between 1 and 65535")
        if not d.health_path.startswith("/"):
            raise InputError(f"{where}: health_path {d.health_path!r} must start with '/'")
        if not (0 <= c.min_replicas <= c.replicas <= c.max_replicas) or c.max_replicas < 1:
            raise InputError(f"{where}: replicas must satisfy 0 ≤ min ({c.min_replicas}) ≤ replicas "
                             f"({c.replicas}) ≤ max ({c.max_replicas}) and max ≥ 1")
        if not (0 <= c.on_demand_base <= c.max_replicas):
            raise InputError(f"{where}: on_demand_base {c.on_demand_base} must be between 0 and max_replicas")
        for field_name, text in (("name", d.name), ("image", d.image), ("health_path", d.health_path),
                                 *((f"env.{k}", v) for k, v in d.env)):
            if "\x00" in text:
                raise InputError(f"{where}: {field_name} contains a NUL byte, which no shell or cloud API accepts")
        for key, _ in d.env:
            if not _ENV_NAME.match(key):
                raise InputError(f"{where}: environment variable name {key!r} must match [A-Za-z_][A-Za-z0-9_]*")
        env_names = {k for k, _ in d.env}
        secrets: list[SecretSpec] = []
        for s in d.secrets:
            env_var = secret_env_name(s)
            if env_var in env_names:
                raise InputError(f"{where}: secret {s!r} and env both define {env_var}")
            env_names.add(env_var)
            secrets.append(SecretSpec(name=s, env_var=env_var, has_value=s in settings.secret_values,
                                      ref=settings.secret_refs.get(s)))

        has_gpu = c.accelerator is not None and c.accelerator_count > 0
        guest = None
        azure_image = None
        azure_setup = AzureGpuSetup.NONE
        machine_image = ""
        if c.cloud is Cloud.AWS:
            kind = machines.aws_image_kind(c.instance_type, has_gpu)
            machine_image = settings.aws.ami_overrides.get(kind) or machines.AWS_AMI_PARAMETERS[kind]
            instance_types = machines.aws_equivalent_types(c.instance_type)
        elif c.cloud is Cloud.GCP:
            guest = machines.gcp_guest_accelerator(c.instance_type, c.guest_accelerator, c.accelerator_count)
            kind = machines.gcp_image_kind(c.instance_type, has_gpu)
            machine_image = settings.gcp.image_overrides.get(kind) or machines.GCP_IMAGES.get(kind, "")
            if not machine_image:
                raise InputError(f"{where}: no default GCP image for {kind}; set roost:gcp.imageOverrides.{kind}")
            instance_types = (c.instance_type,)
        else:
            azure_setup = machines.azure_gpu_setup(c.instance_type, has_gpu)
            kind = machines.azure_image_kind(c.instance_type, has_gpu)
            override = settings.azure.image_overrides.get(kind)
            azure_image = AzureImage.parse(override) if override else machines.AZURE_IMAGES[kind]
            instance_types = (c.instance_type,)

        grace = 300 if not has_gpu else min(3600, 600 + 5 * math.ceil(d.memory_gib))
        tags = CostTags(model=d.name, team=d.team, version=settings.plan_version, stack=settings.stack,
                        spot_policy=d.spot_policy.value)
        return cls(
            name=d.name, stack=settings.stack, cloud=c.cloud, region=c.region, instance_type=c.instance_type,
            instance_types=instance_types, arch=machines.arch_of(c.cloud, c.instance_type),
            accelerator=c.accelerator, accelerator_count=c.accelerator_count, guest_accelerator=guest,
            purchase=c.purchase, spot_policy=d.spot_policy, replicas=c.replicas, min_replicas=c.min_replicas,
            max_replicas=c.max_replicas, on_demand_base=c.on_demand_base if c.purchase is Purchase.SPOT else 0,
            predicted_rps_per_replica=c.predicted_rps_per_replica, slo_p95_latency_ms=d.slo_p95_latency_ms, port=d.port, health_path=d.health_path,
            image=d.image, env=d.env, secrets=tuple(secrets),
            root_disk_gib=machines.root_disk_gib(d.memory_gib, has_gpu), health_grace_seconds=grace,
            monthly_cost_usd=c.monthly_cost_usd, tags=tags, public=settings.public_endpoint, image_kind=kind,
            machine_image=machine_image, azure_image=azure_image, azure_gpu_setup=azure_setup,
        )
