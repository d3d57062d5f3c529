"""`roost ci` end to end through click's runner, on small fixture projects planned with the baseline.

Each test builds a project (Pulumi.yaml, fleet file, stack settings), records a plan with
`roost plan`, changes something the way a pull request would, and runs the gate.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from history.versions import Provenance
from roost.cli import main
from roost.cli.options import StackServices
from roost.report.fmt import money, percent, signed_money
from roost.stackfile import write_stack_config

from testdata import FLEET_V1, FLEET_V2, SSH_KEY

WHO = Provenance(author="Ada <ada@example.test>", roost_version="test")
SETTINGS = {"roost:gcp": {"project": "acme-ml"}, "roost:azure": {"adminSshPublicKey": SSH_KEY}}


class Project:
    def __init__(self, root: Path):
        self.root = root
        self.services = StackServices(provenance=lambda _: WHO)

    def roost(self, *args: str):
        return CliRunner().invoke(main, [*args, "--project-dir", str(self.root)], obj=self.services,
                                  catch_exceptions=False)

    def plan(self) -> dict:
        result = self.roost("plan", str(self.root / "fleet.yaml"), "--stack", "dev", "--predictor", "baseline",
                            "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def ci(self, *args: str):
        return self.roost("ci", "--stack", "dev", *args)

    def ci_json(self, *args: str) -> tuple[int, dict]:
        result = self.ci("--json", *args)
        return result.exit_code, json.loads(result.stdout)

    def write_fleet(self, text: str) -> None:
        (self.root / "fleet.yaml").write_text(text)

    def settings(self, **keys) -> None:
        write_stack_config(self.root, "dev", {f"roost:{k}": v for k, v in keys.items()})


@pytest.fixture
def proj(project: Path, tmp_path: Path, monkeypatch) -> Project:
    # A registry of this test's own: the quality gate must not see models other tests trained.
    monkeypatch.setenv("ROOST_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CI", raising=False)
    p = Project(project)
    write_stack_config(project, "dev", SETTINGS)
    p.plan()
    return p


def gate(data: dict, name: str) -> dict:
    return next(g for g in data["gates"] if g["name"] == name)


def test_a_clean_change_passes_and_markdown_carries_the_json_figures(proj, tmp_path):
    """v1 planned, then the fleet changes and is re-planned (v2): the gate diffs v1 → v2."""
    proj.write_fleet(FLEET_V2)
    second = proj.plan()
    proj.settings(budgets={"teams": {"risk": 100000, "support": 200000}, "stack": 500000})
    md = tmp_path / "comment.md"
    code, data = proj.ci_json("--markdown", str(md), "--max-increase-usd", "100000")
    assert code == 0, data
    assert data["result"] == "pass" and data["failed_gates"] == []
    assert {g["name"]: g["status"] for g in data["gates"]} == {
        "stale": "pass", "policy": "pass", "budget": "pass", "cost_increase": "pass", "quality": "skipped"}
    cost = data["cost"]
    assert (data["base_version"], data["plan_version"]) == (1, 2)
    assert (cost["from"], cost["to"]) == ("v1", "Pulumi.dev.yaml (v2)")
    assert cost["delta_monthly_cost_usd"] == pytest.approx(second["monthly_cost_delta_usd"], abs=0.01)
    assert {m["model"]: m["change"] for m in data["placement_changes"]}["fraud-scorer"] == "moved"

    text = md.read_text()
    assert text.startswith("<!-- roost-ci:dev -->")
    # The cost table: previous, new and change exactly as the JSON has them.
    assert f"| Previous (v1) | {money(cost['previous_total_monthly_cost_usd'])} |" in text
    assert f"| New (Pulumi.dev.yaml (v2)) | {money(cost['total_monthly_cost_usd'])} |" in text
    assert f"**{signed_money(cost['delta_monthly_cost_usd'])} ({percent(cost['delta_pct'])})**" in text
    rows = _rows(text, "| Model | Team | Change | From")
    assert set(rows) == {m["model"] for m in cost["models"]} == {"fraud-scorer", "ticket-intent"}
    for m in cost["models"]:
        row = rows[m["model"]]
        assert row[2] == m["change"]
        assert row[6:9] == [money(m["previous_monthly_cost_usd"]), money(m["monthly_cost_usd"]),
                            signed_money(m["delta_monthly_cost_usd"])]
    budgets = _rows(text, "| Scope | Name |")
    assert len(data["budgets"]) == 3
    for b in data["budgets"]:
        assert budgets[b["scope"]][1:4] == [b["name"], money(b["monthly_cost_usd"]), money(b["budget_usd"])] \
            or b["scope"] == "team"
    teams = {b["name"]: b for b in data["budgets"] if b["scope"] == "team"}
    assert [r for r in text.splitlines() if r.startswith("| team | risk |")] == [
        f"| team | risk | {money(teams['risk']['monthly_cost_usd'])} | {money(100000)} | - |"]
    gates = _rows(text, "| Gate | Result | Summary")
    for g in data["gates"]:
        title = {"stale": "Stale plan", "policy": "Policy", "budget": "Budgets", "cost_increase": "Cost increase",
                 "quality": "Model quality"}[g["name"]]
        assert g["status"] in gates[title][1] and gates[title][2] == g["summary"].replace("|", "\\|")


def _rows(markdown: str, header: str) -> dict[str, list[str]]:
    """The rows of the Markdown table whose header starts with ``header``, keyed by first cell."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    out = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        out[cells[0]] = cells
    return out


def test_a_fleet_edit_without_replanning_fails_as_stale_naming_the_models(proj, tmp_path):
    proj.write_fleet(FLEET_V2)  # fraud-scorer must leave AWS, ticket-intent sees 4x the load; no `roost plan`
    md = tmp_path / "comment.md"
    result = proj.ci("--markdown", str(md))
    assert result.exit_code == 1
    assert "stale" in result.stderr and "fraud-scorer" in result.stderr and "ticket-intent" in result.stderr
    code, data = proj.ci_json()
    assert code == 1 and data["failed_gates"] == ["stale"]
    stale = {f["subject"]: f for f in data["stale_models"]}
    assert set(stale) == {"fraud-scorer", "ticket-intent"}
    assert "cloud aws → gcp" in stale["fraud-scorer"]["message"]
    assert stale["fraud-scorer"]["fix"].startswith("`roost plan fleet.yaml --stack dev`")
    text = md.read_text()
    assert "❌ failed: Stale plan" in text and "### Stale models" in text
    assert "1. `roost plan fleet.yaml --stack dev`, then commit Pulumi.dev.yaml" in text.split("### How to fix", 1)[1]


def test_comment_only_fleet_edits_are_not_stale(proj):
    proj.write_fleet("# reviewed by the platform team\n" + FLEET_V1)
    code, data = proj.ci_json()
    assert code == 0 and gate(data, "stale")["status"] == "pass", data["stale_models"]


def test_a_team_budget_breach_fails_naming_the_team_and_the_amount(proj):
    proj.settings(budgets={"teams": {"risk": 50, "support": 1_000_000}})
    code, data = proj.ci_json()
    assert code == 1 and data["failed_gates"] == ["budget"]
    risk = next(b for b in data["budgets"] if b["name"] == "risk")
    assert risk["scope"] == "team" and not risk["within"]
    assert risk["over_usd"] == pytest.approx(risk["monthly_cost_usd"] - 50, abs=0.01)
    finding = gate(data, "budget")["findings"][0]
    assert finding["subject"] == "team:risk" and finding["amount_usd"] == risk["over_usd"]
    assert f"team risk is estimated at {money(risk['monthly_cost_usd'])}/month, over its budget $50.00 by " \
           f"{money(risk['over_usd'])}" == finding["message"]
    support = next(b for b in data["budgets"] if b["name"] == "support")
    assert support["within"]
    # The budget caps are the budget gate's, not counted twice as a policy failure.
    assert gate(data, "policy")["status"] == "pass"
    result = proj.ci()
    assert result.exit_code == 1 and "team risk" in result.stderr and money(risk["over_usd"]) in result.stderr


def test_a_policy_breach_fails_naming_the_resource_and_the_rule(proj):
    proj.settings(allowedRegions=["us-east-1"])
    code, data = proj.ci_json()
    assert code == 1 and data["failed_gates"] == ["policy"]
    findings = gate(data, "policy")["findings"]
    assert findings and all(f["rule"] == "allowed-regions" for f in findings)
    # ticket-intent is not in us-east-1; every finding names a resource of it and the region rule.
    assert any("ticket-intent" in f["subject"] for f in findings)
    assert all("is not an allowed region" in f["message"] for f in findings)
    raw = [v for v in data["policy_violations"] if v["policy"] == "allowed-regions"]
    assert {f["subject"].split(" (")[0] for f in findings} == {v["resource"] for v in raw}
    result = proj.ci()
    assert result.exit_code == 1 and "allowed-regions on " in result.stderr


def test_a_cost_increase_over_the_limit_fails(proj):
    proj.write_fleet(FLEET_V2)
    second = proj.plan()
    delta = second["monthly_cost_delta_usd"]
    assert delta > 0
    code, data = proj.ci_json("--max-increase-usd", f"{delta / 2:.2f}")
    assert code == 1 and data["failed_gates"] == ["cost_increase"]
    assert gate(data, "cost_increase")["findings"][0]["amount_usd"] == pytest.approx(delta / 2, abs=0.02)
    code, data = proj.ci_json("--max-increase-pct", "1000000")
    assert code == 0
    # Against the version itself, nothing changes: no increase at all.
    code, data = proj.ci_json("--base-version", "2", "--max-increase-usd", "0")
    assert code == 0 and data["cost"]["delta_monthly_cost_usd"] == 0 and data["cost"]["models"] == []


@pytest.mark.parametrize("fleet_text", ["models: [\n  - name: x\n", "version: 1\nmodels:\n  - name: Bad Name\n"])
def test_a_corrupted_fleet_exits_2_with_the_reason_and_says_so_in_the_comment(proj, tmp_path, fleet_text):
    proj.write_fleet(fleet_text)
    md = tmp_path / "comment.md"
    result = proj.ci("--markdown", str(md), "--json")
    assert result.exit_code == 2
    assert "fleet.yaml" in result.stderr
    assert json.loads(result.stdout)["result"] == "error"
    assert "could not run (invalid input, exit 2)" in md.read_text()


@pytest.mark.parametrize("args, expected", [
    (("--max-increase-usd", "1", "--max-increase-pct", "1"), "at most one of"),
    (("--base-version", "9",), "has no version 9"),
    (("--fleet", "missing.yaml"), "no such fleet file"),
    (("--max-increase-usd", "-5"), "-5"),
])
def test_invalid_flags_exit_2(proj, args, expected):
    result = proj.ci(*args)
    assert result.exit_code == 2 and expected in result.output


def test_a_tampered_version_store_and_broken_settings_exit_2(proj):
    record = next((proj.root / ".roost" / "versions" / "dev" / "versions").glob("*.json"))
    record.write_text(record.read_text().replace("Ada", "Eve"))
    result = proj.ci()
    assert result.exit_code == 2 and "integrity check" in result.stderr
    record.unlink()
    (proj.root / ".roost" / "versions" / "dev" / "HEAD").unlink()
    proj.settings(gcp={"project": "acme-ml", "bogus": 1})
    result = proj.ci()
    assert result.exit_code == 2 and "roost:gcp.bogus" in result.stderr


def test_a_hand_edited_plan_fails_as_not_recorded(proj):
    path = proj.root / "Pulumi.dev.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["config"]["roost:plan"]["deployments"][0]["image"] = "ghcr.io/acme/fraud-scorer:9.9.9"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    code, data = proj.ci_json()
    assert code == 1, data
    assert code == 1 and data["failed_gates"] == ["stale"]
    subjects = {f["subject"] for f in data["stale_models"]}
    assert "fraud-scorer" in subjects and "Pulumi.dev.yaml" in subjects


def test_an_engine_failure_exits_3(proj, monkeypatch):
    from stacks.offline import OfflineProgramError

    def broken(*_args, **_kwargs):
        raise OfflineProgramError("duplicate resource URN urn:pulumi:dev::proj::x")

    monkeypatch.setattr("roost.preview.offline_preview", broken)
    result = proj.ci()
    assert result.exit_code == 3 and "offline engine" in result.stderr


def test_no_colour_in_ci(proj, monkeypatch):
    monkeypatch.setenv("CI", "1")
    result = proj.ci()
    assert result.exit_code == 0
    assert "\x1b[" not in result.output
