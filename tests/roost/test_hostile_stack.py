"""Stack files, version stores and engines in states a careless or hostile user leaves them in."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from roost import lifecycle
from roost.cli import main
from roost.engine import EngineUnavailableError, PulumiAutomationRunner


def roost(project: Path, *args: str):
    return CliRunner().invoke(main, [*args, "--stack", "dev", "--project-dir", str(project)])


def plan(project: Path):
    return roost(project, "plan", str(project / "fleet.yaml"), "--predictor", "baseline")


def one_line_error(result, code: int, *words: str) -> None:
    assert result.exit_code == code, result.output
    assert "internal error" not in result.output and "Traceback" not in result.output
    assert all(w in result.output for w in words), result.output


def test_a_binary_stack_file_is_refused(project):
    (project / "Pulumi.dev.yaml").write_bytes(bytes(range(128, 256)))
    for args in (("versions",), ("preview", "--offline")):
        one_line_error(roost(project, *args), 2, "Pulumi.dev.yaml", "not UTF-8")


def test_a_stack_file_that_is_a_directory_is_refused_and_nothing_is_recorded(project):
    (project / "Pulumi.dev.yaml").mkdir()
    one_line_error(plan(project), 2, "Pulumi.dev.yaml", "directory")
    one_line_error(roost(project, "versions"), 2, "directory")
    assert not (Path(lifecycle.store_url(project)) / "dev" / "versions").exists()


def test_a_lock_that_is_a_directory_is_refused(project):
    lock = Path(lifecycle.store_url(project)) / "dev" / ".lock"
    lock.mkdir(parents=True)
    one_line_error(plan(project), 2, ".lock")


def test_a_record_that_is_a_directory_is_refused(project):
    assert plan(project).exit_code == 0
    record = Path(lifecycle.store_url(project)) / "dev" / "versions" / "00000001.json"
    record.unlink()
    record.mkdir()
    one_line_error(roost(project, "versions"), 2, "00000001.json")


def test_a_pulumi_whose_version_command_fails_is_an_engine_error(project, tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "pulumi"
    fake.write_text("#!/bin/sh\necho broken >&2\nexit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    runner = PulumiAutomationRunner(project, "dev", on_output=None, policy_packs=[])
    with pytest.raises(EngineUnavailableError, match="`pulumi version` failed with exit status 1"):
        runner.check_available()


def _copy_project(example_project: Path, tmp_path: Path) -> Path:
    import shutil

    target = tmp_path / "copy"
    shutil.copytree(example_project, target)
    return target


def _edit_plan(project: Path, edit) -> None:
    import yaml

    path = project / "Pulumi.dev.yaml"
    doc = yaml.safe_load(path.read_text())
    edit(doc["config"])
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def test_the_budget_policy_judges_recomputed_costs_not_the_plans(example_project, example_plan, tmp_path):
    project = _copy_project(example_project, tmp_path)
    stated = example_plan.monthly_cost_usd

    def scale_up(config):
        choice = config["roost:plan"]["deployments"][0]["placement"]
        choice.update(replicas=choice["replicas"] * 20, max_replicas=choice["replicas"] * 30)  # cost left as it was
        config["roost:budgets"] = {"stack": round(stated + 1)}

    _edit_plan(project, scale_up)
    result = roost(project, "preview", "--offline", "--json")
    assert result.exit_code == 1, result.output
    import json

    report = json.loads(result.stdout)
    assert report["summary"]["monthly_cost_usd"] > stated + 100
    assert any(v["policy"] == "budget-caps" for v in report["policy_violations"])


@pytest.mark.parametrize("edit, words", [
    (lambda c: c["roost:plan"]["deployments"][0]["placement"].update(hourly_cost_usd=-5.0), "must be ≥ 0"),
    (lambda c: c["roost:plan"]["deployments"][0]["placement"].update(region="mars-north-1"), "mars-north-1"),
    (lambda c: c["roost:plan"]["deployments"][0].update(port=8080.7), "port: must be a whole number"),
    (lambda c: c.update({"roost:plan": {}}), "roost:plan: is empty"),
])
def test_a_hand_edited_plan_is_refused_by_the_offline_preview(example_project, tmp_path, edit, words):
    project = _copy_project(example_project, tmp_path)
    _edit_plan(project, edit)
    one_line_error(roost(project, "preview", "--offline"), 2, words)
