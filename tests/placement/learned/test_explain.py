"""Explanations are exact: base value + contributions == the model's raw prediction."""
from __future__ import annotations

import math

import pytest

from placement.learned.explain import LearnedExplainer
from placement.learned.predictor import MODELS
from placement.optimizer import place


def test_contributions_sum_to_the_prediction(catalog, learned, held_out_specs):
    checked = 0
    for spec in held_out_specs[:6]:
        for offering in list(catalog.offerings)[::97]:
            parts, roofline = LearnedExplainer(learned).breakdowns(spec.profile, offering, _purchase(offering))
            assert set(parts) == set(MODELS)
            for name, b in parts.items():
                # The raw score computed independently of the contributions.
                raw = learned.bundle.boosters[name].predict(b.values.reshape(1, -1), raw_score=True)[0]
                total = b.base + sum(c.contribution for c in b.contributions)
                assert total == pytest.approx(raw, abs=1e-9), name
                assert b.raw == pytest.approx(raw, abs=1e-9), name
                checked += 1
            assert roofline > 0
    assert checked > 50


def test_breakdown_matches_what_the_predictor_returns(catalog, learned, held_out_specs):
    spec = held_out_specs[0]
    offering = next(o for o in catalog.offerings if o.accelerator == "L4")
    parts, roofline = LearnedExplainer(learned).breakdowns(spec.profile, offering, _purchase(offering))
    rps, _, success = learned.predict_arrays(spec.profile, [offering], [_purchase(offering)])
    saturation = roofline * math.exp(parts["saturation"].raw)
    utilization = min(max(parts["slo_utilization"].raw, 0.0), 0.95)
    expected = saturation * utilization if utilization >= 0.1 else 0.0
    assert rps[0] == pytest.approx(expected, rel=1e-9)
    assert success[0] == pytest.approx(1 / (1 + math.exp(-parts["success"].raw)), rel=1e-9)


def test_placement_explains_in_plain_words(catalog, learned, held_out_specs):
    for spec in held_out_specs:
        try:
            p = place(spec, catalog, learned, explain=LearnedExplainer(learned).explain)
        except Exception:  # an infeasible spec has nothing to explain
            continue
        text = "\n".join(p.explanation)
        assert text.startswith("throughput: ")
        assert "roofline estimate" in text and "utilization" in text
        assert "latency: predicted p95" in text and "risk: " in text
        assert "replicas: " in text and "cost: cheapest of" in text
        assert p.confidence is not None and 0 <= p.confidence <= 1
        return
    pytest.fail("no held-out spec could be placed")


def _purchase(offering):
    from placement.types import Purchase

    return Purchase.SPOT if offering.spot_price_hour_usd else Purchase.ON_DEMAND


def test_batched_explanations_equal_one_by_one(catalog, learned, held_out_specs):
    from placement.optimizer import recommend_all
    from placement.types import Fleet

    fleet = Fleet(models=tuple(held_out_specs[:8]))
    one_by_one, _ = recommend_all(fleet, catalog, learned, explain=LearnedExplainer(learned).explain)
    batched, _ = recommend_all(fleet, catalog, learned, explain_batch=LearnedExplainer(learned).explain_all)
    assert len(batched.placements) >= 4
    assert batched == one_by_one
    assert all(p.explanation[0].startswith("throughput: ") for p in batched.placements)


def test_the_predictor_knows_nothing_of_placements_or_explanations():
    import ast
    import inspect

    import placement.learned.predictor as predictor

    tree = ast.parse(inspect.getsource(predictor))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert not imported & {"placement.optimizer", "placement.learned.explain"}
