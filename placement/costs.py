"""Cost summaries of a set of placements: per model, team and cloud, and spot savings.

Pure arithmetic over ``Deployment``s, shared by `roost plan`, the version store, cost
reports and the CI gate so that every surface shows the same figures.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from placement.plan import Deployment
from placement.types import Offering, Purchase

# The team of a model whose fleet entry names none: in cost summaries, budgets and the roost-team tag
# alike (a valid tag/label value on every cloud), so a budget for it matches what is tagged.
UNASSIGNED_TEAM = "unassigned"


@dataclass(frozen=True, kw_only=True)
class CostSummary:
    monthly_cost_usd: float
    on_demand_equivalent_monthly_usd: float
    by_model: dict[str, float]
    by_team: dict[str, float]
    by_cloud: dict[str, float]

    @property
    def spot_savings_monthly_usd(self) -> float:
        return max(0.0, self.on_demand_equivalent_monthly_usd - self.monthly_cost_usd)

    def to_dict(self) -> dict:
        return {
            "monthly_cost_usd": round(self.monthly_cost_usd, 2),
            "on_demand_equivalent_monthly_usd": round(self.on_demand_equivalent_monthly_usd, 2),
            "spot_savings_monthly_usd": round(self.spot_savings_monthly_usd, 2),
            "by_model": {k: round(v, 2) for k, v in self.by_model.items()},
            "by_team": {k: round(v, 2) for k, v in self.by_team.items()},
            "by_cloud": {k: round(v, 2) for k, v in self.by_cloud.items()},
        }


def summarize(deployments: Iterable[Deployment]) -> CostSummary:
    by_model: dict[str, float] = {}
    by_team: dict[str, float] = defaultdict(float)
    by_cloud: dict[str, float] = defaultdict(float)
    total = on_demand = 0.0
    for d in deployments:
        cost = d.choice.monthly_cost_usd
        total += cost
        on_demand += cost + d.choice.spot_savings_monthly_usd
        by_model[d.name] = cost
        by_team[d.team or UNASSIGNED_TEAM] += cost
        by_cloud[d.choice.cloud.value] += cost
    return CostSummary(monthly_cost_usd=total, on_demand_equivalent_monthly_usd=on_demand,
                       by_model=dict(sorted(by_model.items())), by_team=dict(sorted(by_team.items())),
                       by_cloud=dict(sorted(by_cloud.items())))


def fleet_hourly_cost(offering: Offering, purchase: Purchase, replicas: int, on_demand_base: int,
                      ) -> tuple[float, float]:
    """(what the replicas cost per hour as bought, what they would cost all on-demand).

    The one cost formula: the recommender prices choices with it and a committed plan's costs
    are recomputed with it (placement.plancheck), so a hand-edited cost is never believed."""
    on_demand = replicas * offering.price_hour_usd
    if purchase is not Purchase.SPOT:
        return on_demand, on_demand
    spot_price = offering.spot_price_hour_usd or offering.price_hour_usd
    return on_demand_base * offering.price_hour_usd + (replicas - on_demand_base) * spot_price, on_demand
