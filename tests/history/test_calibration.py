"""Calibration: deterministic, hashed, refused when edited; --check reproducible."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from history import calibration as C
from history.calibration_fit import Problem, read_benchmarks, row_errors
from history.world import World, WorldParams
from placement.errors import InputError
from roost.cli import main


@pytest.fixture(scope="module")
def small_table(tmp_path_factory):
    """Three benchmarks of the bundled table (a fit takes a second, not ten)."""
    table = pd.read_csv(C.bundled_benchmarks_path())
    keep = table[table["benchmark"].isin(["trtllm:llama-3.1-8b", "trtllm:llama-3.3-70b", "mlperf:gptj"])]
    path = tmp_path_factory.mktemp("bench") / "benchmarks.csv"
    keep.to_csv(path, index=False)
    return path


def test_the_bundled_world_is_calibrated_and_verified():
    params = C.load_calibration(C.bundled_world_path())
    assert params.version.startswith("w1-") and params == C.bundled_world_params()
    assert C.world_version(params) == params.version
    assert World(None).version == params.version


def test_same_table_same_file(small_table, tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    for out in (a, b):
        result = CliRunner().invoke(main, ["calibrate", "--benchmarks", str(small_table), "-o", str(out), "--json"])
        assert result.exit_code == 0, result.output
    assert a.read_bytes() == b.read_bytes()
    params = C.load_calibration(a)
    assert params.version == json.loads(a.read_text())["world_version"]


def test_a_calibration_that_was_edited_is_refused(small_table, tmp_path):
    path = tmp_path / "world.json"
    CliRunner().invoke(main, ["calibrate", "--benchmarks", str(small_table), "-o", str(path)])
    data = json.loads(path.read_text())
    data["params"]["compute"]["Hopper"] *= 2
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match="edited"):
        C.load_calibration(path)
    path.write_text("{not json")
    with pytest.raises(InputError, match="not a calibration file"):
        C.load_calibration(path)


def test_check_reports_leave_one_benchmark_out_reproducibly(small_table):
    runs = [CliRunner().invoke(main, ["calibrate", "--check", "--json", "--benchmarks", str(small_table)])
            for _ in range(2)]
    assert all(r.exit_code == 0 for r in runs), runs[0].output
    report = json.loads(runs[0].output)
    assert runs[0].output == runs[1].output
    assert report["rows"] == len(pd.read_csv(small_table))
    assert report["benchmarks"] == ["mlperf:gptj", "trtllm:llama-3.1-8b", "trtllm:llama-3.3-70b"]
    lobo = report["leave_one_benchmark_out"]
    assert {"median_error", "p90_error", "per_benchmark", "per_accelerator"} <= set(lobo)
    assert 0 <= lobo["median_error"] <= lobo["p90_error"]
    assert report["world_version"] == C.bundled_world_params().version


def test_fitting_moves_predictions_towards_the_measurements(small_table):
    from history.calibration_fit import fit

    problem = Problem(read_benchmarks(small_table))
    before = row_errors(problem.predict(WorldParams(), 1.0), problem.measured)
    f = fit(problem)
    after = row_errors(problem.predict(f.params, f.server_share, f.old_share), problem.measured)
    assert after.mean() < before.mean()


def test_a_bad_table_is_one_clear_error(tmp_path):
    path = tmp_path / "b.csv"
    path.write_text("benchmark,scenario\nx,Offline\n")
    result = CliRunner().invoke(main, ["calibrate", "--benchmarks", str(path)])
    assert result.exit_code == 2 and "missing column(s)" in result.output


def test_the_learned_model_is_checked_against_the_benchmarks(saved_model, tiny_bundle, catalog):
    report = C.learned_check(tiny_bundle, catalog)
    assert report["rows"] > 100
    assert {"median_error", "p90_error", "per_benchmark", "per_accelerator"} <= set(report)
    assert all(s["rows"] > 0 for s in report["per_benchmark"].values())
    result = CliRunner().invoke(main, ["evaluate", "--benchmarks", "--model-dir", str(saved_model), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["median_error"] == report["median_error"]


def test_a_model_trained_on_simulated_history_names_its_world(tiny_bundle):
    assert tiny_bundle.manifest["training_data"]["world_versions"] == [C.bundled_world_params().version]
