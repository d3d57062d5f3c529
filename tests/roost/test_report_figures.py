"""Report figures against plans worked out by hand (tests/report_testdata.py)."""
from __future__ import annotations

import dataclasses

import pytest

from roost.report.figures import (
    NEAR,
    OVER,
    UNDER,
    Observed,
    ReportInputs,
    VersionPoint,
    budget_status,
    build_report,
    cost_change,
)

from report_testdata import CATALOG, V1, V2, big_plan


def test_cost_change_is_new_minus_old_to_the_cent():
    c = cost_change(V1, V2, before_label="v1", after_label="v2")
    # v1: 140.16 + 1,610.38 + 70.08; v2: 210.24 + 1,610.38 + 70.08
    assert c.previous_total_monthly_cost_usd == 1820.62
    assert c.total_monthly_cost_usd == 1890.70
    assert c.delta_monthly_cost_usd == 70.08
    assert c.delta_pct == pytest.approx(70.08 / 1820.62 * 100, abs=0.005)
    by_model = {m.model: m for m in c.models}
    assert set(by_model) == {"a", "c", "d"}  # b is unchanged and not listed
    assert (by_model["a"].change, by_model["a"].delta_monthly_cost_usd) == ("resized", 70.08)
    assert (by_model["c"].change, by_model["c"].previous_monthly_cost_usd) == ("added", 0.0)
    assert (by_model["d"].change, by_model["d"].monthly_cost_usd) == ("removed", 0.0)
    moves = {f.field: (f.before, f.after) for f in by_model["a"].moves}
    assert moves["replicas"] == (2, 3) and moves["peak_rps"] == (150.0, 250.0)
    assert dict(c.counts) == {"added": 1, "removed": 1, "moved": 0, "resized": 1, "reconfigured": 0,
                              "repriced": 0, "unchanged": 1}


def test_cost_change_from_nothing_has_no_percentage():
    c = cost_change(None, V1)
    assert c.previous_total_monthly_cost_usd == 0.0 and c.delta_monthly_cost_usd == 1820.62
    assert c.delta_pct is None and {m.change for m in c.models} == {"added"}


def test_changed_models_come_largest_cost_change_first():
    c = cost_change(V1, V2)
    assert [abs(m.delta_monthly_cost_usd) for m in c.models] == sorted(
        (abs(m.delta_monthly_cost_usd) for m in c.models), reverse=True)


@pytest.mark.parametrize("cost, status", [(89.99, UNDER), (90.0, NEAR), (99.99, NEAR), (100.0, NEAR),
                                          (100.01, OVER), (0.0, UNDER)])
def test_budget_status_flips_at_90_percent_and_above_the_limit(cost, status):
    assert budget_status(cost, 100.0) == status


def test_no_budget_no_status():
    assert budget_status(1e6, None) is None


def test_cost_change_markdown_carries_the_totals_and_each_changed_model():
    from roost.report.render_markdown import cost_change_markdown

    text = cost_change_markdown(cost_change(V1, V2, before_label="v1", after_label="v2"))
    assert "| Previous (v1) | $1,820.62 |" in text
    assert "| New (v2) | $1,890.70 |" in text
    assert "**+$70.08 (+3.85%)**" in text
    assert "| a | risk | resized |" in text and "replicas 2 → 3" in text
    assert "| d | ops | removed |" in text and "-$70.08" in text
    assert "fast" not in text  # env values never appear, changed or not


def inputs(**over) -> ReportInputs:
    base = ReportInputs(
        stack="prod", version=2, reason="plan", created_at="2026-01-02T03:04:05.000000Z", author="ana",
        applied=False, plan=V2, compared_version=1, compared_plan=V1, catalog=CATALOG,
        history=(VersionPoint(number=1, reason="plan", created_at="2026-01-01T00:00:00Z", monthly_cost_usd=1820.62,
                              restores=None, applied=True),
                 VersionPoint(number=2, reason="plan", created_at="2026-01-02T03:04:05Z", monthly_cost_usd=1890.70,
                              restores=None, applied=False)),
        model_budgets={"a": 300.0, "c": 70.08}, team_budgets={"risk": 220.0, "nlp": 1600.0}, stack_budget=2000.0,
        rationale={}, observed={"a": Observed(windows=4, hours=100.0, cost_usd=30.0)})
    return dataclasses.replace(base, **over)


@pytest.fixture
def report():
    return build_report(inputs())


def test_totals_are_the_sum_of_their_parts(report):
    assert report.total_monthly_cost_usd == 1890.70
    for parts in (report.models, report.teams, report.clouds, report.regions):
        assert round(sum(p.monthly_cost_usd for p in parts), 2) == report.total_monthly_cost_usd
    s = report.spot
    assert round(s.on_demand_monthly_cost_usd + s.spot_monthly_cost_usd, 2) == report.total_monthly_cost_usd
    # Removed teams stay at $0 so that the group deltas add up to the total delta.
    assert round(sum(t.delta_monthly_cost_usd for t in report.teams), 2) == report.delta_monthly_cost_usd == 70.08
    assert {t.name: t.monthly_cost_usd for t in report.teams} == {"nlp": 1680.46, "risk": 210.24, "ops": 0.0}


def test_spot_saving_comes_from_catalog_prices(report):
    b = next(m for m in report.models if m.name == "b")
    # 4 × g5.xlarge: 1 on demand at $1.006/h, 3 spot at $0.40/h; all on demand would be 4 × $1.006/h.
    assert b.on_demand_monthly_cost_usd == 734.38          # 1.006 × 730
    assert b.spot_monthly_cost_usd == 876.00               # 3 × 0.40 × 730
    assert b.all_on_demand_monthly_cost_usd == 2937.52     # 4 × 1.006 × 730
    assert b.spot_savings_monthly_usd == 1327.14
    assert report.spot.spot_savings_monthly_usd == 1327.14  # the on-demand models save nothing
    assert report.spot.all_on_demand_monthly_cost_usd == round(1890.70 + 1327.14, 2)


def test_spot_saving_follows_the_catalog_not_the_plan():
    cheaper = dataclasses.replace(CATALOG, version="test-2026.02", offerings=tuple(
        dataclasses.replace(o, price_hour_usd=2.0) if o.instance_type == "g5.xlarge" else o for o in CATALOG))
    b = next(m for m in build_report(inputs(catalog=cheaper)).models if m.name == "b")
    assert b.all_on_demand_monthly_cost_usd == 5840.00     # 4 × 2.0 × 730
    assert b.monthly_cost_usd == 1610.38                   # what the plan committed does not move
    assert any("priced with catalog test-2026.01" in n for n in build_report(inputs(catalog=cheaper)).assumptions.notes)


def test_budget_status_per_team_model_and_stack(report):
    teams = {t.name: t.budget_status for t in report.teams}
    assert teams == {"nlp": OVER, "risk": NEAR, "ops": None}   # 1,680.46 > 1,600; 210.24 ≥ 90 % of 220
    models = {m.name: m.budget_status for m in report.models}
    assert models == {"a": UNDER, "b": None, "c": NEAR}         # 210.24 < 270; 70.08 = its budget exactly
    assert report.stack_budget_status == NEAR                   # 1,890.70 ≥ 1,800
    assert report.budget_counts() == {OVER: 1, NEAR: 2, UNDER: 1}


def test_change_and_versions(report):
    assert (report.previous_total_monthly_cost_usd, report.delta_monthly_cost_usd) == (1820.62, 70.08)
    assert report.delta_monthly_cost_usd == round(report.total_monthly_cost_usd
                                                  - report.previous_total_monthly_cost_usd, 2)
    assert [v.number for v in report.versions] == [1, 2]


def test_actual_vs_predicted(report):
    (a,) = report.actuals.models
    assert a.model == "a" and a.windows == 4
    assert a.observed_hourly_cost_usd == 0.30 and a.predicted_hourly_cost_usd == 0.288
    assert a.observed_monthly_cost_usd == 219.00 and a.predicted_monthly_cost_usd == 210.24
    assert a.error_pct == pytest.approx((0.30 - 0.288) / 0.288 * 100, abs=0.005)


def test_actuals_left_out_with_a_reason():
    r = build_report(inputs(observed=None, observed_note="no deployment logs have been ingested"))
    assert not r.actuals.available and "no deployment logs" in r.actuals.note
    r = build_report(inputs(observed={"zzz": Observed(windows=1, hours=1.0, cost_usd=1.0)}))
    assert not r.actuals.available and "no windows" in r.actuals.note


def test_first_version_compares_with_nothing():
    r = build_report(inputs(version=1, plan=V1, compared_version=None, compared_plan=None))
    assert r.previous_total_monthly_cost_usd == 0.0 and r.delta_monthly_cost_usd == r.total_monthly_cost_usd
    assert r.delta_pct is None and r.change.before_label == "(nothing)"


def test_assumptions_are_stated(report):
    a = report.assumptions
    assert a.hours_per_month == 730.0 and a.catalog_version == "test-2026.01" and a.near_budget_fraction == 0.9
    assert any("egress" in x for x in a.not_included) and any("load-balancer" in x for x in a.not_included)


def test_markdown_of_a_thousand_models_fits_a_pull_request_comment():
    from roost.report.render_markdown import render_markdown

    plan = big_plan(1000)
    r = build_report(inputs(plan=plan, compared_plan=big_plan(900), model_budgets={}, observed=None))
    text = render_markdown(r)
    assert len(text) < 65_536
    assert "<details><summary>Per model (1000 models)</summary>" in text and "</details>" in text
    assert "Showing " in text and "list all 1000" in text
    assert "### Assumptions" in text and "730 hours per month" in text.split("### Assumptions")[1]
