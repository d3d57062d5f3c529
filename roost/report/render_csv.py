"""CSV: one row per model of the reported version. Column names are a public contract."""
from __future__ import annotations

import csv
import io

from roost.report.figures import Report

COLUMNS = (
    "model", "team", "cloud", "region", "instance_type", "accelerator", "accelerator_count", "purchase",
    "replicas", "min_replicas", "max_replicas", "on_demand_replicas", "spot_replicas",
    "hourly_cost_usd", "monthly_cost_usd", "on_demand_monthly_cost_usd", "spot_monthly_cost_usd",
    "all_on_demand_monthly_cost_usd", "spot_savings_monthly_usd",
    "previous_monthly_cost_usd", "delta_monthly_cost_usd", "change",
    "peak_rps", "predicted_rps_per_replica", "utilization_at_peak", "predicted_p95_latency_ms",
    "slo_p95_latency_ms", "success_probability", "confidence",
    "budget_monthly_usd", "budget_status",
    "observed_monthly_cost_usd", "forecast_error_pct",
    "runner_up", "runner_up_delta_monthly_usd",
    "catalog_version", "stack", "version", "compared_version",
)


def _safe(value: object) -> object:
    """Text a spreadsheet would run as a formula gets a leading quote (numbers stay numbers)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def render_csv(r: Report) -> str:
    actual = {a.model: a for a in r.actuals.models}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for m in r.models:
        first = next((a for a in m.runners_up if a.feasible), None)
        seen = actual.get(m.name)
        row = {**{k: v for k, v in m.to_dict().items() if k in COLUMNS}, "model": m.name,
               "observed_monthly_cost_usd": seen.observed_monthly_cost_usd if seen else None,
               "forecast_error_pct": seen.error_pct if seen else None,
               "runner_up": f"{first.cloud}/{first.region} {first.instance_type} {first.purchase}" if first else None,
               "runner_up_delta_monthly_usd": first.delta_monthly_cost_usd if first else None,
               "catalog_version": r.assumptions.catalog_version, "stack": r.stack, "version": r.version,
               "compared_version": r.compared_version}
        writer.writerow([_safe(row.get(c)) for c in COLUMNS])
    return out.getvalue()
