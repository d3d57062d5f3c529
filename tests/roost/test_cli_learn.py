"""`roost train`, `models`, `evaluate` and `recommend --predictor learned`: contracts and exit codes."""
from __future__ import annotations

import dataclasses
import json
import shutil

import pytest
from click.testing import CliRunner

from roost.cli import main


def run(*args: str, ok: bool = True):
    result = CliRunner().invoke(main, list(args))
    if ok:
        assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def tiny_training(monkeypatch, tiny_config):
    """`roost train` with the tests' tiny settings (the CLI's own defaults train for real)."""
    import roost.cli.learn as learn_cli
    from placement.learned import train as T

    monkeypatch.setattr(T, "TrainConfig",
                        lambda seed=0, cv_folds=3, **kw: dataclasses.replace(tiny_config, seed=seed, **kw))
    return learn_cli


@pytest.fixture
def log_file(tmp_path, small_log):
    from history.schema import write_log

    path = tmp_path / "log.parquet"
    write_log(small_log, path)
    return path


def test_train_then_list_and_show(tiny_training, log_file, tmp_path, monkeypatch):
    monkeypatch.setenv("ROOST_HOME", str(tmp_path / "home"))
    trained = json.loads(run("train", "--history", str(log_file), "--json").output)
    assert trained["version"].startswith("m-") and not trained["reused"]
    assert trained["training_data"]["rows"] == 5000
    assert "cross_validation" in trained["metrics"]
    again = json.loads(run("train", "--history", str(log_file), "--json").output)
    assert again["version"] == trained["version"] and again["reused"]

    listed = json.loads(run("models", "list", "--json").output)
    assert [m["version"] for m in listed["models"]] == [trained["version"]]
    shown = json.loads(run("models", "show", trained["version"], "--json").output)
    assert shown["verified"] is True and shown["version"] == trained["version"]
    assert "Model " + trained["version"] in run("models", "show", trained["version"]).output


def test_the_latency_quantile_is_a_training_choice_recorded_in_the_model(tiny_training, log_file, tmp_path,
                                                                        monkeypatch):
    monkeypatch.setenv("ROOST_HOME", str(tmp_path / "home"))
    default = json.loads(run("train", "--history", str(log_file), "--json").output)
    median = json.loads(run("train", "--history", str(log_file), "--latency-quantile", "0.5", "--json").output)
    assert median["version"] != default["version"]
    shown = json.loads(run("models", "show", median["version"], "--json").output)
    assert shown["params"]["latency_quantile"] == 0.5
    bad = run("train", "--history", str(log_file), "--latency-quantile", "0.2", ok=False)
    assert bad.exit_code == 2 and "--latency-quantile" in bad.output


def test_a_tampered_model_exits_2_naming_the_file(saved_model, tmp_path, project_root):
    copy = tmp_path / saved_model.name
    shutil.copytree(saved_model, copy)
    (copy / "success.txt").write_text((copy / "success.txt").read_text() + "\n")
    result = run("recommend", str(project_root / "examples/fleet.yaml"), "--model-dir", str(copy), "--json", ok=False)
    assert result.exit_code == 2
    assert "success.txt: sha256 does not match the manifest" in result.output
    assert "Traceback" not in result.output


def test_recommend_learned_json_contract(saved_model, project_root):
    out = run("recommend", str(project_root / "examples/fleet.yaml"), "--model-dir", str(saved_model), "--json",
              ok=False)
    # The tiny model may find some example models infeasible (exit 2); the contract holds when it places.
    if out.exit_code == 0:
        data = json.loads(out.output)
        assert data["model_version"] == saved_model.name
        for p in data["placements"]:
            assert p["confidence"] is not None and p["explanation"]
            assert {"cloud", "region", "instance_type", "purchase", "replicas", "min_replicas", "max_replicas",
                    "monthly_cost_usd", "alternatives", "success_probability"} <= set(p)
    else:
        assert out.exit_code == 2 and "no feasible placement" in out.output


def test_model_dir_needs_the_learned_predictor(saved_model, project_root):
    result = run("recommend", str(project_root / "examples/fleet.yaml"), "--model-dir", str(saved_model),
                 "--predictor", "baseline", ok=False)
    assert result.exit_code == 2 and "--model-dir" in result.output


def test_a_bad_fleet_fails_before_any_training(tmp_path, monkeypatch):
    import roost.training

    def boom(*a, **k):
        raise AssertionError("trained for a fleet that does not parse")
    monkeypatch.setattr(roost.training, "default_model", boom)
    bad = tmp_path / "fleet.yaml"
    bad.write_text("version: 1\nmodels:\n  - name: X\n    task: nope\n")
    assert run("recommend", str(bad), ok=False).exit_code == 2


def test_models_show_unknown_version_exits_2(tmp_path, monkeypatch):
    monkeypatch.setenv("ROOST_HOME", str(tmp_path / "empty"))
    result = run("models", "show", "m-nope", ok=False)
    assert result.exit_code == 2
