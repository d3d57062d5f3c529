"""The stack file and the version store vouch for each other: a lost tail and a hand-edited
plan are caught by every command before anything is written."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from history.versions import SCHEMA_VERSION, canonical_bytes, record_hash
from roost import lifecycle
from roost.cli import main

from testdata import FLEET_V2


def roost(project: Path, *args: str):
    return CliRunner().invoke(main, [*args, "--stack", "dev", "--project-dir", str(project)])


def plan(project: Path, *extra: str):
    return roost(project, "plan", str(project / "fleet.yaml"), "--predictor", "baseline", *extra)


@pytest.fixture
def two_versions(project: Path) -> Path:
    assert plan(project).exit_code == 0
    (project / "fleet.yaml").write_text(FLEET_V2)
    assert plan(project).exit_code == 0
    return project


def store_dir(project: Path) -> Path:
    return Path(lifecycle.store_url(project)) / "dev"


def snapshot(project: Path) -> tuple[str, list[str]]:
    return ((project / "Pulumi.dev.yaml").read_text(),
            sorted(p.name for p in (store_dir(project) / "versions").iterdir()))


def test_a_lost_tail_with_its_head_is_caught_by_every_command(two_versions):
    project = two_versions
    (store_dir(project) / "versions" / "00000002.json").unlink()
    (store_dir(project) / "HEAD").unlink()
    before = snapshot(project)
    for args in (("versions",), ("diff", "1"), ("rollback", "--to", "1")):
        result = roost(project, *args)
        assert result.exit_code == 1, (args, result.output)
        assert "names version 2 but the newest record is 1" in result.output, result.output
    result = plan(project)
    assert result.exit_code == 1 and "reuse their numbers" in result.output
    assert snapshot(project) == before  # no number 2 was written again


def edit_replicas(project: Path) -> None:
    path = project / "Pulumi.dev.yaml"
    doc = yaml.safe_load(path.read_text())
    choice = doc["config"]["roost:plan"]["deployments"][0]["placement"]
    choice["replicas"] = choice["max_replicas"]
    choice["min_replicas"] = min(choice["min_replicas"], choice["replicas"])
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def test_a_hand_edit_is_reported_and_never_silently_overwritten(two_versions):
    project = two_versions
    edit_replicas(project)
    listing = roost(project, "versions", "--json")
    assert listing.exit_code == 0
    data = json.loads(listing.stdout)
    assert not any(v["current"] for v in data["versions"])
    assert "edited by hand after version 2" in data["drift"]

    before = snapshot(project)
    for result in (roost(project, "rollback", "--to", "1"), plan(project)):
        assert result.exit_code == 1, result.output
        assert "edited by hand" in result.output and "--discard-edits" in result.output
    assert snapshot(project) == before

    preview = roost(project, "preview", "--offline")
    assert "Warning: Pulumi.dev.yaml: roost:plan was edited by hand" in preview.output

    result = roost(project, "rollback", "--to", "1", "--discard-edits")
    assert result.exit_code == 0, result.output
    assert "discarded" in result.output
    assert lifecycle.read_config_state(project, "dev").plan_version == 3


def test_an_invalid_hand_edit_still_lets_versions_run_and_says_why(two_versions):
    project = two_versions
    path = project / "Pulumi.dev.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["config"]["roost:plan"]["deployments"][0]["port"] = 8080.7
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    result = roost(project, "versions")
    assert result.exit_code == 0
    assert "not a valid plan" in result.output and "port: must be a whole number" in result.output



def test_a_record_claiming_a_newer_schema_is_a_broken_chain_unless_its_hash_holds(two_versions):
    project = two_versions
    record = store_dir(project) / "versions" / "00000002.json"
    original = record.read_bytes()
    data = json.loads(original)
    data["schema_version"] = 99
    record.write_bytes(canonical_bytes(data))  # hash not updated: edited by hand
    result = roost(project, "versions")
    assert result.exit_code == 1 and "modified after it was written" in result.output
    assert "upgrade roost" not in result.output
    data["hash"] = record_hash(data)
    record.write_bytes(canonical_bytes(data))  # a whole record from a newer roost
    result = roost(project, "versions")
    assert result.exit_code == 2 and "upgrade roost" in result.output and f"up to {SCHEMA_VERSION}" in result.output
