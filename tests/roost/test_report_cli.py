"""`roost report` end to end on a project with three versions: formats, files, bad input."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from history.versions import Provenance
from roost import lifecycle
from roost.cli import main
from roost.cli.options import StackServices

from testdata import FLEET_V1, FLEET_V2, HF_TOKEN

WHO = Provenance(author="Ada <ada@example.test>", roost_version="test")
CIPHERTEXT = "v1:AAABBBCCCdddEEE/encrypted-secret-value=="


def roost(project: Path, *args: str, stack: str = "dev"):
    return CliRunner().invoke(main, [*args, "--stack", stack, "--project-dir", str(project)],
                              obj=StackServices(provenance=lambda _: WHO))


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("report") / "proj"
    root.mkdir()
    (root / "Pulumi.yaml").write_text("name: proj\nruntime: python\n")
    fleet = root / "fleet.yaml"
    # v1 with a model budget; v2 moves fraud-scorer and quadruples ticket-intent's load; v3 rolls back to v1.
    fleet.write_text(FLEET_V1.replace("team: risk", "team: risk\n    budget_monthly_usd: 120"))
    for text in (None, FLEET_V2):
        if text:
            fleet.write_text(text)
        result = roost(root, "plan", str(fleet), "--predictor", "baseline")
        assert result.exit_code == 0, result.output
    assert roost(root, "rollback", "--to", "1").exit_code == 0
    config_path = root / "Pulumi.dev.yaml"
    doc = yaml.safe_load(config_path.read_text())
    doc["config"].update({"roost:budgets": {"stack": 2000, "teams": {"risk": 100, "support": 400}},
                          "roost:secrets": {"HF_TOKEN": HF_TOKEN},
                          "roost:secrets.DB_PASSWORD": {"secure": CIPHERTEXT}})
    config_path.write_text(yaml.safe_dump(doc))
    return root


def versions(project: Path) -> dict[int, float]:
    result = roost(project, "versions", "--json")
    return {v["version"]: v["monthly_cost_usd"] for v in json.loads(result.stdout)["versions"]}


def report_json(project: Path, *args: str) -> dict:
    result = roost(project, "report", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_default_is_the_newest_version_against_the_one_before(project):
    data = report_json(project)
    costs = versions(project)
    assert (data["version"], data["compared_version"], data["reason"]) == (3, 2, "rollback to 1")
    assert data["total_monthly_cost_usd"] == costs[3] and data["previous_total_monthly_cost_usd"] == costs[2]
    assert data["delta_monthly_cost_usd"] == round(costs[3] - costs[2], 2)
    assert [v["rollback"] for v in data["versions"]] == [False, False, True]


def test_a_rollback_shows_the_rationale_of_the_version_it_restored(project):
    data = report_json(project)
    for m in data["models"]:
        assert m["explanation"] and m["runners_up"] and m["confidence"] is not None
        assert all(r["delta_monthly_cost_usd"] >= -0.005 or not r["feasible"] for r in m["runners_up"])


def test_version_and_compare_pick_the_records(project):
    data = report_json(project, "--version", "2", "--compare", "1")
    costs = versions(project)
    assert (data["version"], data["compared_version"]) == (2, 1)
    assert data["delta_monthly_cost_usd"] == round(costs[2] - costs[1], 2)
    moved = {m["model"]: m["change"] for m in data["change"]["models"]}
    assert moved == {"fraud-scorer": "moved", "ticket-intent": "resized"}


def test_budgets_from_the_fleet_and_the_stack(project):
    data = report_json(project, "--version", "1")
    teams = {t["name"]: (t["budget_monthly_usd"], t["budget_status"]) for t in data["teams"]}
    assert teams["risk"][0] == 100.0 and teams["support"][0] == 400.0
    fraud = next(m for m in data["models"] if m["name"] == "fraud-scorer")
    assert fraud["budget_monthly_usd"] == 120.0
    assert fraud["budget_status"] == ("near" if fraud["monthly_cost_usd"] >= 108 else "under")
    assert data["budget"]["stack_monthly_usd"] == 2000.0


@pytest.mark.parametrize("fmt", ["html", "md", "csv", "json"])
def test_no_secret_in_any_format(project, fmt, tmp_path):
    out = tmp_path / f"report.{fmt}"
    result = roost(project, "report", "--format", fmt, "-o", str(out))
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert HF_TOKEN not in text and CIPHERTEXT not in text and "ada@example.test" not in text


def test_html_goes_to_a_default_file_and_is_self_contained(project, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = roost(project, "report")
    assert result.exit_code == 0, result.output
    path = tmp_path / "roost-report-dev-v3.html"
    html = path.read_text()
    assert html.startswith("<!DOCTYPE html>") and html.count("<svg") == 3
    for forbidden in ("<script", "<link", "@import", "@font-face", "http://", "https://", "src="):
        assert forbidden not in html.replace('xmlns="http://www.w3.org/2000/svg"', "").replace(
            'xmlns:xlink="http://www.w3.org/1999/xlink"', "")
    assert "rollback to v1" in html
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # shareable, not the temp file's 0600


def test_other_formats_go_to_stdout(project, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = roost(project, "report", "--format", "csv")
    assert result.exit_code == 0 and result.stdout.startswith("model,team,")
    assert list(tmp_path.iterdir()) == []


def test_actual_vs_predicted_from_ingested_logs(project, tmp_path, catalog):
    from history.schema import write_log
    from history.simulate import simulate

    data = report_json(project, "--version", "1")
    fraud = next(m for m in data["models"] if m["name"] == "fraud-scorer")
    frame = simulate(3, seed=3, catalog=catalog).head(2).copy()
    for col, value in {"cloud": fraud["cloud"], "region": fraud["region"], "instance_type": fraud["instance_type"],
                       "purchase": fraud["purchase"], "task": "tabular", "framework": "lightgbm",
                       "params_millions": 2.0, "precision": "fp32", "hours": 10.0}.items():
        frame[col] = value
    observed_hourly = fraud["hourly_cost_usd"] * 1.10  # 10 % over the forecast
    frame["cost_usd"] = observed_hourly * 10.0
    logs = tmp_path / "deployments.parquet"
    write_log(frame, logs)
    data = report_json(project, "--version", "1", "--logs", str(logs))
    actual = data["actual_vs_predicted"]
    assert actual["available"] is True
    (line,) = actual["models"]
    assert line["model"] == "fraud-scorer" and line["windows"] == 2 and line["hours"] == 20.0
    assert line["error_pct"] == pytest.approx(10.0, abs=0.01)


def test_no_logs_leaves_the_section_out_saying_why(project):
    data = report_json(project)
    assert data["actual_vs_predicted"]["available"] is False
    assert "deployments.parquet does not exist" in data["actual_vs_predicted"]["note"]


def _one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in result.output
    return lines[0]


def test_unknown_stack_is_exit_2(project):
    assert "unknown stack 'nope'" in _one_error_line(roost(project, "report", "--format", "json", stack="nope"))


@pytest.mark.parametrize("args", [["--version", "9"], ["--compare", "7"]])
def test_unknown_version_is_exit_2(project, args):
    assert "has no version" in _one_error_line(roost(project, "report", "--format", "json", *args))


def _unwritable(tmp_path: Path) -> Path:
    if os.geteuid() == 0:  # root writes anywhere a permission bit allows; /proc refuses new files
        return Path("/proc/roost-report.html")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    return locked / "report.html"


@pytest.mark.parametrize("where", ["missing dir", "a directory", "unwritable"])
def test_bad_output_path_is_exit_2_and_leaves_nothing(project, tmp_path, where):
    path = {"missing dir": tmp_path / "nope" / "r.html", "a directory": tmp_path,
            "unwritable": _unwritable(tmp_path)}[where]
    before = sorted(p.name for p in tmp_path.rglob("*"))
    line = _one_error_line(roost(project, "report", "-o", str(path)))
    assert str(path) in line
    assert not path.is_file() and sorted(p.name for p in tmp_path.rglob("*")) == before


def test_a_broken_chain_is_exit_2_and_writes_nothing(project, tmp_path):
    import shutil

    broken = tmp_path / "proj"
    shutil.copytree(project, broken)
    record = next((broken / ".roost").rglob("00000002.json"))
    raw = bytearray(record.read_bytes())
    at = raw.index(b'"author":"Ada') + 11
    raw[at] ^= 0x01
    record.write_bytes(bytes(raw))
    out = tmp_path / "r.html"
    line = _one_error_line(roost(broken, "report", "-o", str(out)))
    assert "integrity check" in line and "version 2" in line
    assert not out.exists()


def test_a_version_recorded_without_rationale_still_reports(tmp_path):
    from history.versions import FleetSource, VersionDraft, VersionStore
    from placement.baseline import HeuristicPredictor
    from placement.catalog import load_catalog
    from placement.plan import DeploymentPlan
    from roost.workflows import recommend_fleet

    root = tmp_path / "old"
    root.mkdir()
    (root / "Pulumi.yaml").write_text("name: old\nruntime: python\n")
    text = FLEET_V1.replace("team: risk", "team: risk\n    budget_monthly_usd: 120")
    (root / "fleet.yaml").write_text(text)
    result = recommend_fleet(root / "fleet.yaml", load_catalog(), HeuristicPredictor())
    plan = DeploymentPlan.from_recommendation(result.fleet, result.recommendation)
    with VersionStore(lifecycle.store_url(root)).writer("dev") as w:  # as a roost before rationales wrote it
        w.append(VersionDraft(reason="plan", plan=plan, provenance=WHO,
                              fleet=FleetSource(path="fleet.yaml", sha256=result.fleet.sha256, content=text)))
    data = report_json(root)
    fraud = next(m for m in data["models"] if m["name"] == "fraud-scorer")
    assert fraud["budget_monthly_usd"] == 120.0 and fraud["runners_up"] == [] and fraud["rationale_recorded"] is False
    assert any("not recorded with version 1" in n for n in data["assumptions"]["notes"])
