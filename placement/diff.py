"""What changes between two committed plans, model by model, and what it costs.

Pure data: ``roost plan``, ``diff`` and ``rollback`` print it, and cost reports and the CI
gate reuse it. ``PlanDiff.to_dict()`` keys are a public JSON contract: add keys, never rename them.

A model's change is the most disruptive of what happened to it:

    added         in the new plan only
    removed       in the old plan only
    moved         cloud, region, instance type, purchase option or GPUs changed: new machines
    resized       only replica counts or autoscaling bounds changed
    reconfigured  only serving settings changed (image, port, health path, env, secret names,
                  spot policy, team): machines are rolled, placement stays
    repriced      only prices or predictions changed (catalog refresh, discount, predictor)
    unchanged     nothing at all

Fields are compared on their committed form (``Deployment.to_dict()``), the same form
``DeploymentPlan.decisions_sha256`` hashes, so "unchanged" here means "same hash input".
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from placement.plan import Deployment, DeploymentPlan

MOVE_FIELDS = ("cloud", "region", "instance_type", "purchase", "accelerator", "accelerator_count",
               "guest_accelerator")
SIZE_FIELDS = ("replicas", "min_replicas", "max_replicas", "on_demand_base")
SERVING_FIELDS = ("image", "port", "health_path", "env", "secrets", "spot_policy", "team", "task", "framework",
                  "precision", "memory_gib", "params_millions", "slo_p95_latency_ms", "peak_rps")
ESTIMATE_FIELDS = ("hourly_cost_usd", "on_demand_hourly_cost_usd", "predicted_rps_per_replica",
                   "predicted_p95_latency_ms", "success_probability")

CHANGE_KINDS = ("added", "removed", "moved", "resized", "reconfigured", "repriced", "unchanged")

# Shown in the "from"/"to" snapshot of each model: enough to read a move without the full plan.
SNAPSHOT_FIELDS = ("cloud", "region", "instance_type", "purchase", "accelerator", "accelerator_count",
                   "replicas", "min_replicas", "max_replicas", "monthly_cost_usd")


@dataclass(frozen=True, kw_only=True)
class FieldChange:
    field: str
    before: Any
    after: Any

    def to_dict(self) -> dict:
        return {"from": self.before, "to": self.after}


@dataclass(frozen=True, kw_only=True)
class ModelDiff:
    model: str
    team: str | None
    change: str
    fields: tuple[FieldChange, ...]
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    monthly_cost_before_usd: float
    monthly_cost_after_usd: float

    @property
    def monthly_cost_delta_usd(self) -> float:
        return self.monthly_cost_after_usd - self.monthly_cost_before_usd

    @property
    def changed(self) -> bool:
        return self.change != "unchanged"

    def field(self, name: str) -> FieldChange | None:
        return next((f for f in self.fields if f.field == name), None)

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "team": self.team,
            "change": self.change,
            "changed_fields": [f.field for f in self.fields],
            "changes": {f.field: f.to_dict() for f in self.fields},
            "from": None if self.before is None else dict(self.before),
            "to": None if self.after is None else dict(self.after),
            "monthly_cost_before_usd": round(self.monthly_cost_before_usd, 2),
            "monthly_cost_after_usd": round(self.monthly_cost_after_usd, 2),
            "monthly_cost_delta_usd": round(self.monthly_cost_delta_usd, 2),
        }


@dataclass(frozen=True, kw_only=True)
class PlanDiff:
    before_label: str
    after_label: str
    models: tuple[ModelDiff, ...]

    @property
    def monthly_cost_before_usd(self) -> float:
        return sum(m.monthly_cost_before_usd for m in self.models)

    @property
    def monthly_cost_after_usd(self) -> float:
        return sum(m.monthly_cost_after_usd for m in self.models)

    @property
    def monthly_cost_delta_usd(self) -> float:
        return self.monthly_cost_after_usd - self.monthly_cost_before_usd

    @property
    def changed(self) -> tuple[ModelDiff, ...]:
        return tuple(m for m in self.models if m.changed)

    @property
    def is_empty(self) -> bool:
        return not self.changed

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(CHANGE_KINDS, 0)
        for m in self.models:
            out[m.change] += 1
        return out

    def model(self, name: str) -> ModelDiff:
        for m in self.models:
            if m.model == name:
                return m
        raise KeyError(name)

    def to_dict(self) -> dict:
        return {
            "from": self.before_label,
            "to": self.after_label,
            "models": [m.to_dict() for m in self.models],
            "summary": self.counts(),
            "models_changed": len(self.changed),
            "monthly_cost_before_usd": round(self.monthly_cost_before_usd, 2),
            "monthly_cost_after_usd": round(self.monthly_cost_after_usd, 2),
            "monthly_cost_delta_usd": round(self.monthly_cost_delta_usd, 2),
        }


def diff_plans(before: DeploymentPlan | None, after: DeploymentPlan | None, *,
               before_label: str = "before", after_label: str = "after") -> PlanDiff:
    """Per-model differences from ``before`` to ``after`` (either may be None: nothing deployed).

    Models come in ``after``'s order, then the removed ones in ``before``'s order.
    """
    old = {d.name: d for d in (before.deployments if before else ())}
    new = {d.name: d for d in (after.deployments if after else ())}
    models = [_model_diff(old.get(name), d) for name, d in new.items()]
    models += [_model_diff(d, None) for name, d in old.items() if name not in new]
    return PlanDiff(before_label=before_label, after_label=after_label, models=tuple(models))


def _flat(d: Deployment) -> dict[str, Any]:
    data = d.to_dict()
    placement = data.pop("placement")
    placement.pop("monthly_cost_usd", None)  # derived from hourly_cost_usd
    return {**data, **placement}


def _snapshot(d: Deployment) -> dict[str, Any]:
    flat = {**_flat(d), "monthly_cost_usd": round(d.choice.monthly_cost_usd, 2)}
    return {k: flat[k] for k in SNAPSHOT_FIELDS}


def _model_diff(before: Deployment | None, after: Deployment | None) -> ModelDiff:
    some = after or before
    assert some is not None
    cost_before = before.choice.monthly_cost_usd if before else 0.0
    cost_after = after.choice.monthly_cost_usd if after else 0.0
    common = dict(model=some.name, team=some.team, before=_snapshot(before) if before else None,
                  after=_snapshot(after) if after else None,
                  monthly_cost_before_usd=cost_before, monthly_cost_after_usd=cost_after)
    if before is None or after is None:
        return ModelDiff(change="added" if before is None else "removed", fields=(), **common)
    old, new = _flat(before), _flat(after)
    ordered = (*MOVE_FIELDS, *SIZE_FIELDS, *SERVING_FIELDS, *ESTIMATE_FIELDS)
    rest = sorted((set(old) | set(new)) - set(ordered) - {"name"})
    fields = tuple(FieldChange(field=k, before=old.get(k), after=new.get(k))
                   for k in (*ordered, *rest) if old.get(k) != new.get(k))
    names = {f.field for f in fields}
    if names & set(MOVE_FIELDS):
        change = "moved"
    elif names & set(SIZE_FIELDS):
        change = "resized"
    elif names & (set(SERVING_FIELDS) | set(rest)):
        change = "reconfigured"
    elif names:
        change = "repriced"
    else:
        change = "unchanged"
    return ModelDiff(change=change, fields=fields, **common)
