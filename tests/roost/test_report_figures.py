"""Report figures against plans worked out by hand (tests/report_testdata.py)."""
from __future__ import annotations

import pytest

from roost.report.figures import NEAR, OVER, UNDER, budget_status, cost_change

from report_testdata import V1, V2


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
