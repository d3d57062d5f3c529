"""A tiny trained model shared by the learned-placement tests (trained once per session)."""
from __future__ import annotations

import pytest

from placement.learned.train import TrainConfig

# Small and quick, but every stage runs: grouped CV, early stopping, distillation.
TINY = TrainConfig(seed=0, num_threads=1, learning_rate=0.3, num_leaves=15, max_rounds=40,
                   early_stopping_rounds=10, cv_folds=2, distill_hardware_per_profile=4)


@pytest.fixture(scope="session")
def small_log(catalog):
    from history.simulate import simulate

    return simulate(5000, seed=3, catalog=catalog)


@pytest.fixture(scope="session")
def tiny_bundle(catalog, small_log):
    from placement.learned.train import train

    return train(small_log, catalog.offerings, catalog_version=catalog.version, source="test",
                 config=TINY)


@pytest.fixture(scope="session")
def saved_model(tmp_path_factory, tiny_bundle):
    from placement.learned import registry

    return registry.save(tiny_bundle, tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def learned(saved_model):
    from placement.learned import registry
    from placement.learned.predictor import LearnedPredictor

    return LearnedPredictor(registry.load(saved_model))


@pytest.fixture(scope="session")
def tiny_config() -> TrainConfig:
    return TINY


@pytest.fixture(scope="session")
def held_out_specs():
    """Specs sampled with a seed the small log was not drawn with."""
    from history.population import sample_specs

    return sample_specs(12, seed=99)
