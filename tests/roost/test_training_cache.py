"""The default model: the shipped one, unless `roost train` made a current one; nothing trains on use."""
from __future__ import annotations

import json

import pytest

import roost.training as T
from placement.errors import ModelArtifactError


@pytest.fixture
def small_default(monkeypatch, small_log):
    calls = []

    def history(catalog):
        calls.append(1)
        return small_log, "test default history"
    monkeypatch.setattr(T, "default_history", history)
    return calls


def test_without_a_trained_default_the_shipped_model_is_used(tmp_path):
    bundle = T.default_model(root=tmp_path)
    assert bundle.path == T.shipped_model_path()
    assert not (tmp_path / T.DEFAULT_POINTER).exists()  # loading writes nothing


def test_roost_train_without_history_makes_the_default(tmp_path, small_default, tiny_config):
    trained = T.train_models(None, config=tiny_config, root=tmp_path)
    assert json.loads((tmp_path / T.DEFAULT_POINTER).read_text())["version"] == trained.bundle.version
    assert T.default_model(root=tmp_path).version == trained.bundle.version
    assert trained.bundle.manifest["default_history"]["simulated_extension"]["seed"] == T.EXTENSION_SEED


def test_a_trained_default_from_other_code_yields_to_the_shipped_model(tmp_path, small_default, tiny_config):
    T.train_models(None, config=tiny_config, root=tmp_path)
    pointer = tmp_path / T.DEFAULT_POINTER
    data = json.loads(pointer.read_text())
    data["trainer"] = -1
    pointer.write_text(json.dumps(data))
    assert T.default_model(root=tmp_path).path == T.shipped_model_path()
    assert len(small_default) == 1  # and nothing retrained


def test_a_damaged_trained_default_is_an_error_not_a_silent_fallback(tmp_path, small_default, tiny_config):
    trained = T.train_models(None, config=tiny_config, root=tmp_path)
    (trained.path / "latency.txt").write_text("tampered")
    with pytest.raises(ModelArtifactError, match="latency.txt"):
        T.default_model(root=tmp_path)


def test_a_shipped_model_of_another_trainer_asks_for_a_rebuild(tmp_path, monkeypatch):
    monkeypatch.setattr(T, "TRAINER_VERSION", -1)
    with pytest.raises(ModelArtifactError, match="build_default_model"):
        T.default_model(root=tmp_path)


def test_a_missing_shipped_model_says_how_to_get_one(tmp_path, monkeypatch):
    monkeypatch.setattr(T, "shipped_model_root", lambda: tmp_path / "nothing")
    with pytest.raises(ModelArtifactError, match="roost train"):
        T.default_model(root=tmp_path)



def test_a_model_is_found_by_version_in_the_cache_or_among_the_shipped(tmp_path, small_default, tiny_config):
    shipped = T.shipped_model_path()
    assert T.model_path(shipped.name, root=tmp_path) == shipped
    assert T.model_path("m-000000000000", root=tmp_path) is None
    trained = T.train_models(None, config=tiny_config, root=tmp_path)
    assert T.model_path(trained.bundle.version, root=tmp_path) == trained.path
