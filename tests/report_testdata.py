"""Hand-built plans and a tiny catalog whose figures are worked out by hand in the report tests."""
from __future__ import annotations

from placement.catalog import Catalog
from placement.plan import Deployment, DeploymentPlan
from placement.types import Choice, Cloud, Offering, Purchase, SpotPolicy

M5 = Offering(cloud=Cloud.AWS, region="us-east-1", instance_type="m5.large", family="m5", vcpus=2, memory_gib=8,
              arch="x86_64", price_hour_usd=0.096, spot_price_hour_usd=0.04)
G5 = Offering(cloud=Cloud.AWS, region="us-east-1", instance_type="g5.xlarge", family="g5", vcpus=4, memory_gib=16,
              arch="x86_64", price_hour_usd=1.006, spot_price_hour_usd=0.4, accelerator="A10G",
              accelerator_count=1, accelerator_memory_gib=24)
E2 = Offering(cloud=Cloud.GCP, region="us-central1", instance_type="e2-standard-2", family="e2", vcpus=2,
              memory_gib=8, arch="x86_64", price_hour_usd=0.067, spot_price_hour_usd=0.02)
CATALOG = Catalog(version="test-2026.01", offerings=(M5, G5, E2), gpus={}, source="test")


def choice(o: Offering, replicas: int, purchase: Purchase = Purchase.ON_DEMAND, base: int = 0,
           rps: float = 100.0) -> Choice:
    if purchase is Purchase.SPOT:
        hourly = base * o.price_hour_usd + (replicas - base) * o.spot_price_hour_usd
    else:
        hourly = replicas * o.price_hour_usd
    return Choice(cloud=o.cloud, region=o.region, instance_type=o.instance_type, accelerator=o.accelerator,
                  accelerator_count=o.accelerator_count, purchase=purchase, replicas=replicas,
                  min_replicas=min(2, replicas), max_replicas=replicas + 2, predicted_rps_per_replica=rps,
                  predicted_p95_latency_ms=40.0, hourly_cost_usd=hourly, on_demand_base=base,
                  success_probability=0.97, on_demand_hourly_cost_usd=replicas * o.price_hour_usd)


def deployment(name: str, team: str | None, c: Choice, *, peak_rps: float = 150.0,
               env: tuple[tuple[str, str], ...] = (), secrets: tuple[str, ...] = ()) -> Deployment:
    return Deployment(name=name, team=team, task="text-classification", framework="pytorch",
                      image=f"ghcr.io/acme/{name}:1.0", port=8080, health_path="/health", env=env, secrets=secrets,
                      spot_policy=SpotPolicy.ALLOW, memory_gib=2.0, params_millions=110.0, precision="fp16",
                      slo_p95_latency_ms=100.0, peak_rps=peak_rps, choice=c)


def plan(*deployments: Deployment) -> DeploymentPlan:
    return DeploymentPlan(catalog_version=CATALOG.version, model_version=None, fleet_sha256="0" * 64,
                          deployments=tuple(deployments))


# v1: a 2×m5 on demand ($140.16), b 4×g5 spot with 1 on-demand base ($1,610.38), d 1×m5 ($70.08)
# v2: a grows to 3×m5 ($210.24), b unchanged, c added 1×m5 ($70.08), d removed
V1 = plan(deployment("a", "risk", choice(M5, 2)),
          deployment("b", "nlp", choice(G5, 4, Purchase.SPOT, base=1), env=(("MODE", "fast"),)),
          deployment("d", "ops", choice(M5, 1)))
V2 = plan(deployment("a", "risk", choice(M5, 3), peak_rps=250.0),
          deployment("b", "nlp", choice(G5, 4, Purchase.SPOT, base=1), env=(("MODE", "fast"),)),
          deployment("c", "nlp", choice(M5, 1)))


ENV_SECRET = "s3cr3t-env-value-7731"


def big_plan(n: int) -> DeploymentPlan:
    """``n`` models over 40 teams, mixing the three offerings, spot and on demand."""
    offerings = (M5, G5, E2)
    out = []
    for i in range(n):
        o = offerings[i % 3]
        spot = i % 2 == 0
        c = choice(o, 2 + i % 5, Purchase.SPOT if spot else Purchase.ON_DEMAND, base=1 if spot else 0)
        out.append(deployment(f"model-{i:04d}", f"team-{i % 40:02d}", c))
    return plan(*out)
