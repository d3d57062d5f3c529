"""Train on first use, once; later runs load the cached, verified model."""
from __future__ import annotations

import json

import pytest

import roost.training as T
from placement.errors import ModelArtifactError


@pytest.fixture
def small_default(monkeypatch, small_log, tiny_config):
    calls = []

    def history(catalog):
        calls.append(1)
        return small_log, "test default history"
    monkeypatch.setattr(T, "default_history", history)
    return calls


def test_first_use_trains_once_then_reuses(tmp_path, small_default, tiny_config):
    first = T.default_model(root=tmp_path, config=tiny_config)
    second = T.default_model(root=tmp_path, config=tiny_config)
    assert len(small_default) == 1
    assert second.version == first.version
    pointer = json.loads((tmp_path / T.DEFAULT_POINTER).read_text())
    assert pointer["version"] == first.version


def test_a_pointer_from_other_code_trains_afresh(tmp_path, small_default, tiny_config):
    first = T.default_model(root=tmp_path, config=tiny_config)
    pointer = tmp_path / T.DEFAULT_POINTER
    data = json.loads(pointer.read_text())
    data["trainer"] = -1
    pointer.write_text(json.dumps(data))
    T.default_model(root=tmp_path, config=tiny_config)
    assert len(small_default) == 2
    assert json.loads(pointer.read_text())["trainer"] != -1
    assert (tmp_path / first.version).exists()


def test_a_damaged_cached_model_is_an_error_not_a_silent_retrain(tmp_path, small_default, tiny_config):
    first = T.default_model(root=tmp_path, config=tiny_config)
    (tmp_path / first.version / "latency.txt").write_text("tampered")
    with pytest.raises(ModelArtifactError, match="latency.txt"):
        T.default_model(root=tmp_path, config=tiny_config)
    assert len(small_default) == 1
