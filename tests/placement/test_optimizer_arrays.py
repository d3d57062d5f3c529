"""The optimizer's array path sizes and ranks exactly like ``sizing.size_choice`` and ``rank_key``."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from placement.baseline import HeuristicPredictor
from placement.optimizer import _table, place, rank_key, score_candidates
from placement.types import AcceleratorPolicy, Load, ModelSpec, Precision, SpotPolicy, Task
from placement.workload import derived_memory_gib


def make_spec(**kw) -> ModelSpec:
    base = dict(name="m", task=Task.TEXT_CLASSIFICATION, framework="pytorch", params_millions=110.0,
                precision=Precision.FP16, memory_gib=derived_memory_gib(Task.TEXT_CLASSIFICATION, 110, Precision.FP16),
                memory_gib_derived=True, accelerator=AcceleratorPolicy.AUTO, image="r/m:1",
                load=Load(peak_rps=250, mean_rps=80), slo_p95_latency_ms=100, spot=SpotPolicy.ALLOW)
    base.update(kw)
    return ModelSpec(**base)


@pytest.mark.parametrize("kw", [
    {},
    {"spot": SpotPolicy.PREFER, "min_replicas": 3},
    {"spot": SpotPolicy.NEVER, "load": Load(peak_rps=4000)},
    {"load": Load(peak_rps=37.5, mean_rps=30), "max_replicas": 6, "budget_monthly_usd": 2000},
])
def test_array_sizing_equals_size_choice(catalog, kw):
    spec = make_spec(**kw)
    table = _table(spec, catalog, HeuristicPredictor())
    scored = score_candidates(spec, catalog, HeuristicPredictor())
    sized = [i for i, s in enumerate(scored) if s.choice is not None]
    assert sized, "the case must size some candidates"
    assert [table.replicas[i] for i in sized] == [s.choice.replicas for s in scored if s.choice]
    np.testing.assert_allclose([table.monthly[i] for i in sized],
                               [s.choice.monthly_cost_usd for s in scored if s.choice], rtol=1e-12)
    assert [(table.code[i] == 0) for i in range(len(scored))] == [s.feasible for s in scored]


def test_choice_is_the_first_by_rank_key(catalog):
    for kw in ({}, {"spot": SpotPolicy.PREFER}, {"clouds": None, "load": Load(peak_rps=3)}):
        spec = make_spec(**kw)
        scored = score_candidates(spec, catalog, HeuristicPredictor())
        expected = sorted((s for s in scored if s.feasible), key=rank_key(spec))[0]
        assert place(spec, catalog, HeuristicPredictor()).chosen == expected.choice


def test_offerings_outside_the_catalog_object_are_still_sized(catalog):
    # A catalog rebuilt with the same rows (e.g. after discounts) is a different object.
    clone = dataclasses.replace(catalog, offerings=tuple(dataclasses.replace(o) for o in catalog.offerings))
    spec = make_spec()
    assert place(spec, clone, HeuristicPredictor()).chosen == place(spec, catalog, HeuristicPredictor()).chosen
