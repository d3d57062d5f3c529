"""The bundled sample: shipped, small, valid, varied, and exactly reproducible from its seed."""
from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources

import pandas as pd

from history.sample import BUNDLED_SAMPLE_FILE, BUNDLED_SAMPLE_ROWS, BUNDLED_SAMPLE_SEED, bundled_history
from history.schema import ALL_COLUMNS, validate
from history.simulate import simulate
from history.summary import PROFILE_KEY
from history.world import World


def test_the_sample_is_a_few_mb_of_valid_schema_v1_rows(catalog):
    path = resources.files("history").joinpath(BUNDLED_SAMPLE_FILE)
    assert path.stat().st_size < 5 * 1024 * 1024
    frame = bundled_history()
    assert len(frame) == BUNDLED_SAMPLE_ROWS
    assert list(frame.columns) == list(ALL_COLUMNS)
    # Drawn from the bundled calibrated world, and saying so on every row.
    assert (frame["world_version"] == World(catalog).version).all()
    assert validate(frame, source="sample", catalog=catalog, now=datetime(2026, 11, 22, tzinfo=UTC)).ok


def test_the_sample_covers_hundreds_of_profiles_and_every_task():
    frame = bundled_history()
    assert len(frame[list(PROFILE_KEY)].astype(str).drop_duplicates()) >= 300
    assert frame["task"].nunique() == 10
    assert frame["cloud"].nunique() == 3


def test_the_sample_is_exactly_what_its_seed_regenerates(catalog):
    # If this fails, the world, the simulator or the catalog changed: regenerate with
    # `roost history simulate --rows 40000 --seed 20261101 -o history/data/sample.parquet`.
    fresh = simulate(BUNDLED_SAMPLE_ROWS, seed=BUNDLED_SAMPLE_SEED, catalog=catalog)
    pd.testing.assert_frame_equal(bundled_history(), fresh, check_exact=False, rtol=1e-12)


def test_each_call_returns_a_fresh_frame():
    a = bundled_history()
    a.loc[0, "hours"] = -1
    assert bundled_history().loc[0, "hours"] > 0
