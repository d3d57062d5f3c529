"""The default model roost ships is what the code builds from the bundled history, and it is
what a fresh install uses without training."""
from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path

import lightgbm as lgb
import pytest
from click.testing import CliRunner

import roost.training as T
from history.sample import BUNDLED_SAMPLE_FILE
from placement.learned import registry
from placement.learned.train import TRAINER_VERSION


def test_the_shipped_model_is_verified_and_current():
    path = T.shipped_model_path()
    bundle = registry.load(path)  # every file's sha256 against the manifest
    assert bundle.manifest["trainer_version"] == TRAINER_VERSION
    assert bundle.manifest["lightgbm_version"] == lgb.__version__, "pyproject pins the LightGBM it was built with"
    sample = (Path(T.__file__).parents[1] / "history" / BUNDLED_SAMPLE_FILE).read_bytes()
    shipped_from = bundle.manifest["default_history"]["bundled_sample"]["sha256"]
    assert shipped_from == hashlib.sha256(sample).hexdigest(), \
        f"the bundled sample changed since the default model was built: run `{T.BUILD_COMMAND}`"


def test_a_fresh_home_uses_the_shipped_model_without_training(tmp_path, monkeypatch, project_root):
    import placement.learned.train
    from roost.cli import main

    def no_training(*args, **kwargs):
        raise AssertionError("trained on first use")
    monkeypatch.setattr(placement.learned.train, "train", no_training)
    monkeypatch.setattr(T, "train", no_training)
    monkeypatch.setenv("ROOST_HOME", str(tmp_path / "fresh"))
    result = CliRunner().invoke(main, ["recommend", str(project_root / "examples/fleet.yaml"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["model_version"] == T.shipped_model_path().name


def test_models_show_verifies_the_shipped_default(tmp_path, monkeypatch):
    from roost.cli import main

    monkeypatch.setenv("ROOST_HOME", str(tmp_path / "fresh"))
    result = CliRunner().invoke(main, ["models", "show", "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["verified"] and shown["path"] == str(T.shipped_model_path())


def test_the_wheel_carries_the_shipped_model(project_root):
    """Every shipped file matches a package-data pattern, so a non-editable install has it."""
    config = tomllib.loads((project_root / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"][T.SHIPPED_PACKAGE]
    package = project_root / T.SHIPPED_PACKAGE
    covered = {p for pattern in patterns for p in package.glob(pattern) if p.is_file()}
    shipped = {p for p in T.shipped_model_path().iterdir()}
    assert shipped and shipped <= covered


def test_a_changed_byte_or_file_is_a_difference(tmp_path):
    import shutil

    shipped = T.shipped_model_path()
    copy = tmp_path / shipped.name
    shutil.copytree(shipped, copy)
    assert T.model_differences(copy, shipped) == []
    data = bytearray((copy / "success.txt").read_bytes())
    data[-2] ^= 1
    (copy / "success.txt").write_bytes(bytes(data))
    (copy / "extra.txt").write_text("x")
    assert T.model_differences(copy, shipped) == ["extra.txt: only in the rebuilt model", "success.txt: bytes differ"]


@pytest.mark.slow
def test_rebuilding_from_the_bundled_history_gives_the_shipped_bytes(tmp_path):
    built = T.build_default_model(tmp_path)
    assert T.model_differences(built, T.shipped_model_path()) == [], \
        f"the shipped default model is not what the code builds: run `{T.BUILD_COMMAND}`"
