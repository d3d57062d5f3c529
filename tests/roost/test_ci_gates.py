"""The pure gates of `roost ci` (roost/gate/checks.py) and the Markdown renderer, without files."""
from __future__ import annotations

import dataclasses
import math

import pytest

from placement.diff import diff_plans
from placement.plan import DeploymentPlan
from placement.types import Fleet
from roost.gate import checks
from roost.gate.markdown import render
from roost.report.figures import CostChange, cost_change, pct
from stacks.policy.rules import Violation


def score(version: str, miss: float, failure: float = 0.01, regret: float = 0.1, placed: int = 60) -> checks.ModelScore:
    return checks.ModelScore(version=version, created_at=None, slo_miss_rate=miss, failure_rate=failure,
                             median_regret=regret, placed=placed, models=60)


@pytest.mark.parametrize("candidate, worse", [
    (score("new", 0.05), []),
    (score("new", 0.05 + 1 / 60), []),                   # one more miss in 60: within the tolerance
    (score("new", 0.10), ["SLO miss rate 10.0% vs 5.0%"]),
    (score("new", 0.05, failure=0.05), ["failure rate 5.0% vs 1.0%"]),
    (score("new", 0.05, regret=0.20), ["median cost regret 20.0% vs 10.0%"]),
    (score("new", 0.05, placed=58), ["placed 58/60 held-out models vs 60"]),
    (score("new", math.nan, regret=math.nan, placed=0),
     ["SLO miss rate not measurable (placed 0/60)", "median cost regret not measurable (placed 0/60)",
      "placed 0/60 held-out models vs 60"]),
    (score("new", 0.01, regret=0.05), []),               # better everywhere
])
def test_regressions_beyond_the_tolerances_only(candidate, worse):
    assert checks.regressions(score("old", 0.05), candidate) == worse


def test_quality_gate_fails_naming_both_models_and_the_figures():
    evidence = checks.QualityEvidence(committed_model="old", default_model="new", committed=score("old", 0.05),
                                      candidate=score("new", 0.10), held_out={"profiles": 60, "seed": 1})
    gate = checks.quality_gate(evidence)
    assert gate.failed and gate.findings[0].subject == "model:new"
    assert "new evaluates worse than old" in gate.summary and "10.0% vs 5.0%" in gate.summary
    assert checks.quality_gate(dataclasses.replace(evidence, candidate=score("new", 0.04))).status == checks.PASS
    skipped = checks.quality_gate(checks.QualityEvidence(committed_model=None, default_model="x", skipped="why"))
    assert skipped.status == checks.SKIPPED and skipped.summary == "why"


@pytest.mark.parametrize("before, after, max_usd, max_pct, status", [
    (1000, 1100, 200, None, "pass"),
    (1000, 1300, 200, None, "fail"),
    (1000, 1100, None, 10, "pass"),
    (1000, 1100.5, None, 10, "fail"),
    (1000, 500, 0, None, "pass"),           # a saving never fails an increase limit
    (0, 100, None, 50, "fail"),             # from nothing, any cost is an unbounded increase
    (0, 100, 150, None, "pass"),
    (1000, 5000, None, None, "skipped"),
])
def test_increase_gate(before, after, max_usd, max_pct, status):
    change = CostChange(before_label="v1", after_label="head", previous_total_monthly_cost_usd=before,
                        total_monthly_cost_usd=after, delta_monthly_cost_usd=after - before,
                        delta_pct=pct(after - before, before), models=(), counts={})
    gate = checks.increase_gate(change, max_usd=max_usd, max_pct=max_pct, stack="prod")
    assert gate.status == status
    if status == "fail":
        assert gate.findings[0].amount_usd > 0 and "roost ci --stack prod" in gate.findings[0].fix


def _moved(plan: DeploymentPlan, name: str) -> DeploymentPlan:
    deployments = tuple(dataclasses.replace(d, choice=dataclasses.replace(d.choice, region="elsewhere-1"))
                        if d.name == name else d for d in plan.deployments)
    return dataclasses.replace(plan, deployments=deployments)


def _reimaged(plan: DeploymentPlan, name: str) -> DeploymentPlan:
    deployments = tuple(dataclasses.replace(d, image="ghcr.io/acme/other:1") if d.name == name else d
                        for d in plan.deployments)
    return dataclasses.replace(plan, deployments=deployments)


def _ctx(*, fleet_changed: bool, model: tuple[str | None, str | None] = ("m-a", "m-a"),
         catalog: tuple[str, str] = ("c1", "c1")) -> checks.StaleContext:
    return checks.StaleContext(stack="prod", fleet_path="fleet.yaml", fleet_changed=fleet_changed,
                               recomputed_with=checks.VersionChange(committed=model[0], current=model[1]),
                               catalog=checks.VersionChange(committed=catalog[0], current=catalog[1]))


def test_stale_attribution(example_plan):
    moved = diff_plans(example_plan, _moved(example_plan, "fraud-scorer"))
    # Same model and catalog: a move can only come from an edit.
    gate, later = checks.stale_gate(moved, _ctx(fleet_changed=False))
    assert gate.failed and [f.subject for f in gate.findings] == ["fraud-scorer"] and later == ()
    assert "region us-east-1 → elsewhere-1" in gate.findings[0].message
    # Another model, fleet untouched: what re-planning would do, not staleness.
    gate, later = checks.stale_gate(moved, _ctx(fleet_changed=False, model=("m-a", "m-b")))
    assert gate.status == checks.PASS and [m.model for m in later] == ["fraud-scorer"]
    gate, later = checks.stale_gate(moved, _ctx(fleet_changed=False, catalog=("c1", "c2")))
    assert gate.status == checks.PASS and len(later) == 1
    # Another model and an edited fleet: the edit may be the cause, so it is stale.
    gate, _ = checks.stale_gate(moved, _ctx(fleet_changed=True, model=("m-a", "m-b")))
    assert gate.failed
    # Serving fields and the model set come only from the fleet file, whatever the model.
    reimaged = diff_plans(example_plan, _reimaged(example_plan, "assistant-8b"))
    gate, _ = checks.stale_gate(reimaged, _ctx(fleet_changed=False, model=("m-a", "m-b")))
    assert gate.failed and gate.findings[0].rule == "stale-reconfigured"
    fewer = dataclasses.replace(example_plan, deployments=example_plan.deployments[1:])
    gate, _ = checks.stale_gate(diff_plans(example_plan, fewer), _ctx(fleet_changed=True))
    assert gate.findings[0].rule == "stale-removed" and "no longer in fleet.yaml" in gate.findings[0].message
    # Repricing alone (a catalog refresh) is never stale.
    repriced = tuple(dataclasses.replace(d, choice=dataclasses.replace(d.choice, hourly_cost_usd=d.choice.hourly_cost_usd
                                                                       * 1.1)) for d in example_plan.deployments)
    gate, later = checks.stale_gate(diff_plans(example_plan, dataclasses.replace(example_plan, deployments=repriced)),
                                    _ctx(fleet_changed=False))
    assert gate.status == checks.PASS and later == ()


def test_budget_lines_use_the_plan_costs(example_plan):
    from placement.costs import summarize

    budgets = {d.name: 1.0 for d in example_plan.deployments[:1]}
    specs = [type("Spec", (), {"name": d.name, "budget_monthly_usd": budgets.get(d.name)})()
             for d in example_plan.deployments]
    fleet = Fleet(models=tuple(specs))  # type: ignore[arg-type]
    team = example_plan.deployments[0].team
    lines = checks.budget_lines(example_plan, fleet, stack_usd=1e9, teams={team: 1.0, "nobody": 5.0})
    by = {(b.scope, b.name): b for b in lines}
    costs = summarize(example_plan.deployments)
    assert by[("team", team)].monthly_cost_usd == pytest.approx(costs.by_team[team])
    assert by[("team", "nobody")].monthly_cost_usd == 0 and by[("team", "nobody")].over_usd == 0
    assert by[("stack", "stack")].monthly_cost_usd == pytest.approx(example_plan.monthly_cost_usd)
    first = example_plan.deployments[0]
    assert by[("model", first.name)].over_usd == pytest.approx(first.choice.monthly_cost_usd - 1.0)
    gate = checks.budget_gate(lines, stack="prod", fleet_path="fleet.yaml")
    assert gate.failed and {f.subject for f in gate.findings} == {f"model:{first.name}", f"team:{team}"}
    assert f"roost:budgets.teams.{team} USD --stack prod" in next(f.fix for f in gate.findings
                                                                  if f.subject == f"team:{team}")


def test_policy_gate_leaves_budget_caps_to_the_budget_gate_and_advisories_pass():
    violations = [Violation("budget-caps", "team:risk", "over"),
                  Violation("required-cost-tags", "lb-1", "missing cost tag(s) team", "advisory")]
    gate = checks.policy_gate(violations, {"lb-1": "fraud-scorer"})
    assert gate.status == checks.PASS and [f.subject for f in gate.findings] == ["lb-1 (fraud-scorer)"]
    gate = checks.policy_gate([Violation("allowed-regions", "asg-1", "region 'x' is not allowed")], {})
    assert gate.failed and gate.findings[0].rule == "allowed-regions" and "allowed-regions on asg-1" in gate.summary


def test_markdown_escapes_table_cells(example_plan):
    stale = checks.Gate(name="stale", status=checks.PASS, summary="a | b")
    other = [checks.Gate(name=n, status=checks.PASS, summary="ok") for n in checks.GATES[1:]]
    result = checks.CiResult(
        stack="prod", fleet_path="fleet.yaml", plan_version=2, base_version=1, gates=(stale, *other),
        cost_change=cost_change(None, example_plan), would_change=(),
        model=checks.VersionChange(committed=None, current=None),
        catalog=checks.VersionChange(committed="c", current="c"), budgets=(), violations=(),
        quality=checks.QualityEvidence(committed_model=None, default_model=None, skipped="no"), resources=0)
    text = render(result)
    assert "| Stale plan | ✅ pass | a \\| b |" in text
    assert text.count("| fraud-scorer |") == 1  # one row in the cost change table
