"""Sizing margins calibrated per task from out-of-fold errors, and how predictors apply them."""
from __future__ import annotations

import numpy as np
import pytest

from placement.learned.predictor import LearnedPredictor
from placement.learned.train import MIN_RESIDUALS_PER_TASK, throughput_margin, throughput_margins_by_task
from placement.optimizer import place
from placement.predictor import margin_for


def test_a_task_predicted_tightly_gets_a_thinner_margin_than_a_loose_one():
    rng = np.random.default_rng(0)
    tight = rng.normal(0.0, 0.05, 2000)
    loose = rng.normal(0.0, 0.4, 2000)
    rare = rng.normal(0.0, 0.4, MIN_RESIDUALS_PER_TASK - 1)
    residuals = np.concatenate([tight, loose, rare])
    tasks = np.array(["tabular"] * 2000 + ["llm-generation"] * 2000 + ["text-to-image"] * len(rare))
    margins = throughput_margins_by_task(residuals, tasks, 0.25)
    assert set(margins) == {"tabular", "llm-generation"}  # too few residuals: fleet-wide margin
    assert margins["tabular"] == pytest.approx(np.exp(np.quantile(tight, 0.25)))
    assert margins["llm-generation"] == pytest.approx(np.exp(np.quantile(loose, 0.25)))
    assert margins["llm-generation"] < throughput_margin(residuals, 0.25) < margins["tabular"]
    assert throughput_margins_by_task(residuals, tasks, None) == {}


def test_the_optimizer_sizes_each_task_at_its_own_margin(catalog, tiny_bundle, held_out_specs):
    spec = held_out_specs[0]
    task = spec.profile.task.value
    manifest = dict(tiny_bundle.manifest, throughput_margin=0.9, throughput_margin_by_task={task: 0.5})
    predictor = LearnedPredictor(type(tiny_bundle)(**{**tiny_bundle.__dict__, "manifest": manifest}))
    assert margin_for(predictor, spec.profile) == 0.5
    other = next(s for s in held_out_specs if s.profile.task.value != task)
    assert margin_for(predictor, other.profile) == 0.9
    chosen = place(spec, catalog, predictor).chosen
    rps, _, _ = predictor.predict_arrays(spec.profile, [catalog.find(chosen.cloud.value, chosen.region,
                                                                     chosen.instance_type, chosen.accelerator)],
                                         [chosen.purchase])
    assert chosen.predicted_rps_per_replica == pytest.approx(rps[0] * 0.5)
