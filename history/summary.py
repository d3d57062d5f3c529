"""Summary statistics of a deployment log, for people deciding whether to trust it."""
from __future__ import annotations

import numpy as np
import pandas as pd

from placement.types import HOURS_PER_MONTH

PROFILE_KEY = ("task", "framework", "params_millions", "precision", "memory_gib", "input_tokens",
               "output_tokens", "slo_p95_latency_ms")


def summarize(frame: pd.DataFrame) -> dict:
    """Rows, profiles, time span, outcome/cloud/purchase/accelerator mix, utilisation, cost."""
    n = len(frame)
    if n == 0:
        return {"rows": 0}

    def shares(column: str, top: int | None = None) -> dict[str, float]:
        counts = frame[column].fillna("(none)").astype(str).value_counts(normalize=True)
        if top:
            counts = counts.head(top)
        return {k: round(float(v), 4) for k, v in counts.items()}

    observed = pd.to_datetime(frame["observed_at"], utc=True, errors="coerce")
    profiles = frame[[c for c in PROFILE_KEY if c in frame.columns]].astype(str).drop_duplicates()
    serving = frame["outcome"].isin(["ok", "slo_violation", "interrupted"])
    gpu_util = pd.to_numeric(frame.loc[serving, "gpu_utilization"], errors="coerce").dropna()
    spot = frame["purchase"] == "spot"
    instance_months = (frame.loc[spot, "replicas"] * frame.loc[spot, "hours"]).sum() / HOURS_PER_MONTH
    return {
        "rows": n,
        "profiles": int(len(profiles)),
        "first_observed": None if observed.isna().all() else observed.min().isoformat(),
        "last_observed": None if observed.isna().all() else observed.max().isoformat(),
        "outcomes": shares("outcome"),
        "tasks": shares("task"),
        "clouds": shares("cloud"),
        "purchase": shares("purchase"),
        "accelerators": shares("accelerator", top=8),
        "slo_met_share": round(float(frame["slo_met"].astype(bool).mean()), 4),
        "median_gpu_utilization": None if gpu_util.empty else round(float(np.median(gpu_util)), 4),
        "spot_interruptions_per_instance_month": None if instance_months <= 0
        else round(float(frame.loc[spot, "interruptions"].sum() / instance_months), 4),
        "total_cost_usd": round(float(pd.to_numeric(frame["cost_usd"], errors="coerce").sum()), 2),
        "total_hours": round(float(pd.to_numeric(frame["hours"], errors="coerce").sum()), 2),
    }
