"""The pure placement diff: change kinds, per-model and total cost deltas, stable JSON keys."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from placement.baseline import HeuristicPredictor
from placement.diff import CHANGE_KINDS, diff_plans
from placement.plan import DeploymentPlan
from placement.types import Purchase
from roost.workflows import recommend_fleet


@pytest.fixture
def plan(tmp_path, catalog, fleet_texts) -> DeploymentPlan:
    path = Path(tmp_path) / "fleet.yaml"
    path.write_text(fleet_texts[0])
    result = recommend_fleet(path, catalog, HeuristicPredictor())
    return DeploymentPlan.from_recommendation(result.fleet, result.recommendation)


def _with(plan: DeploymentPlan, name: str, *, choice=None, **deployment) -> DeploymentPlan:
    deployments = []
    for d in plan.deployments:
        if d.name == name:
            d = dataclasses.replace(d, **deployment)
            if choice:
                d = dataclasses.replace(d, choice=dataclasses.replace(d.choice, **choice))
        deployments.append(d)
    return dataclasses.replace(plan, deployments=tuple(deployments))


def test_identical_plans_have_no_changes_and_zero_delta(plan):
    d = diff_plans(plan, DeploymentPlan.from_dict(json.loads(plan.canonical_json())))
    assert d.is_empty
    assert {m.change for m in d.models} == {"unchanged"}
    assert d.monthly_cost_delta_usd == pytest.approx(0.0, abs=0.01)


@pytest.mark.parametrize("choice, deployment, kind, fields", [
    ({"region": "us-west-2"}, {}, "moved", {"region"}),
    ({"purchase": Purchase.SPOT}, {}, "moved", {"purchase"}),
    ({"replicas": 5, "max_replicas": 6}, {}, "resized", {"replicas", "max_replicas"}),
    ({}, {"image": "ghcr.io/acme/fraud-scorer:2.5.0"}, "reconfigured", {"image"}),
    ({"predicted_p95_latency_ms": 7.5}, {}, "repriced", {"predicted_p95_latency_ms"}),
    # A move wins over a resize in the headline, and both are listed.
    ({"region": "us-west-2", "replicas": 4}, {}, "moved", {"region", "replicas"}),
])
def test_change_kind_and_changed_fields(plan, choice, deployment, kind, fields):
    after = _with(plan, "fraud-scorer", choice=choice, **deployment)
    m = diff_plans(plan, after).model("fraud-scorer")
    assert m.change == kind
    assert {f.field for f in m.fields} == fields
    assert diff_plans(plan, after).model("ticket-intent").change == "unchanged"


def test_cost_delta_per_model_and_total(plan):
    before = plan.deployment("fraud-scorer").choice
    after = _with(plan, "fraud-scorer", choice={"replicas": before.replicas * 2,
                                                 "hourly_cost_usd": before.hourly_cost_usd * 2})
    d = diff_plans(plan, after)
    m = d.model("fraud-scorer")
    assert m.monthly_cost_delta_usd == pytest.approx(before.monthly_cost_usd, rel=1e-6)
    assert d.monthly_cost_delta_usd == pytest.approx(m.monthly_cost_delta_usd)
    assert d.monthly_cost_after_usd == pytest.approx(after.monthly_cost_usd)


def test_added_and_removed_models(plan):
    only_fraud = dataclasses.replace(plan, deployments=plan.deployments[:1])
    grown = diff_plans(only_fraud, plan)
    shrunk = diff_plans(plan, only_fraud)
    assert grown.model("ticket-intent").change == "added"
    assert shrunk.model("ticket-intent").change == "removed"
    assert shrunk.model("ticket-intent").after is None
    ticket_cost = plan.deployment("ticket-intent").choice.monthly_cost_usd
    assert grown.monthly_cost_delta_usd == pytest.approx(ticket_cost)
    assert shrunk.monthly_cost_delta_usd == pytest.approx(-ticket_cost)
    # Removed models come after the new plan's models.
    assert [m.model for m in shrunk.models] == ["fraud-scorer", "ticket-intent"]
    assert diff_plans(None, plan).counts()["added"] == 2


def test_json_contract(plan):
    after = _with(plan, "fraud-scorer", choice={"region": "us-west-2"})
    data = json.loads(json.dumps(diff_plans(plan, after, before_label="v1", after_label="v2").to_dict()))
    assert {"from", "to", "models", "summary", "models_changed", "monthly_cost_before_usd",
            "monthly_cost_after_usd", "monthly_cost_delta_usd"} <= set(data)
    assert (data["from"], data["to"], data["models_changed"]) == ("v1", "v2", 1)
    assert set(data["summary"]) == set(CHANGE_KINDS)
    moved = data["models"][0]
    assert {"model", "team", "change", "changed_fields", "changes", "from", "to", "monthly_cost_before_usd",
            "monthly_cost_after_usd", "monthly_cost_delta_usd"} <= set(moved)
    assert moved["changes"]["region"]["to"] == "us-west-2"
    assert moved["from"]["region"] != moved["to"]["region"]
