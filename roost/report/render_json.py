"""JSON for tools. Keys are a public contract: add keys, never rename them."""
from __future__ import annotations

import json

from roost.report.figures import Report

REPORT_SCHEMA_VERSION = 1


def report_dict(r: Report) -> dict:
    s = r.spot
    return {
        "report_schema_version": REPORT_SCHEMA_VERSION,
        "stack": r.stack,
        "version": r.version,
        "reason": r.reason,
        "created_at": r.created_at,
        "author": r.author,
        "applied": r.applied,
        "compared_version": r.compared_version,
        "model_version": r.model_version,
        "total_monthly_cost_usd": r.total_monthly_cost_usd,
        "previous_total_monthly_cost_usd": r.previous_total_monthly_cost_usd,
        "delta_monthly_cost_usd": r.delta_monthly_cost_usd,
        "delta_pct": r.delta_pct,
        "on_demand_monthly_cost_usd": s.on_demand_monthly_cost_usd,
        "spot_monthly_cost_usd": s.spot_monthly_cost_usd,
        "all_on_demand_monthly_cost_usd": s.all_on_demand_monthly_cost_usd,
        "spot_savings_monthly_usd": s.spot_savings_monthly_usd,
        "spot": s.to_dict(),
        "budget": {"stack_monthly_usd": r.stack_budget_monthly_usd, "stack_status": r.stack_budget_status,
                   "counts": r.budget_counts()},
        "models": [m.to_dict() for m in r.models],
        "teams": [t.to_dict() for t in r.teams],
        "clouds": [c.to_dict() for c in r.clouds],
        "regions": [g.to_dict() for g in r.regions],
        "change": r.change.to_dict(),
        "versions": [v.to_dict() for v in r.versions],
        "actual_vs_predicted": r.actuals.to_dict(),
        "assumptions": r.assumptions.to_dict(),
    }


def render_json(r: Report) -> str:
    return json.dumps(report_dict(r), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
