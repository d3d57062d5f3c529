from __future__ import annotations

import json
from dataclasses import replace
from types import SimpleNamespace

import pytest

from placement.plan import Deployment, DeploymentPlan
from placement.types import HOURS_PER_MONTH, Choice, Cloud, Purchase, SpotPolicy

from testdata import HF_TOKEN, SSH_KEY


def make_deployment(name: str = "model-a", *, cloud: Cloud = Cloud.AWS, region: str = "us-east-1",
                    instance_type: str = "c7g.large", accelerator: str | None = None, accelerator_count: float = 0,
                    guest_accelerator: str | None = None, purchase: Purchase = Purchase.ON_DEMAND,
                    spot_policy: SpotPolicy = SpotPolicy.NEVER, replicas: int = 2, min_replicas: int = 2,
                    max_replicas: int = 4, on_demand_base: int = 0, rps: float = 100.0, team: str | None = "ml",
                    image: str = "ghcr.io/acme/model:1.0", env: tuple[tuple[str, str], ...] = (),
                    secrets: tuple[str, ...] = (), memory_gib: float = 4.0, port: int = 8080,
                    monthly_cost_usd: float = HOURS_PER_MONTH) -> Deployment:
    choice = Choice(cloud=cloud, region=region, instance_type=instance_type, accelerator=accelerator,
                    accelerator_count=accelerator_count, purchase=purchase, replicas=replicas,
                    min_replicas=min_replicas, max_replicas=max_replicas, predicted_rps_per_replica=rps,
                    predicted_p95_latency_ms=50.0, hourly_cost_usd=monthly_cost_usd / HOURS_PER_MONTH,
                    on_demand_base=on_demand_base, guest_accelerator=guest_accelerator)
    return Deployment(name=name, team=team, task="text-classification", framework="pytorch", image=image,
                      port=port, health_path="/health", env=env, secrets=secrets, spot_policy=spot_policy,
                      memory_gib=memory_gib, params_millions=100.0, precision="fp16", slo_p95_latency_ms=100.0,
                      peak_rps=200.0, choice=choice)


def make_plan(*deployments: Deployment) -> DeploymentPlan:
    # The program re-checks every plan against the catalog it names: the bundled one here.
    from placement.catalog import load_catalog

    return DeploymentPlan(catalog_version=load_catalog().version, model_version=None, fleet_sha256="0" * 64,
                          deployments=tuple(deployments))


def stack_config(plan: DeploymentPlan, **extra: object) -> dict[str, str]:
    """Runtime config as the engine hands it to the program: objects as JSON strings."""
    config = {"roost:plan": json.dumps(plan.to_dict()),
              "roost:gcp": json.dumps({"project": "acme-ml"}),
              "roost:azure": json.dumps({"adminSshPublicKey": SSH_KEY})}
    for key, value in extra.items():
        config[f"roost:{key}"] = value if isinstance(value, str) else json.dumps(value)
    return config


def run_program(plan: DeploymentPlan, stack: str = "test", secret_keys: tuple[str, ...] = (), **extra: object):
    from stacks.offline import run_offline
    from stacks.program import run

    return run_offline(run, project="roost", stack=stack, config=stack_config(plan, **extra),
                       secret_keys=list(secret_keys))


def of_type(result, type_token: str) -> list:
    return [r for r in result.resources if r.type == type_token]


def one(result, type_token: str, name_part: str = ""):
    exact = [r for r in of_type(result, type_token) if r.name == name_part]
    found = exact or [r for r in of_type(result, type_token) if name_part in r.name]
    assert len(found) == 1, f"expected one {type_token} matching {name_part!r}, got {[r.name for r in found]}"
    return found[0]


@pytest.fixture(scope="session")
def kit() -> SimpleNamespace:
    """Builders and finders shared by the stacks tests (test modules cannot import conftest)."""
    return SimpleNamespace(deployment=make_deployment, plan=make_plan, run=run_program, config=stack_config,
                           one=one, of_type=of_type, replace=replace, HF_TOKEN=HF_TOKEN, SSH_KEY=SSH_KEY)
