"""Turn a per-replica prediction into a sized, priced fleet: replicas, bounds and cost.

Pure arithmetic, shared by every predictor so that baseline and learned recommendations
differ only in what they predict.
"""
from __future__ import annotations

import math

from placement.costs import fleet_hourly_cost
from placement.predictor import Prediction
from placement.types import Choice, ModelSpec, Offering, Purchase, SpotPolicy

# Extra spot capacity, by AWS Spot Advisor interruption bucket, so that losing the
# interrupted share of replicas for the few minutes a replacement takes keeps the SLO.
SPOT_HEADROOM_BY_BUCKET = {"<5%": 0.10, "5-10%": 0.15, "10-15%": 0.20, "15-20%": 0.25, ">20%": 0.30}
SPOT_HEADROOM_UNKNOWN = 0.20
# Interruption rate per month assumed for each bucket (its midpoint) and for clouds that
# publish none; used by simulation and by risk scoring.
INTERRUPTION_RATE_BY_BUCKET = {"<5%": 0.025, "5-10%": 0.075, "10-15%": 0.125, "15-20%": 0.175, ">20%": 0.25}
INTERRUPTION_RATE_UNKNOWN = 0.15
AUTOSCALE_MAX_FACTOR = 1.5


def spot_headroom(offering: Offering) -> float:
    return SPOT_HEADROOM_BY_BUCKET.get(offering.spot_interruption_bucket or "", SPOT_HEADROOM_UNKNOWN)


def replicas_for_peak(peak_rps: float, rps_per_replica: float) -> int:
    if rps_per_replica <= 0:
        raise ValueError("rps_per_replica must be > 0")
    # Tiny epsilon: 10 rps on 2.0 rps/replica is 5 replicas, not 6 from float noise.
    return max(1, math.ceil(peak_rps / rps_per_replica - 1e-9))


def size_choice(spec: ModelSpec, offering: Offering, purchase: Purchase, prediction: Prediction,
                *, throughput_margin: float = 1.0) -> Choice:
    """Replicas for peak load (with spot headroom), autoscaling bounds and hourly cost.

    The caller has checked that ``prediction.rps_per_replica > 0``.
    """
    capacity = prediction.rps_per_replica * throughput_margin
    needed = replicas_for_peak(spec.load.peak_rps, capacity)
    if purchase is Purchase.SPOT:
        needed = max(needed + 1, math.ceil(needed * (1 + spot_headroom(offering))))
    replicas = max(spec.min_replicas, needed)
    floor = spec.min_replicas
    if spec.load.mean_rps:
        floor = max(floor, replicas_for_peak(spec.load.mean_rps, capacity))
    min_replicas = min(replicas, floor)
    max_replicas = spec.max_replicas if spec.max_replicas is not None else \
        max(replicas, math.ceil(replicas * AUTOSCALE_MAX_FACTOR))
    on_demand_base = 0
    if purchase is Purchase.SPOT and spec.spot is SpotPolicy.ALLOW:
        # Keep half the floor on-demand: a spot reclaim wave then degrades, never stops, serving.
        on_demand_base = max(1, math.ceil(min_replicas / 2))
    hourly, on_demand_hourly = fleet_hourly_cost(offering, purchase, replicas, on_demand_base)
    return Choice(
        cloud=offering.cloud,
        region=offering.region,
        instance_type=offering.instance_type,
        accelerator=offering.accelerator,
        accelerator_count=offering.accelerator_count,
        guest_accelerator=offering.guest_accelerator,
        purchase=purchase,
        replicas=replicas,
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        on_demand_base=on_demand_base,
        predicted_rps_per_replica=capacity,
        predicted_p95_latency_ms=prediction.p95_latency_ms,
        success_probability=prediction.success_probability,
        hourly_cost_usd=hourly,
        on_demand_hourly_cost_usd=on_demand_hourly,
    )

