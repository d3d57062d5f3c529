"""Predicting a fleet in batches gives exactly the answers of one model at a time."""
from __future__ import annotations

import dataclasses

import numpy as np

from placement.optimizer import PREDICTION_BATCH, recommend_all
from placement.predictor import ArrayPredictor, BatchPredictor
from placement.types import Fleet


class OneAtATime:
    """The learned predictor without its batch entry point."""

    def __init__(self, inner):
        self.inner = inner
        self.version = inner.version
        self.throughput_margin = inner.throughput_margin

    def throughput_margin_for(self, profile):
        return self.inner.throughput_margin_for(profile)

    def predict(self, profile, offerings, purchases):
        return self.inner.predict(profile, offerings, purchases)

    def predict_arrays(self, profile, offerings, purchases):
        return self.inner.predict_arrays(profile, offerings, purchases)


def test_batched_fleet_equals_one_model_at_a_time(catalog, learned, held_out_specs):
    from history.population import sample_specs

    # More models than one batch, and one that no candidate fits (it must not shift the others).
    giant = dataclasses.replace(held_out_specs[0], name="giant", memory_gib=1e6)
    specs = tuple(held_out_specs[:3]) + (giant,) + tuple(sample_specs(PREDICTION_BATCH + 10, seed=5))
    fleet = Fleet(models=specs)
    single = OneAtATime(learned)
    assert isinstance(learned, BatchPredictor)
    assert isinstance(single, ArrayPredictor) and not isinstance(single, BatchPredictor)
    batched_rec, batched_fail = recommend_all(fleet, catalog, learned)
    single_rec, single_fail = recommend_all(fleet, catalog, single)
    assert len(batched_rec.placements) > PREDICTION_BATCH
    assert batched_rec.placements == single_rec.placements
    assert [str(e) for e in batched_fail] == [str(e) for e in single_fail]
    assert "giant" in [e.model for e in batched_fail]


def test_predict_arrays_many_matches_predict_arrays_row_for_row(catalog, learned, held_out_specs):
    from placement.types import Purchase

    offerings = list(catalog.offerings)
    items = []
    for k, spec in enumerate(held_out_specs[:5]):
        offs = offerings[k::7]
        items.append((spec.profile, offs,
                      tuple(Purchase.SPOT if o.spot_price_hour_usd else Purchase.ON_DEMAND for o in offs)))
    items.insert(2, (held_out_specs[0].profile, [], ()))  # a model with no candidates
    many = learned.predict_arrays_many(items)
    for (profile, offs, purchases), got in zip(items, many, strict=True):
        want = learned.predict_arrays(profile, offs, purchases)
        for g, w in zip(got, want, strict=True):
            np.testing.assert_array_equal(g, w)


def test_choose_all_gives_each_models_place_winner(catalog, learned, held_out_specs):
    """What evaluations judge: the batched winners are `place(...).chosen`, model by model."""
    from placement.errors import InfeasibleError
    from placement.optimizer import choose_all, place

    giant = dataclasses.replace(held_out_specs[0], name="giant", memory_gib=1e6)
    specs = [*held_out_specs[:20], giant, *held_out_specs[20:40]]
    ticks = []
    chosen = list(choose_all(specs, catalog, learned, lambda done, total: ticks.append((done, total))))
    assert ticks[-1] == (len(specs), len(specs)) and len(ticks) == len(specs)
    for spec, got in zip(specs, chosen, strict=True):
        if spec.name == "giant":
            assert isinstance(got, InfeasibleError)
        else:
            assert got == place(spec, catalog, learned).chosen
