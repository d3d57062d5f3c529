"""The CLI spine through click's runner: contracts, exit codes, no tracebacks."""
from __future__ import annotations

import json

import yaml
from click.testing import CliRunner

from placement.types import HOURS_PER_MONTH
from roost.cli import main

CORE_FIELDS = {"cloud", "region", "instance_type", "accelerator", "accelerator_count", "purchase", "replicas",
               "min_replicas", "max_replicas", "predicted_rps_per_replica", "predicted_p95_latency_ms",
               "hourly_cost_usd", "monthly_cost_usd"}


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_recommend_json_contract(project_root):
    result = run("recommend", str(project_root / "examples/fleet.yaml"), "--json", "--predictor", "baseline")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {"catalog_version", "model_version", "placements"} <= set(data)
    fleet = yaml.safe_load((project_root / "examples/fleet.yaml").read_text())
    assert [p["model"] for p in data["placements"]] == [m["name"] for m in fleet["models"]]
    for p in data["placements"]:
        assert CORE_FIELDS | {"model", "alternatives", "explanation"} <= set(p)
        assert p["purchase"] in ("on_demand", "spot")
        assert (p["accelerator"] is None) == (p["accelerator_count"] == 0)
        assert p["monthly_cost_usd"] == round(p["hourly_cost_usd"] * HOURS_PER_MONTH, 2) or \
            abs(p["monthly_cost_usd"] - p["hourly_cost_usd"] * HOURS_PER_MONTH) < 0.1
        for alt in p["alternatives"]:
            assert CORE_FIELDS <= set(alt)
        assert p["explanation"] and all(isinstance(line, str) for line in p["explanation"])


def test_recommend_table_lists_every_model(project_root):
    result = run("recommend", str(project_root / "examples/fleet.yaml"), "--predictor", "baseline")
    assert result.exit_code == 0
    for name in ("fraud-scorer", "assistant-8b", "drafting-70b", "banner-diffusion"):
        assert name in result.output


def test_bad_fleet_exits_2_with_every_problem(tmp_path):
    bad = tmp_path / "fleet.yaml"
    bad.write_text("version: 1\nmodels:\n  - name: X\n    task: nope\n")
    result = CliRunner().invoke(main, ["recommend", str(bad)])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line]
    assert len(lines) >= 3 and all(line.startswith("Error: ") for line in lines)
    assert "Traceback" not in result.output


def test_infeasible_model_exits_2_naming_model_and_constraint(tmp_path):
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(
        "version: 1\nmodels:\n  - name: giant\n    task: llm-generation\n    framework: vllm\n"
        "    params_millions: 900000\n    precision: fp32\n    accelerator: required\n    image: vllm/vllm:1\n"
        "    clouds: [aws]\n    load: {peak_rps: 1}\n    slo: {p95_latency_ms: 100000}\n")
    result = CliRunner().invoke(main, ["recommend", str(fleet), "--predictor", "baseline"])
    assert result.exit_code == 2
    assert "giant: no feasible placement: no offering in [aws] has ≥" in result.output


def test_unknown_region_is_reported_with_its_path(tmp_path):
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(
        "version: 1\nmodels:\n  - name: m\n    task: tabular\n    framework: sklearn\n    params_millions: 1\n"
        "    precision: fp32\n    image: acme/m:1\n    load: {peak_rps: 10}\n    slo: {p95_latency_ms: 50}\n"
        "    clouds: [gcp]\n    regions: [us-east-1]\n")
    result = CliRunner().invoke(main, ["recommend", str(fleet)])
    assert result.exit_code == 2
    assert "models[0] (m).regions[0]: 'us-east-1' is a aws region, but clouds is [gcp]" in result.output


def test_catalog_show_filters_and_json():
    result = run("catalog", "show", "--cloud", "gcp", "--accelerator", "L4", "--max-price", "1", "--json")
    data = json.loads(result.output)
    assert data["offerings"]
    assert all(o["cloud"] == "gcp" and o["accelerator"] == "L4" and o["price_hour_usd"] <= 1 for o in data["offerings"])
    table = run("catalog", "show", "--region", "eastus", "--accelerator", "none")
    assert "Standard_D2s_v5" in table.output and "NC" not in table.output


def test_catalog_show_rejects_unknown_names():
    result = CliRunner().invoke(main, ["catalog", "show", "--region", "us-east-9"])
    assert result.exit_code == 2 and 'did you mean "us-east-1"' in result.output
    result = CliRunner().invoke(main, ["catalog", "show", "--accelerator", "A100"])
    assert result.exit_code == 2 and "unknown accelerator 'A100'" in result.output


def test_discount_flag_is_validated(project_root):
    result = CliRunner().invoke(main, ["catalog", "show", "--discount", "aws:10"])
    assert result.exit_code == 2 and "CLOUD=PERCENT" in result.output


def test_init_scaffolds_a_project_and_refuses_to_overwrite(tmp_path, project_root):
    target = tmp_path / "serving"
    result = run("init", str(target))
    assert result.exit_code == 0, result.output
    for name in ("Pulumi.yaml", "fleet.yaml", "Pulumi.dev.yaml", ".gitignore", "program/__main__.py"):
        assert (target / name).is_file(), name
    project = yaml.safe_load((target / "Pulumi.yaml").read_text())
    assert project["name"] == "serving" and project["runtime"]["name"] == "python"
    assert (target / project["main"] / "__main__.py").is_file()
    assert "stacks.program" in (target / "program/__main__.py").read_text()
    # The scaffolded fleet is a working fleet.
    rec = run("recommend", str(target / "fleet.yaml"), "--json", "--predictor", "baseline")
    assert rec.exit_code == 0
    again = CliRunner().invoke(main, ["init", str(target)])
    assert again.exit_code == 2 and "not empty" in again.output
    forced = CliRunner().invoke(main, ["init", str(target), "--force"])
    assert forced.exit_code == 2 and "refusing to overwrite" in forced.output


def test_version_and_help():
    assert run("--version").exit_code == 0
    assert "recommend" in run("--help").output


def test_plan_rejects_a_bad_fleet_before_training_any_model(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("ROOST_HOME", str(home))
    project = tmp_path / "proj"
    assert run("init", str(project)).exit_code == 0
    bad = project / "bad.yaml"
    bad.write_text("version: 1\nmodels: []\n")
    result = CliRunner().invoke(main, ["plan", str(bad), "--stack", "dev", "--project-dir", str(project)])
    assert result.exit_code == 2 and "models: must not be empty" in result.output
    assert not (home / "models").exists()  # nothing was trained for a fleet that cannot be placed
    assert "roost:plan" not in (yaml.safe_load((project / "Pulumi.dev.yaml").read_text())["config"] or {})
