"""Features are defined once: the training path (log rows) and serving path agree exactly."""
from __future__ import annotations

import math
import random

import numpy as np
import pandas as pd
import pytest

from placement import features as F
from placement.baseline import HeuristicPredictor
from placement.types import ModelProfile, Precision, Purchase, Task
from placement.workload import derived_memory_gib


def random_profile(rng: random.Random) -> ModelProfile:
    task = rng.choice(list(Task))
    precision = rng.choice(list(Precision))
    params = 10 ** rng.uniform(0, 5)
    text = task in (Task.TEXT_EMBEDDING, Task.TEXT_CLASSIFICATION, Task.LLM_GENERATION)
    return ModelProfile(task=task, framework=rng.choice(["pytorch", "vllm", "onnx", "xgboost", "brand-new"]),
                        params_millions=params, precision=precision,
                        memory_gib=derived_memory_gib(task, params, precision), peak_rps=10 ** rng.uniform(-1, 3),
                        slo_p95_latency_ms=10 ** rng.uniform(1, 5),
                        input_tokens=rng.choice([None, 64, 2048]) if text else None,
                        output_tokens=rng.choice([None, 32, 900]) if task is Task.LLM_GENERATION else None)


def log_rows(profile: ModelProfile, offerings, purchases) -> pd.DataFrame:
    """Schema-v1-like rows for (profile, offering, purchase), as a team's log would carry them."""
    return pd.DataFrame({
        "task": profile.task.value, "framework": profile.framework, "params_millions": profile.params_millions,
        "precision": profile.precision.value, "memory_gib": profile.memory_gib,
        "input_tokens": pd.array([profile.input_tokens] * len(offerings), dtype="Int64"),
        "output_tokens": pd.array([profile.output_tokens] * len(offerings), dtype="Int64"),
        "slo_p95_latency_ms": profile.slo_p95_latency_ms,
        "cloud": [o.cloud.value for o in offerings], "region": [o.region for o in offerings],
        "instance_type": [o.instance_type for o in offerings],
        "accelerator": [o.accelerator for o in offerings],  # None for CPU rows, as logs have it
        "accelerator_count": [o.accelerator_count if o.accelerator else 0.0 for o in offerings],
        "purchase": [p.value for p in purchases],
        "offered_rps": 10.0, "replicas": 2, "gpu_utilization": 0.5, "cpu_utilization": 0.5,
    })


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_training_and_serving_features_are_identical(catalog, learned, seed):
    rng = random.Random(seed)
    profile = random_profile(rng)
    offerings = rng.sample(list(catalog.offerings), 60)
    purchases = [Purchase.SPOT if o.spot_price_hour_usd and rng.random() < 0.5 else Purchase.ON_DEMAND
                 for o in offerings]
    spec = learned.bundle.spec

    joined = F.join_offerings(log_rows(profile, offerings, purchases), catalog.offerings)
    assert joined.attrs["unmatched"] == 0 and len(joined) == len(offerings)
    train_side = F.derive(F.log_columns(joined), spec)
    hw, inverse, pos = learned._features(profile, offerings)
    serving = {
        # Throughput, saturation and latency: computed per distinct piece of hardware.
        "performance": F.matrix(hw, spec.names("performance"))[inverse],
        # Success: hardware columns plus region, price, purchase and replicas per candidate
        # (replicas are planned at serving time; here the log's own are passed in).
        "risk": learned._success_matrix(hw, inverse, pos, purchases, train_side["log_replicas"]),
    }
    for group, X_serve in serving.items():
        X_train = F.matrix(train_side, spec.names(group))
        np.testing.assert_array_equal(np.isnan(X_train), np.isnan(X_serve), err_msg=group)
        np.testing.assert_array_equal(np.nan_to_num(X_train), np.nan_to_num(X_serve), err_msg=group)


def test_physics_features_equal_the_baseline_heuristic(catalog):
    rng = random.Random(7)
    offerings = list(catalog.offerings)
    cols = F.offering_columns(offerings)
    heuristic = HeuristicPredictor()
    for _ in range(40):
        profile = random_profile(rng)
        phys = F.physics({**cols, **F.profile_columns(profile)})
        expected = heuristic.predict(profile, offerings, [Purchase.ON_DEMAND] * len(offerings))
        rps = np.array([p.rps_per_replica for p in expected])
        p95 = np.array([p.p95_latency_ms for p in expected])
        np.testing.assert_allclose(phys["physics_rps"], rps, rtol=1e-9)
        np.testing.assert_allclose(phys["physics_p95_ms"], p95, rtol=1e-9)


def test_category_codes_come_from_the_saved_lists_not_the_data(catalog):
    spec = F.FeatureSpec.for_catalog(catalog.offerings)
    again = F.FeatureSpec.from_dict(spec.to_dict())
    assert again == spec and again.mismatch() is None
    values = np.array(["vllm", "pytorch", "not-a-framework"], dtype=object)
    codes = F.encode(values, spec.categories["framework"])
    assert codes[0] == spec.categories["framework"].index("vllm")
    assert codes[1] == spec.categories["framework"].index("pytorch")
    assert math.isnan(codes[2])  # unknown → missing, never a made-up code
    # The same value encodes the same whatever else is in the batch.
    assert F.encode(values[:1], spec.categories["framework"])[0] == codes[0]


def test_a_changed_feature_list_is_detected(catalog):
    spec = F.FeatureSpec.for_catalog(catalog.offerings)
    data = spec.to_dict()
    data["groups"]["performance"] = data["groups"]["performance"][:-1]
    assert "performance feature list differs" in F.FeatureSpec.from_dict(data).mismatch()


def test_load_dependent_features_come_from_the_same_columns(catalog):
    spec = F.FeatureSpec.for_catalog(catalog.offerings)
    offerings = list(catalog.offerings)[:3]
    rows = log_rows(random_profile(random.Random(3)), offerings, [Purchase.ON_DEMAND] * 3)
    rows["replicas"] = [1, 4, 100]
    rows["gpu_utilization"] = [0.2, 0.0, None]
    rows["cpu_utilization"] = [0.1, 0.3, 0.7]
    feats = F.derive(F.log_columns(F.join_offerings(rows, catalog.offerings)), spec)
    np.testing.assert_allclose(feats["log_replicas"], np.log10([1, 4, 100]))
    # The bounding device: GPU when it was busy, else the vCPUs.
    np.testing.assert_allclose(feats["utilization"], [0.2, 0.3, 0.7])
