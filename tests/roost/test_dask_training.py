"""`roost train --dask-scheduler`: LightGBM's Dask estimators on a local cluster, small data.

Stated tolerance: over every catalog candidate of held-out profiles, the median
|ln(throughput_dask / throughput_single)| is at most 1.5 × the single-machine model's own
seed-to-seed median (the same data trained with seed 1 against seed 0). The Dask path fits
the same rows (less the same early-stopping profiles) with the same rounds, but in shuffled
partition order through LightGBM's distributed learner: they cannot be identical; measured,
the ratio was 0.88 and 1.11 in two runs on the loaded machine.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from click.testing import CliRunner

from roost.cli import main

pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def partitioned(tmp_path_factory, small_log):
    """The session's small log as three Parquet files (as a cluster would read a big history)."""
    root = tmp_path_factory.mktemp("partitioned")
    for i, rows in enumerate(np.array_split(np.arange(len(small_log)), 3)):
        small_log.iloc[rows].to_parquet(root / f"part-{i:03d}.parquet")
    return root


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    # One in-process worker and thread: the machine has two cores shared by everyone.
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as c:
        yield c


def throughput(bundle, catalog, specs):
    from placement.candidates import enumerate_candidates
    from placement.learned.predictor import LearnedPredictor
    from placement.types import Purchase

    predictor = LearnedPredictor(bundle)
    out = []
    for spec in specs:
        offerings = [c.offering for c in enumerate_candidates(spec, catalog).candidates]
        out.append(predictor.predict_arrays(spec.profile, offerings, [Purchase.ON_DEMAND] * len(offerings))[0])
    return np.concatenate(out)


def median_log_gap(a: np.ndarray, b: np.ndarray) -> float:
    both = (a > 0) & (b > 0)
    return float(np.median(np.abs(np.log(a[both] / b[both]))))


def test_dask_training_matches_the_single_machine_model(cluster, partitioned, catalog, small_log, tiny_bundle,
                                                        tiny_config, held_out_specs, tmp_path):
    from placement.learned import registry
    from placement.learned.train import train
    from roost.dask_training import train_dask

    bundle = train_dask(partitioned, cluster.scheduler_address, catalog=catalog, config=tiny_config)
    loaded = registry.load(registry.save(bundle, tmp_path))  # an ordinary, verified model directory
    assert loaded.manifest["training_data"]["engine"] == "dask"
    assert loaded.manifest["training_data"]["rows"] == len(small_log)
    reseeded = train(small_log, catalog.offerings, catalog_version=catalog.version, source="test",
                     config=dataclasses.replace(tiny_config, seed=1))
    single = throughput(tiny_bundle, catalog, held_out_specs)
    gap = median_log_gap(throughput(loaded, catalog, held_out_specs), single)
    own = median_log_gap(throughput(reseeded, catalog, held_out_specs), single)
    assert gap <= 1.5 * own, (gap, own)


def test_an_unreachable_scheduler_is_exit_3_and_changes_nothing(partitioned, tmp_path, monkeypatch):
    monkeypatch.setenv("ROOST_HOME", str(tmp_path / "home"))
    result = CliRunner().invoke(main, ["train", "--dask-scheduler", "tcp://127.0.0.1:9", "--history",
                                       str(partitioned)])
    assert result.exit_code == 3, result.output
    assert result.output.count("\n") == 1 and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in result.output
    assert not (tmp_path / "home" / "models").exists() or not any((tmp_path / "home" / "models").iterdir())


def test_a_history_of_another_schema_is_exit_2(tmp_path):
    import pandas as pd

    (tmp_path / "other").mkdir()
    pd.DataFrame({"when": ["2026-01-01"], "what": ["x"]}).to_parquet(tmp_path / "other" / "part-0.parquet")
    result = CliRunner().invoke(main, ["train", "--dask-scheduler", "tcp://127.0.0.1:9", "--history",
                                       str(tmp_path / "other")])
    assert result.exit_code == 2 and "missing column(s)" in result.output and result.output.count("\n") == 1
