"""The quality gate end to end: decisions made by one registry model, a newer default model, both
scored on the same held-out set by the simulator's world."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from placement.learned import registry
from roost.cli import main
from roost.cli.options import StackServices
from roost.gate import checks
from roost.stackfile import write_stack_config
from roost.training import DEFAULT_POINTER, _write_pointer

from testdata import SSH_KEY


@pytest.fixture(scope="module")
def newer_bundle(catalog, small_log, tiny_config):
    """Another tiny model (other seed, so another version), created a day after the session's."""
    import dataclasses

    from placement.learned.train import train

    return train(small_log, catalog.offerings, catalog_version=catalog.version, source="test",
                 config=dataclasses.replace(tiny_config, seed=1), created_at=datetime(2099, 1, 1, tzinfo=UTC))


@pytest.fixture
def learned_project(project: Path, tmp_path: Path, monkeypatch, tiny_bundle, newer_bundle):
    home = tmp_path / "home"
    monkeypatch.setenv("ROOST_HOME", str(home))
    root = home / "models"
    registry.save(tiny_bundle, root)
    _write_pointer(root, tiny_bundle.version)
    write_stack_config(project, "dev", {"roost:gcp": {"project": "acme-ml"},
                                        "roost:azure": {"adminSshPublicKey": SSH_KEY}})
    result = _roost(project, "plan", str(project / "fleet.yaml"), "--stack", "dev", "--predictor", "learned",
                    "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["diff"]["models"][0]["to"] is not None
    return project, root


def _roost(project: Path, *args: str):
    return CliRunner().invoke(main, [*args, "--project-dir", str(project)], obj=StackServices(),
                              catch_exceptions=False)


def _ci(project: Path, *args: str) -> tuple[int, dict]:
    result = _roost(project, "ci", "--stack", "dev", "--json", *args)
    return result.exit_code, json.loads(result.stdout)


def test_decisions_by_the_default_model_pass_without_evaluation(learned_project, tiny_bundle):
    project, _ = learned_project
    code, data = _ci(project)
    quality = next(g for g in data["gates"] if g["name"] == "quality")
    assert code == 0 and quality["status"] == "pass"
    assert data["versions"]["model"] == {"committed": tiny_bundle.version, "current": tiny_bundle.version,
                                         "changed": False}
    assert data["quality"]["committed"] is None  # nothing to compare: no evaluation ran


def test_a_newer_default_model_is_scored_against_the_committing_one_on_the_same_set(
        learned_project, tiny_bundle, newer_bundle):
    project, root = learned_project
    registry.save(newer_bundle, root)
    _write_pointer(root, newer_bundle.version)
    code, data = _ci(project)
    quality = next(g for g in data["gates"] if g["name"] == "quality")
    evidence = data["quality"]
    assert evidence["committed"]["version"] == tiny_bundle.version
    assert evidence["candidate"]["version"] == newer_bundle.version
    assert evidence["held_out"] == {"profiles": 60, "seed": 1515}
    assert evidence["committed"]["models"] == evidence["candidate"]["models"] == 60
    assert data["versions"]["model"]["changed"] is True
    # The stale check recomputed with the model that made the decisions, so nothing is stale.
    assert next(g for g in data["gates"] if g["name"] == "stale")["status"] == "pass"

    def score(d: dict) -> checks.ModelScore:
        return checks.ModelScore(**{k: (float("nan") if v is None else v) if k.endswith(("rate", "regret")) else v
                                    for k, v in d.items()})

    worse = checks.regressions(score(evidence["committed"]), score(evidence["candidate"]))
    assert quality["status"] == ("fail" if worse else "pass")
    assert code == (1 if worse else 0)
    # Deterministic: the same set, the same figures on a second run.
    assert _ci(project)[1]["quality"] == evidence


def test_a_worse_default_model_fails_the_gate_naming_both_models(learned_project, tiny_bundle, newer_bundle,
                                                                  monkeypatch):
    project, root = learned_project
    registry.save(newer_bundle, root)
    _write_pointer(root, newer_bundle.version)

    def scores(bundles, *, n_profiles, seed):
        base = dict(created_at=None, failure_rate=0.01, median_regret=0.10, placed=n_profiles, models=n_profiles)
        return {"committed": checks.ModelScore(version=bundles["committed"].version, slo_miss_rate=0.05, **base),
                "candidate": checks.ModelScore(version=bundles["candidate"].version, slo_miss_rate=0.20, **base)}

    monkeypatch.setattr("roost.gate.run.score_models", scores)
    result = _roost(project, "ci", "--stack", "dev")
    assert result.exit_code == 1
    assert f"default model {newer_bundle.version} evaluates worse than {tiny_bundle.version}" in result.stderr
    assert "SLO miss rate 20.0% vs 5.0%" in result.stderr


def test_a_damaged_default_pointer_or_model_is_invalid_input(learned_project, tiny_bundle):
    project, root = learned_project
    (root / DEFAULT_POINTER).write_text("{not json")
    result = _roost(project, "ci", "--stack", "dev")
    assert result.exit_code == 2 and "default-model pointer" in result.stderr
    _write_pointer(root, tiny_bundle.version)
    model_file = next((root / tiny_bundle.version).glob("saturation*.txt"))
    model_file.write_text(model_file.read_text() + "\n")
    result = _roost(project, "ci", "--stack", "dev")
    assert result.exit_code == 2 and "sha256 does not match" in result.stderr
