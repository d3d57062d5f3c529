"""plan → versions → diff → rollback → up through the CLI, with a FakeRunner for the engine."""
from __future__ import annotations

import gzip
import json
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from history.versions import Provenance, VersionDraft, VersionStore
from roost import lifecycle
from roost.cli import main
from roost.cli.options import StackServices
from roost.engine import SECRET_SIGNATURE, SECRET_SIGNATURE_KEY, FakeRunner
from roost.stackfile import read_plan

WHO = Provenance(author="Ada <ada@example.test>", roost_version="test")


class Env:
    def __init__(self, project: Path, runner: FakeRunner | None = None):
        self.project = project
        self.runner = runner or FakeRunner("dev", read_plan_version=self.config_version)
        self.services = StackServices(runner_factory=self._runner, provenance=lambda _: WHO)
        self.factory_calls = 0

    def _runner(self, project_dir: Path, stack: str) -> FakeRunner:
        assert project_dir == self.project.resolve() and stack == "dev"
        self.factory_calls += 1
        return self.runner

    def config_version(self) -> int | None:
        return lifecycle.read_config_state(self.project, "dev").plan_version

    def roost(self, *args: str, stack: str = "dev"):
        return CliRunner().invoke(main, [*args, "--stack", stack, "--project-dir", str(self.project)],
                                  obj=self.services, catch_exceptions=False)

    def json(self, *args: str) -> dict:
        result = self.roost(*args, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def store(self) -> VersionStore:
        return VersionStore(lifecycle.store_url(self.project))

    def write_fleet(self, text: str) -> None:
        (self.project / "fleet.yaml").write_text(text)

    def plan(self, *extra: str) -> dict:
        return self.json("plan", str(self.project / "fleet.yaml"), "--predictor", "baseline", *extra)


@pytest.fixture
def env(project) -> Env:
    return Env(project)


def test_whole_life_plan_change_diff_rollback_versions(env, fleet_texts):
    v1_text, v2_text = fleet_texts
    first = env.plan()
    assert (first["version"], first["created"], first["reason"]) == (1, True, "plan")
    assert first["diff"]["summary"]["added"] == 2

    env.write_fleet(v2_text)
    second = env.plan()
    assert (second["version"], second["created"], second["previous_version"]) == (2, True, 1)
    assert second["monthly_cost_delta_usd"] == second["diff"]["monthly_cost_delta_usd"] != 0

    diff = env.json("diff", "1", "2")
    fraud = next(m for m in diff["models"] if m["model"] == "fraud-scorer")
    assert fraud["change"] == "moved"
    assert fraud["changes"]["cloud"] == {"from": "aws", "to": "gcp"}
    ticket = next(m for m in diff["models"] if m["model"] == "ticket-intent")
    assert ticket["change"] != "unchanged"
    assert diff["monthly_cost_delta_usd"] == pytest.approx(
        second["monthly_cost_usd"] - first["monthly_cost_usd"], abs=0.02)

    back = env.json("rollback", "--to", "1")
    assert (back["version"], back["created"], back["reason"], back["restored_version"]) == (3, True, "rollback to 1",
                                                                                            1)
    assert back["decisions_sha256"] == first["decisions_sha256"]
    assert back["monthly_cost_delta_usd"] == pytest.approx(-diff["monthly_cost_delta_usd"], abs=0.02)
    assert back["applied"] is False

    listing = env.json("versions")
    assert [(v["version"], v["reason"]) for v in listing["versions"]] == [(1, "plan"), (2, "plan"),
                                                                           (3, "rollback to 1")]
    assert [v["current"] for v in listing["versions"]] == [False, False, True]
    assert listing["versions"][2]["models_changed"] == diff["models_changed"]
    assert not any(v["applied"] for v in listing["versions"])

    # What `pulumi up` reads: Pulumi.dev.yaml holds version 1's decisions under plan version 3.
    assert read_plan(env.project, "dev").decisions_sha256() == first["decisions_sha256"]
    config = yaml.safe_load((env.project / "Pulumi.dev.yaml").read_text())["config"]
    assert config["roost:planVersion"] == 3
    assert env.runner.calls == []  # nothing touched the engine

    # Re-planning the first fleet now changes nothing: version 3 already holds those decisions.
    env.write_fleet(v1_text)
    again = env.plan()
    assert (again["created"], again["version"]) == (False, 3)
    assert len(env.store().read("dev")) == 3


def test_identical_decisions_record_nothing_and_say_so(env):
    env.plan()
    result = env.roost("plan", str(env.project / "fleet.yaml"), "--predictor", "baseline")
    assert result.exit_code == 0
    assert "no new version" in result.stdout
    assert len(env.store().read("dev")) == 1


def test_other_stack_keys_survive_a_plan(env):
    (env.project / "Pulumi.dev.yaml").write_text("config:\n  roost:gcpProject: acme-prod\n  aws:region: us-east-1\n")
    env.plan()
    config = yaml.safe_load((env.project / "Pulumi.dev.yaml").read_text())["config"]
    assert config["roost:gcpProject"] == "acme-prod" and config["aws:region"] == "us-east-1"
    assert config["roost:planVersion"] == 1


def test_interrupted_plan_is_detected_refused_by_up_and_repaired_by_plan(env, fleet_texts):
    env.plan()
    env.write_fleet(fleet_texts[1])
    assert env.plan()["version"] == 2
    # A plan of the first fleet killed after recording version 3, before writing the config.
    store = env.store()
    with store.writer("dev") as w:
        w.append(VersionDraft(reason="plan", plan=store.read("dev").get(1).plan, provenance=WHO))
    assert env.config_version() == 2
    up = env.roost("up", "--yes")
    assert up.exit_code == 1
    assert "refusing to deploy" in up.output and "version 3" in up.output and "interrupted" in up.output
    assert "up" not in env.runner.ops()
    env.write_fleet(fleet_texts[0])
    repaired = env.plan()
    assert repaired["created"] is False and repaired["config_written"] is True
    assert any("interrupted" in w for w in repaired["warnings"])
    assert env.config_version() == 3
    assert env.roost("up", "--yes").exit_code == 0


def test_up_refuses_a_hand_edited_plan(env):
    env.plan()
    path = env.project / "Pulumi.dev.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["config"]["roost:plan"]["deployments"][0]["placement"]["replicas"] = 9
    path.write_text(yaml.safe_dump(doc))
    result = env.roost("up", "--yes")
    assert result.exit_code == 1
    assert "edited by hand" in result.output and "roost plan" in result.output
    assert env.runner.ops() == ["check_available"]


def test_up_deploys_records_apply_with_redacted_outputs_and_checkpoint(env):
    env.plan()
    out = env.json("up", "--yes")
    assert (out["applied"], out["plan_version"], out["version"]) == (True, 1, 2)
    assert out["outputs"] == {"endpoint": "https://fleet.example.test", "token": "[secret]"}
    assert env.runner.ops() == ["check_available", "up", "export_state"]
    up_call = env.runner.calls[1][1]
    assert up_call["plan_version"] == 1
    history = env.store().read("dev")
    assert up_call["message"] == f"roost plan v1 decisions={history.get(1).decisions_sha256[:12]}"
    applied = history.get(2)
    assert applied.reason == "apply" and applied.plan_version == 1 and applied.applied
    assert applied.decisions_sha256 == history.get(1).decisions_sha256
    assert applied.engine.update_version == 1
    checkpoint = json.loads(env.store().read_blob("dev", applied.engine.checkpoint))
    assert checkpoint["deployment"]["resources"][0]["urn"].endswith("plan-v1")
    listing = env.json("versions")["versions"]
    assert [(v["applied"], v["applied_by"]) for v in listing] == [(True, 2), (True, None)]
    assert listing[0]["current"] is True
    # An applied stack may be applied again (drift repair): another apply version.
    assert env.json("up", "--yes")["version"] == 3


def test_plaintext_secrets_never_reach_the_store(env):
    env.plan()
    leaky = {"version": 3, "deployment": {"resources": [{"outputs": {"password": {
        SECRET_SIGNATURE_KEY: SECRET_SIGNATURE, "plaintext": "\"hunter2\""}}}]}}
    env.runner.export_state = lambda: leaky  # type: ignore[method-assign]
    out = env.json("up", "--yes")
    assert any("masked" in w for w in out["warnings"])
    store_dir = Path(lifecycle.store_url(env.project))
    blobs = list(store_dir.rglob("*.json.gz"))
    assert blobs and all(b"hunter2" not in gzip.decompress(b.read_bytes()) for b in blobs)
    assert all(b"hunter2" not in p.read_bytes() for p in store_dir.rglob("*.json"))


def test_up_needs_yes_without_a_terminal(env):
    env.plan()
    result = env.roost("up")
    assert result.exit_code == 2 and "--yes" in result.output
    assert env.runner.calls == []


def test_engine_failure_records_nothing(env):
    env.plan()
    env.runner = FakeRunner("dev", fail={"up": "aws: UnauthorizedOperation"})
    result = env.roost("up", "--yes")
    assert result.exit_code == 3
    assert "UnauthorizedOperation" in result.output and "Nothing was recorded as applied" in result.output
    assert len(env.store().read("dev")) == 1


def test_failed_export_still_records_the_apply_without_checkpoint(env):
    env.plan()
    env.runner = FakeRunner("dev", fail={"export_state": "backend unreachable"})
    out = env.json("up", "--yes")
    assert out["applied"] and out["checkpoint"] is None
    assert any("no checkpoint was stored" in w for w in out["warnings"])


def test_rollback_apply_refreshes_then_deploys_and_never_imports_state(env, fleet_texts):
    env.plan()
    env.json("up", "--yes")
    env.write_fleet(fleet_texts[1])
    env.plan()
    env.json("up", "--yes")
    env.runner.calls.clear()
    out = env.json("rollback", "--to", "1", "--apply", "--yes")
    assert out["version"] == 5 and out["reason"] == "rollback to 1"
    assert out["applied"] and out["apply"]["version"] == 6 and out["apply"]["plan_version"] == 5
    assert env.runner.ops() == ["check_available", "refresh", "up", "export_state"]
    assert "import_state" not in env.runner.ops()
    assert env.runner.calls[2][1]["plan_version"] == 5
    history = env.store().read("dev")
    assert [r.reason for r in history.records] == ["plan", "apply", "plan", "apply", "rollback to 1", "apply"]
    assert history.get(6).decisions_sha256 == history.get(1).decisions_sha256
    assert env.runner.state["deployment"]["resources"][0]["urn"].endswith("plan-v5")


def test_rollback_to_the_current_decisions_records_nothing(env):
    env.plan()
    out = env.json("rollback", "--to", "1")
    assert out["created"] is False and out["version"] == 1
    assert len(env.store().read("dev")) == 1


def test_rollback_to_unknown_version_is_input_error(env):
    env.plan()
    result = env.roost("rollback", "--to", "4")
    assert result.exit_code == 2 and "no version 4" in result.output


def test_state_restore_imports_a_stored_checkpoint_behind_confirmation(env):
    env.plan()
    env.json("up", "--yes")
    saved = json.loads(json.dumps(env.runner.state))
    env.runner.state = {"version": 3, "deployment": {"resources": []}}  # a broken state
    refused = env.roost("state", "restore", "--version", "2")
    assert refused.exit_code == 2 and "--yes" in refused.output
    assert "import_state" not in env.runner.ops()
    out = env.json("state", "restore", "--version", "2", "--yes")
    assert out == {"stack": "dev", "source": "version 2", "resources": 1, "imported": True,
                   "warnings": out["warnings"]}
    assert env.runner.state == saved
    assert len(env.store().read("dev")) == 2  # repairing state is not a new version
    no_checkpoint = env.roost("state", "restore", "--version", "1", "--yes")
    assert no_checkpoint.exit_code == 2 and "no exported state checkpoint" in no_checkpoint.output


def test_state_restore_converts_a_diy_checkpoint_file(env, tmp_path):
    env.plan()
    checkpoint = {"version": 3, "features": [], "checkpoint": {"stack": "dev", "latest": {
        "manifest": {}, "resources": [{"urn": "a"}, {"urn": "b"}]}}}
    path = tmp_path / "dev-1700000000.checkpoint.json"
    path.write_text(json.dumps(checkpoint))
    out = env.json("state", "restore", "--file", str(path), "--yes")
    assert out["resources"] == 2
    imported = env.runner.state
    assert imported == {"version": 3, "deployment": checkpoint["checkpoint"]["latest"]}


def test_flipped_byte_fails_versions_with_exit_1(env):
    env.plan()
    record = next(Path(lifecycle.store_url(env.project)).rglob("00000001.json"))
    raw = bytearray(record.read_bytes())
    at = raw.index(b'"author":"Ada') + 11
    raw[at] ^= 0x01
    record.write_bytes(bytes(raw))
    result = env.roost("versions")
    assert result.exit_code == 1
    assert "integrity check" in result.output and "version 1" in result.output and "Traceback" not in result.output
    plan = env.roost("plan", str(env.project / "fleet.yaml"), "--predictor", "baseline")
    assert plan.exit_code == 1


def test_object_store_url_through_fsspec(env, fleet_texts):
    # memory:// stands in for an object store; the CLI itself refuses it (see the next test).
    env.services = StackServices(runner_factory=env._runner, provenance=lambda _: WHO,
                                 store_factory=lambda url, timeout: VersionStore(url, lock_timeout=timeout))
    url = f"memory://roost-{uuid.uuid4().hex}/stacks"
    env.plan("--store", url)
    env.write_fleet(fleet_texts[1])
    env.plan("--store", url)
    listing = env.json("versions", "--store", url)
    assert [v["version"] for v in listing["versions"]] == [1, 2]
    assert listing["store"].startswith("memory://")
    assert not (env.project / ".roost").exists()


@pytest.mark.parametrize("url", ["memory://roost-vanishes/stacks", "ftp://x", "/dev/null"])
def test_a_store_that_cannot_hold_versions_is_refused_in_one_line(env, url):
    result = env.roost("plan", str(env.project / "fleet.yaml"), "--predictor", "baseline", "--store", url)
    assert result.exit_code == 2, result.output
    assert "version store" in result.output and "internal error" not in result.output
    assert not (env.project / "Pulumi.dev.yaml").exists()  # nothing recorded, nothing written


def test_engine_preview_carries_the_plan_version(env):
    env.plan()
    outcome = lifecycle.engine_preview(project_dir=env.project, stack="dev", runner=env.runner)
    assert outcome.operation == "preview"
    assert env.runner.calls[0][1]["message"].startswith("roost preview plan v1 decisions=")


def test_provenance_outside_and_inside_git(tmp_path):
    outside = lifecycle.provenance(tmp_path)
    assert outside.git_commit is None and outside.author
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=Grace", "-c", "user.email=g@example.test"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "f").write_text("x")
    subprocess.run([*git, "add", "f"], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    inside = lifecycle.provenance(repo)
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert inside.git_commit == head and inside.git_dirty is False


def test_bad_fleet_records_nothing(env):
    env.write_fleet("version: 1\nmodels:\n  - name: Bad Name\n")
    result = env.roost("plan", str(env.project / "fleet.yaml"), "--predictor", "baseline")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert env.store().read("dev").latest is None
    assert not (env.project / "Pulumi.dev.yaml").exists()


def test_human_output_names_versions_reasons_and_moves(env, fleet_texts):
    env.plan()
    env.write_fleet(fleet_texts[1])
    planned = env.roost("plan", str(env.project / "fleet.yaml"), "--predictor", "baseline")
    assert "Recorded version 2" in planned.stdout and "moved" in planned.stdout
    assert "Monthly cost:" in planned.stdout and "pulumi up --stack dev" in planned.stdout
    env.roost("rollback", "--to", "1")
    table = env.roost("versions").stdout
    assert "rollback to 1" in table and "Ada" in table and "ada@example.test" not in table
    diff = env.roost("diff", "1", "2").stdout
    assert "fraud-scorer" in diff and "cloud aws → gcp" in diff


def test_preview_without_offline_goes_through_the_runner(env):
    env.plan()
    result = CliRunner().invoke(main, ["preview", "--stack", "dev", "--project-dir", str(env.project), "--json"],
                                obj=env.services, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["stack"], data["engine"], data["operation"]) == ("dev", "pulumi", "preview")
    assert env.runner.ops() == ["preview"]
    assert env.runner.calls[0][1]["message"].startswith("roost preview plan v1 decisions=")
