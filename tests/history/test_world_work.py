"""The world and the logs know how much work a request is."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from history.schema import EXTRA_COLUMNS, validate
from history.simulate import simulate
from history.world import World, WorldParams
from placement.types import ModelProfile, Precision, Purchase, Task


def _offering(catalog, accelerator: str, count: float = 1):
    return next(o for o in catalog.offerings if o.accelerator == accelerator and o.accelerator_count == count)


def _profile(**kw) -> ModelProfile:
    base = dict(task=Task.OBJECT_DETECTION, framework="tensorrt", params_millions=37.0, precision=Precision.FP16,
                memory_gib=2.0, peak_rps=10.0, slo_p95_latency_ms=2000.0)
    return ModelProfile(**{**base, **kw})


@pytest.fixture(scope="module")
def world(catalog) -> World:
    return World(catalog)


def test_larger_images_and_more_steps_are_slower_in_the_world(world, catalog):
    l4 = _offering(catalog, "L4")
    sizes = [world.truth(_profile(image_size=(s, s)), l4, Purchase.ON_DEMAND).max_rps for s in (320, 640, 800, 1024)]
    assert np.all(np.diff(sizes) < 0)
    h100 = _offering(catalog, "H100", 8)
    steps = [world.truth(_profile(task=Task.TEXT_TO_IMAGE, params_millions=2600.0, memory_gib=10.0,
                                  image_size=(1024, 1024), steps=n, slo_p95_latency_ms=120_000.0),
                         h100, Purchase.ON_DEMAND).max_rps for n in (4, 20, 30, 50)]
    assert all(s > 0 for s in steps) and np.all(np.diff(steps) < 0)


def test_active_params_change_speed_not_memory_in_the_world(world, catalog):
    dense = _profile(task=Task.LLM_GENERATION, framework="vllm", params_millions=46700.0, precision=Precision.FP8,
                     memory_gib=60.0, slo_p95_latency_ms=60_000.0)
    moe = ModelProfile(**{**dense.__dict__, "active_params_millions": 12900.0})
    h100 = _offering(catalog, "H100", 8)
    fast, slow = world.truth(moe, h100, Purchase.ON_DEMAND), world.truth(dense, h100, Purchase.ON_DEMAND)
    assert fast.max_rps > 2 * slow.max_rps
    # It still has to hold every expert: one L4 (24 GB) cannot, either way.
    l4 = _offering(catalog, "L4")
    assert not world.truth(moe, l4, Purchase.ON_DEMAND).fits
    assert not world.truth(dense, l4, Purchase.ON_DEMAND).fits


def test_work_multipliers_are_one_frozen_object(catalog):
    slower = WorldParams(work=(("object-detection", 2.0),))
    l4 = _offering(catalog, "L4")
    base = World(catalog, params=WorldParams()).truth(_profile(), l4, Purchase.ON_DEMAND).max_rps
    heavy = World(catalog, params=slower).truth(_profile(), l4, Purchase.ON_DEMAND).max_rps
    assert heavy < base
    with pytest.raises(AttributeError):
        slower.cpu_rate = 2.0  # type: ignore[misc]


def test_simulated_rows_carry_the_work_and_the_world_version(catalog):
    log = simulate(4000, seed=11, catalog=catalog)
    assert set(EXTRA_COLUMNS) <= set(log.columns)
    assert (log["world_version"] == World(catalog).version).all()
    images = log["task"].isin(["image-classification", "object-detection", "image-segmentation", "text-to-image"])
    assert log.loc[images, "image_height"].notna().any()
    assert log.loc[~images, "image_height"].isna().all()
    assert validate(log, source="sim", catalog=catalog, now=pd.Timestamp("2026-12-01", tz="UTC")).ok


def test_old_logs_without_the_new_columns_still_validate(catalog):
    log = simulate(500, seed=12, catalog=catalog).drop(columns=list(EXTRA_COLUMNS))
    assert validate(log, source="old", catalog=catalog, now=pd.Timestamp("2026-12-01", tz="UTC")).ok


def test_bad_work_cells_are_reported(catalog):
    log = simulate(300, seed=13, catalog=catalog)
    text = log.index[log["task"] == "text-classification"][0]
    log.loc[text, "image_height"] = 224
    log.loc[log.index[0], "steps"] = -2
    log.loc[log.index[1], "active_params_millions"] = log.loc[log.index[1], "params_millions"] * 2
    report = validate(log, source="bad", catalog=catalog, now=pd.Timestamp("2026-12-01", tz="UTC"))
    reasons = {(e.column, e.reason) for e in report.errors}
    assert ("image_height", "only applies to image tasks, not text-classification") in reasons
    assert ("steps", "must be > 0") in reasons
    assert ("active_params_millions", "must be ≤ params_millions") in reasons
