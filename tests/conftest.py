from __future__ import annotations

from pathlib import Path

import pytest

from placement.learned.train import TrainConfig
from placement.plan import DeploymentPlan

from testdata import FLEET_V1, FLEET_V2, SSH_KEY

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def project_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def catalog():
    from placement.catalog import load_catalog

    return load_catalog()


@pytest.fixture(autouse=True)
def _isolated_roost_home(tmp_path_factory, monkeypatch):
    # No test may read or write the developer's own caches or state.
    home = tmp_path_factory.getbasetemp() / "roost-home"
    monkeypatch.setenv("ROOST_HOME", str(home))
    monkeypatch.delenv("ROOST_STATE_DIR", raising=False)
    monkeypatch.delenv("ROOST_CATALOG", raising=False)


# A tiny trained model shared by the learned-placement tests (trained once per session).

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


@pytest.fixture
def fleet_texts() -> tuple[str, str]:
    """Two fleet files whose decisions differ (v1, v2)."""
    return FLEET_V1, FLEET_V2


@pytest.fixture(scope="session")
def example_plan(catalog) -> DeploymentPlan:
    from roost.workflows import predictor_for, recommend_fleet

    root = Path(__file__).resolve().parents[1]
    result = recommend_fleet(root / "examples" / "fleet.yaml", catalog, predictor_for("baseline"))
    return DeploymentPlan.from_recommendation(result.fleet, result.recommendation)


@pytest.fixture(scope="session")
def example_project(tmp_path_factory, example_plan) -> Path:
    """A project dir with Pulumi.yaml and Pulumi.dev.yaml holding the example plan and settings."""
    from roost.stackfile import write_plan, write_stack_config

    root = Path(__file__).resolve().parents[1]
    project = tmp_path_factory.mktemp("project")
    (project / "Pulumi.yaml").write_text((root / "Pulumi.yaml").read_text())
    write_plan(project, "dev", example_plan)
    write_stack_config(project, "dev", {
        "roost:planVersion": 7,
        "roost:gcp": {"project": "acme-ml"},
        "roost:azure": {"adminSshPublicKey": SSH_KEY},
        # As `pulumi config set --secret --path roost:secrets.hf-token` stores it: ciphertext only.
        "roost:secrets": {"hf-token": {"secure": "v1:AAAAciphertextAAAA"}},
    })
    return project
