"""Pure metrics of an evaluation: cost regret against an oracle, SLO misses, failures.

The composition (held-out profiles, the simulator's ground truth, the predictors) lives in
``roost.evaluation``; this module only turns per-model outcomes into the reported figures.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Outcome:
    """How one method's placement of one model turned out against the ground truth."""

    model: str
    placed: bool
    monthly_cost_usd: float = math.nan
    oracle_monthly_cost_usd: float = math.nan  # NaN when nothing truly meets the SLO
    missed_slo: bool = False                   # true capacity × replicas short of peak, or p95 > SLO
    failure_probability: float = 0.0           # OOM / cannot run (1), else capacity shortage risk

    @property
    def regret(self) -> float:
        if not self.placed or not math.isfinite(self.oracle_monthly_cost_usd) or self.oracle_monthly_cost_usd <= 0:
            return math.nan
        return self.monthly_cost_usd / self.oracle_monthly_cost_usd - 1.0


@dataclass(frozen=True)
class Summary:
    method: str
    models: int
    placed: int
    median_regret: float
    p90_regret: float
    mean_regret: float
    slo_miss_rate: float
    failure_rate: float
    monthly_cost_usd: float          # over the models every method placed
    cost_vs_reference: float | None  # monthly cost / the reference method's − 1
    median_cost_vs_reference: float | None = None  # median over models of cost / reference's − 1

    def to_dict(self) -> dict:
        def r(x: float | None, nd: int = 4) -> float | None:
            return None if x is None or not math.isfinite(x) else round(x, nd)
        return {
            "method": self.method, "models": self.models, "placed": self.placed,
            "median_regret": r(self.median_regret), "p90_regret": r(self.p90_regret),
            "mean_regret": r(self.mean_regret), "slo_miss_rate": r(self.slo_miss_rate),
            "failure_rate": r(self.failure_rate), "monthly_cost_usd": r(self.monthly_cost_usd, 2),
            "cost_vs_reference": r(self.cost_vs_reference),
            "median_cost_vs_reference": r(self.median_cost_vs_reference),
        }


def summarize(method: str, outcomes: Sequence[Outcome], common: set[str],
              reference_cost: float | None = None, reference_costs: Mapping[str, float] | None = None) -> Summary:
    """Figures for one method. Regret counts models the method and the oracle both placed;
    miss and failure rates count every placed model; costs compare over ``common`` models
    (in total, where a few large models dominate, and as the median per-model ratio)."""
    placed = [o for o in outcomes if o.placed]
    ratios = [o.monthly_cost_usd / reference_costs[o.model] - 1.0 for o in placed
              if reference_costs and o.model in common and reference_costs.get(o.model, 0) > 0]
    regrets = np.array([o.regret for o in placed if math.isfinite(o.regret)])
    cost = float(sum(o.monthly_cost_usd for o in placed if o.model in common))
    return Summary(
        method=method,
        models=len(outcomes),
        placed=len(placed),
        median_regret=float(np.median(regrets)) if len(regrets) else math.nan,
        p90_regret=float(np.percentile(regrets, 90)) if len(regrets) else math.nan,
        mean_regret=float(np.mean(regrets)) if len(regrets) else math.nan,
        slo_miss_rate=float(np.mean([o.missed_slo for o in placed])) if placed else math.nan,
        failure_rate=float(np.mean([o.failure_probability for o in placed])) if placed else math.nan,
        monthly_cost_usd=cost,
        cost_vs_reference=None if not reference_cost else cost / reference_cost - 1.0,
        median_cost_vs_reference=float(np.median(ratios)) if ratios else None,
    )
