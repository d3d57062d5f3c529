"""Model registry: text-only, versioned directories that load back exactly or not at all."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from placement.errors import ModelArtifactError
from placement.learned import registry
from placement.learned.predictor import LearnedPredictor
from placement.types import Purchase


def predictions(predictor, catalog, profiles):
    offerings = list(catalog.offerings)
    purchases = [Purchase.SPOT if o.spot_price_hour_usd else Purchase.ON_DEMAND for o in offerings]
    return [np.column_stack(predictor.predict_arrays(p, offerings, purchases)) for p in profiles]


def test_round_trip_gives_identical_predictions(catalog, tiny_bundle, saved_model, held_out_specs):
    loaded = registry.load(saved_model)
    assert loaded.version == tiny_bundle.version == saved_model.name
    profiles = [s.profile for s in held_out_specs[:4]]
    before = predictions(LearnedPredictor(tiny_bundle), catalog, profiles)
    after = predictions(LearnedPredictor(loaded), catalog, profiles)
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)


def test_directory_is_text_only_with_a_complete_manifest(saved_model):
    manifest = json.loads((saved_model / "manifest.json").read_text())
    for key in ("version", "created_at", "lightgbm_version", "catalog_version", "training_data", "params",
                "metrics", "files", "models", "throughput_margin"):
        assert key in manifest, key
    assert manifest["training_data"]["sha256"] and len(manifest["training_data"]["sha256"]) == 64
    names = sorted(p.name for p in saved_model.iterdir())
    assert names == sorted([*manifest["files"], "manifest.json"])
    for p in saved_model.iterdir():
        p.read_text(encoding="utf-8")  # no pickle, no binary
        assert not p.name.endswith((".pkl", ".pickle", ".joblib"))


@pytest.fixture
def copy(saved_model, tmp_path):
    target = tmp_path / saved_model.name
    shutil.copytree(saved_model, target)
    return target


def test_a_flipped_byte_in_a_model_file_is_refused(copy):
    path = copy / "saturation.txt"
    text = path.read_text()
    path.write_text(text.replace("leaf_value=", "leaf_value=9", 1))
    with pytest.raises(ModelArtifactError, match="saturation.txt: sha256 does not match"):
        registry.load(copy)


def test_a_missing_file_is_refused(copy):
    (copy / "latency.txt").unlink()
    with pytest.raises(ModelArtifactError, match="latency.txt: missing"):
        registry.load(copy)


def test_a_renamed_directory_is_refused(copy):
    renamed = copy.with_name("m-000000000000")
    copy.rename(renamed)
    with pytest.raises(ModelArtifactError, match="must not be renamed"):
        registry.load(renamed)


def test_features_edited_consistently_are_still_refused(copy):
    # Someone edits features.json *and* updates its hash: the lists no longer match the code.
    features = json.loads((copy / "features.json").read_text())
    features["groups"]["risk"] = features["groups"]["risk"][:-1]
    data = (json.dumps(features, indent=2, sort_keys=True) + "\n").encode()
    (copy / "features.json").write_bytes(data)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["files"]["features.json"] = registry._sha256(data)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelArtifactError, match="different feature set"):
        registry.load(copy)


def test_another_catalog_version_loads_with_a_warning(saved_model):
    bundle = registry.load(saved_model, catalog_version="2099.01-deadbeef")
    assert any("trained against catalog" in w for w in bundle.warnings)
    discounted = registry.load(saved_model, catalog_version=bundle.catalog_version + "+disc(aws-10)")
    assert discounted.warnings == ()


def test_training_is_deterministic(catalog, small_log, tiny_bundle, tiny_config):
    from placement.learned.train import train

    again = train(small_log, catalog.offerings, catalog_version=catalog.version, source="test", config=tiny_config)
    assert again.version == tiny_bundle.version
    for name, booster in tiny_bundle.boosters.items():
        assert again.boosters[name].model_to_string() == booster.model_to_string(), name
    assert again.manifest["metrics"] == tiny_bundle.manifest["metrics"]
