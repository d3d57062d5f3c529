"""The evaluation: pure regret arithmetic, held-out profiles, and reproducibility for a seed."""
from __future__ import annotations

import math

import pytest

from placement.learned.evaluate import Outcome, summarize


def test_regret_and_rates_from_outcomes():
    outcomes = [
        Outcome(model="a", placed=True, monthly_cost_usd=110, oracle_monthly_cost_usd=100, failure_probability=0.1),
        Outcome(model="b", placed=True, monthly_cost_usd=100, oracle_monthly_cost_usd=100, missed_slo=True),
        Outcome(model="c", placed=True, monthly_cost_usd=300, oracle_monthly_cost_usd=100),
        Outcome(model="d", placed=True, monthly_cost_usd=50, oracle_monthly_cost_usd=math.nan),  # oracle found none
        Outcome(model="e", placed=False),
    ]
    s = summarize("m", outcomes, common={"a", "b"}, reference_cost=105.0)
    assert s.placed == 4 and s.models == 5
    assert s.median_regret == pytest.approx(0.10)
    assert s.slo_miss_rate == pytest.approx(0.25)
    assert s.failure_rate == pytest.approx(0.025)
    assert s.monthly_cost_usd == pytest.approx(210)
    assert s.cost_vs_reference == pytest.approx(210 / 105 - 1)


def test_held_out_profiles_exclude_every_training_profile(catalog):
    from history.simulate import simulate
    from roost.evaluation import held_out_specs

    specs, excluded = held_out_specs(30, 5, None)
    assert excluded == 0
    log = simulate(400, seed=1, catalog=catalog, specs=specs[:4])  # trained on four of them
    kept, excluded = held_out_specs(30, 5, log)
    assert excluded == 4
    assert [s.name for s in kept] == [s.name for s in specs[4:]]


def test_evaluation_is_reproducible_for_a_seed(catalog, learned, held_out_specs):
    from history.world import World
    from placement.baseline import HeuristicPredictor
    from roost.evaluation import evaluate, hand_rule_choice

    world = World(catalog)
    methods = {"learned": learned, "baseline": HeuristicPredictor(), "hand-rule": hand_rule_choice}
    first = evaluate(world, methods, held_out_specs[:8], seed=99).to_dict()
    second = evaluate(World(catalog), methods, held_out_specs[:8], seed=99).to_dict()
    assert first == second
    names = [m["method"] for m in first["methods"]]
    assert names == ["learned", "baseline", "hand-rule"]
    baseline = first["methods"][1]
    assert baseline["cost_vs_reference"] == 0.0


def test_the_oracle_has_no_regret_and_never_misses(catalog, held_out_specs):
    from history.world import World
    from roost.evaluation import OraclePredictor, evaluate

    world = World(catalog)
    oracle = OraclePredictor(world, held_out_specs)
    result = evaluate(world, {"oracle": oracle}, held_out_specs, seed=99, reference="oracle").to_dict()
    (row,) = result["methods"]
    assert row["median_regret"] == 0.0 and row["p90_regret"] == 0.0
    assert row["slo_miss_rate"] == 0.0


def test_baseline_is_also_compared_at_the_learned_miss_rate(catalog, learned, held_out_specs):
    from history.world import World
    from placement.baseline import HeuristicPredictor
    from roost.evaluation import evaluate

    result = evaluate(World(catalog), {"learned": learned, "baseline": HeuristicPredictor()}, held_out_specs[:8],
                      seed=99, match_miss_rate_of="learned").to_dict()
    rows = {m["method"]: m for m in result["methods"]}
    matched = [name for name in rows if name.startswith("baseline ×")]
    assert len(matched) == 1
    margin = float(matched[0].split("×")[1].split()[0])
    assert rows[matched[0]]["slo_miss_rate"] <= rows["learned"]["slo_miss_rate"] or margin == 0.05
