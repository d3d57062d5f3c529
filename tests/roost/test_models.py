"""Challengers and promotion: `roost train --challenger`, `roost models compare|promote|rollback|history`.

The world slowed down (GPUs at 60 %): the project's ingested history holds the fleet's
outcomes from the slower world. The session's tiny model knows only the old world.
"""
from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from history.population import sample_specs
from history.schema import write_log
from history.simulate import simulate
from history.world import World, WorldShift
from placement.learned import registry
from roost import training
from roost.cli import main
from roost.paths import history_store

SLOW = WorldShift(gpu_speed=0.6)


def run(*args: str, code: int = 0):
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, result.output
    return result


@pytest.fixture(scope="module")
def slow_history(catalog):
    # A fleet the session model never saw (its 50 profiles were drawn with seed 3).
    return simulate(4000, seed=31, catalog=catalog, specs=sample_specs(50, seed=77), world=World(catalog, shift=SLOW))


@pytest.fixture(scope="module")
def slow_bundle(catalog, slow_history, tiny_config):
    from placement.learned.train import train

    return train(slow_history, catalog.offerings, catalog_version=catalog.version, source="slow", config=tiny_config)


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("ROOST_HOME", str(tmp_path / "home"))
    return tmp_path / "home" / "models"


@pytest.fixture
def project(tmp_path, slow_history):
    store = history_store(tmp_path / "project")
    store.parent.mkdir(parents=True)
    write_log(slow_history, store)
    return tmp_path / "project"


@pytest.fixture
def tiny_training(monkeypatch, tiny_config):
    from placement.learned import train as T

    monkeypatch.setattr(T, "TrainConfig",
                        lambda seed=0, cv_folds=3, **kw: dataclasses.replace(tiny_config, seed=seed, **kw))


def install(root, bundle, champion: bool = False) -> str:
    registry.save(bundle, root)
    if champion:
        training.write_pointer(root, bundle.version)
    return bundle.version


def snapshot(root) -> dict:
    return {p.name: p.read_bytes() for p in root.iterdir() if p.is_file() and not p.name.startswith(".")}


def test_a_challenger_trains_on_the_grown_history_and_changes_nothing_in_use(home, project, tiny_bundle,
                                                                             tiny_training):
    champion = install(home, tiny_bundle, champion=True)
    out = json.loads(run("train", "--challenger", "--project", str(project), "--json").output)
    assert out["challenger"] and out["version"] != champion
    assert out["held_out_rows"] > 0 and out["training_rows"] + out["held_out_rows"] == 4000
    assert json.loads((home / "default.json").read_text())["version"] == champion
    events = json.loads(run("models", "history", "--json").output)["events"]
    assert [(e["type"], e["version"]) for e in events] == [("challenger", out["version"])]
    # compare with no arguments: the model in use against the newest challenger, on both sets.
    cmp = json.loads(run("models", "compare", "--project", str(project), "--json").output)
    assert cmp["champion"] == champion and cmp["challenger"] == out["version"]
    for name in ("held_out", "recent"):
        s = cmp["sets"][name]
        # The same outcomes for both, neither model trained on them.
        assert s["rows"] >= 200 and s["champion"]["deployments"] == s["challenger"]["deployments"] > 0
        for who in ("champion", "challenger"):
            assert s[who]["capacity"]["median_abs_pct_error"] > 0 and s[who]["latency"]["median_abs_pct_error"] > 0
    assert cmp["sets"]["recent"]["rows"] < cmp["sets"]["held_out"]["rows"]


def test_a_worse_challenger_is_not_promoted(home, project, tiny_bundle, slow_bundle):
    install(home, slow_bundle, champion=True)
    worse = install(home, tiny_bundle)
    before = snapshot(home)
    result = run("models", "promote", worse, "--project", str(project), code=1)
    assert "was not promoted: worse than" in result.output
    assert snapshot(home) == before  # pointer and events untouched


def test_force_is_recorded_with_who_and_why_and_rollback_restores_predictions(home, project, tiny_bundle,
                                                                              slow_bundle, held_out_specs):
    from placement.learned.predictor import LearnedPredictor

    champion = install(home, slow_bundle, champion=True)
    worse = install(home, tiny_bundle)
    spec = held_out_specs[0]
    offerings = list(spec_offerings(spec))
    before = LearnedPredictor(training.default_model()).predict_arrays(spec.profile, offerings, purchases(offerings))
    run("models", "promote", worse, "--project", str(project), "--force", code=2)  # no reason: refused
    run("models", "promote", worse, "--project", str(project), "--force", "--reason", "canary looked fine")
    event = json.loads(run("models", "history", "--json").output)["events"][-1]
    assert event["type"] == "promote" and event["forced"] is True and event["version"] == worse
    assert event["reason"] == "canary looked fine" and event["by"] and event["previous"] == champion
    assert not event["comparison"]["not_worse"]
    assert training.default_model().version == worse
    run("models", "rollback")
    assert training.default_model().version == champion
    after = LearnedPredictor(training.default_model()).predict_arrays(spec.profile, offerings, purchases(offerings))
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)
    assert [e["type"] for e in json.loads(run("models", "history", "--json").output)["events"]] == ["promote", "rollback"]
    run("models", "rollback", code=2)  # nothing left to roll back


def test_bad_input_changes_nothing(home, project, tiny_bundle, tmp_path):
    install(home, tiny_bundle, champion=True)
    before = snapshot(home)
    for args in (["models", "promote", "m-doesnotexist", "--project", str(project)],
                 ["models", "compare", tiny_bundle.version, "m-nope", "--project", str(project)],
                 ["models", "promote", tiny_bundle.version, "--project", str(tmp_path / "empty")]):
        result = run(*args, code=2)
        assert result.output.count("\n") == 1 and result.output.startswith("Error: "), result.output
    assert snapshot(home) == before


def spec_offerings(spec):
    from placement.candidates import enumerate_candidates
    from placement.catalog import load_catalog

    return [c.offering for c in enumerate_candidates(spec, load_catalog()).candidates][:40]


def purchases(offerings):
    from placement.types import Purchase

    return [Purchase.ON_DEMAND] * len(offerings)


def test_damaged_event_log_is_an_error_not_ignored(home, tiny_bundle):
    install(home, tiny_bundle, champion=True)
    (home / "events.jsonl").write_text("{not json\n")
    result = run("models", "history", code=2)
    assert "events.jsonl: line 1 is not JSON" in result.output
    shutil.rmtree(home)
