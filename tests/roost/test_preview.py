"""`roost preview --offline`: the real program, the example fleet, the JSON contract and exit codes."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from roost.cli import main
from roost.stackfile import write_plan, write_stack_config

CLOUD_PREFIX = {"aws": "aws:", "gcp": "gcp:", "azure": "azure-native:"}
GROUP_TYPES = {"aws": "aws:autoscaling/group:Group",
               "gcp": "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager",
               "azure": "azure-native:compute:VirtualMachineScaleSet"}


def preview(project, stack: str, *extra: str):
    return CliRunner().invoke(main, ["preview", "--stack", stack, "--project-dir", str(project), *extra])


@pytest.fixture(scope="module")
def example_json(example_project):
    result = preview(example_project, "dev", "--offline", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_every_deployment_appears_on_its_chosen_cloud(example_json, example_plan):
    by_name = {d["name"]: d for d in example_json["deployments"]}
    assert set(by_name) == {d.name for d in example_plan.deployments}
    for d in example_plan.deployments:
        shown = by_name[d.name]
        cloud = d.choice.cloud.value
        assert (shown["cloud"], shown["region"]) == (cloud, d.choice.region)
        types = {r["type"] for r in shown["resources"]}
        assert GROUP_TYPES[cloud] in types
        assert all(t.startswith(CLOUD_PREFIX[cloud]) for t in types), types
        assert shown["monthly_cost_usd"] == pytest.approx(d.choice.monthly_cost_usd, abs=0.01)
        assert shown["outputs"]["endpoint"]


def test_json_contract(example_json, example_plan):
    data = example_json
    assert data["stack"] == "dev" and data["plan_version"] == "7"
    assert {"stack", "plan_version", "resources", "deployments", "policy_violations", "summary"} <= set(data)
    assert data["policy_violations"] == [] and data["notes"] == []  # hf-token is configured
    summary = data["summary"]
    assert summary["deployments"] == len(example_plan.deployments)
    assert summary["resources"] == len(data["resources"])
    assert summary["monthly_cost_usd"] == pytest.approx(example_plan.monthly_cost_usd, abs=0.05)
    assert summary["passed"] is True
    for r in data["resources"]:
        assert {"urn", "type", "name", "deployment", "key_inputs"} <= set(r)
    shared = [r for r in data["resources"] if r["deployment"] is None]
    assert {r["type"] for r in shared} >= {"pulumi:providers:aws", "pulumi:providers:gcp",
                                          "pulumi:providers:azure-native"}


def test_secrets_stay_redacted(example_project, example_json):
    text = json.dumps(example_json)
    assert "AAAAciphertextAAAA" not in text
    # the secret was configured, so roost stores it in each cloud's secret store for the fleets that need it
    names = {(r["deployment"], r["type"]) for r in example_json["resources"]}
    assert ("drafting-70b", "aws:secretsmanager/secretVersion:SecretVersion") in names
    assert ("assistant-8b", "azure-native:keyvault:Secret") in names


def test_table_output_lists_fleets_with_cost(example_project, example_plan):
    result = preview(example_project, "dev", "--offline")
    assert result.exit_code == 0, result.output
    for d in example_plan.deployments:
        assert d.name in result.stdout
    assert "Policy: no violations." in result.stdout and "/month" in result.stdout


def test_runs_repeatably_in_one_process(example_project, example_json):
    again = preview(example_project, "dev", "--offline", "--json")
    assert again.exit_code == 0
    assert json.loads(again.stdout)["summary"] == example_json["summary"]


def test_a_budget_over_the_cap_fails_the_gate_with_exit_1(example_project, example_plan):
    write_plan(example_project, "tight", example_plan)
    write_stack_config(example_project, "tight", {
        "roost:gcp": {"project": "acme-ml"}, "roost:azure": {"adminSshPublicKey": "ssh-ed25519 AAAA k"},
        "roost:budgets": {"teams": {"assistant": 1000}}, "roost:allowedRegions": ["us-east-1", "eastus"]})
    result = preview(example_project, "tight", "--offline", "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    policies = {v["policy"] for v in data["policy_violations"]}
    assert policies == {"budget-caps", "allowed-regions"}
    assert all(v["enforcement"] == "mandatory" for v in data["policy_violations"])
    assert "mandatory policy violation" in result.stderr


def test_a_stack_without_a_plan_says_what_to_run(example_project):
    write_stack_config(example_project, "empty", {"roost:gcp": {"project": "x"}})
    result = preview(example_project, "empty", "--offline")
    assert result.exit_code == 2
    assert "run `roost plan FLEET --stack empty` first" in result.stderr
    assert "Traceback" not in result.output


def test_settings_errors_are_input_errors(example_project, example_plan):
    write_plan(example_project, "badkey", example_plan)
    write_stack_config(example_project, "badkey", {"roost:aws": {"vpcid": "vpc-1"}})
    result = preview(example_project, "badkey", "--offline")
    assert result.exit_code == 2
    assert "roost:aws.vpcid: unknown setting (did you mean \"vpcId\"?)" in result.stderr


def test_offline_preview_without_cloud_settings_uses_marked_placeholders(example_project, example_plan):
    write_plan(example_project, "nocloud", example_plan)   # no roost:gcp, no roost:azure at all
    result = preview(example_project, "nocloud", "--offline", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    notes = [n for n in data["notes"] if n.startswith("set before `pulumi up`:")]
    assert len(notes) == 2
    assert "roost:gcp.project (search-embedder on gcp" in notes[0] and "placeholder-set-gcp-project" in notes[0]
    assert "roost:azure.adminSshPublicKey" in notes[1] and "PLACEHOLDER" in notes[1]
    iam = [r for r in data["resources"] if r["type"] == "gcp:projects/iAMMember:IAMMember"]
    assert iam and all(r["key_inputs"]["project"] == "placeholder-set-gcp-project" for r in iam)
    # Settings the stack does have are used as they are: no placeholder, no note.
    complete = preview(example_project, "dev", "--offline", "--json")
    assert not [n for n in json.loads(complete.stdout)["notes"] if "set before" in n]


def test_the_engine_path_still_requires_the_cloud_settings(example_plan):
    from stacks.offline import run_offline
    from stacks.program import run
    from stacks.settings import SettingsError

    config = {"roost:plan": json.dumps(example_plan.to_dict())}
    with pytest.raises(SettingsError) as err:
        run_offline(run, project="roost", stack="prod", config=config)  # what `pulumi up` runs: no placeholders
    assert {p.split(":")[1] for p in err.value.problems} >= {"gcp.project", "azure.adminSshPublicKey"}


def test_plaintext_secret_values_in_the_stack_file_get_a_warning(example_project, example_plan):
    write_plan(example_project, "plain", example_plan)
    write_stack_config(example_project, "plain", {
        "roost:gcp": {"project": "acme-ml"}, "roost:azure": {"adminSshPublicKey": "ssh-ed25519 AAAA k"},
        "roost:secrets.hf-token": "hunter2-plaintext"})
    result = preview(example_project, "plain", "--offline", "--json")
    assert result.exit_code == 0, result.output
    warnings = [n for n in json.loads(result.stdout)["notes"] if n.startswith("warning:")]
    assert warnings == ["warning: roost:secrets.hf-token is stored in plain text in the stack file; make it a "
                        "Pulumi secret (pulumi config set --secret roost:secrets.hf-token VALUE)"]
    assert "hunter2-plaintext" not in result.output
    table_output = preview(example_project, "plain", "--offline")
    assert "Warning: roost:secrets.hf-token is stored in plain text" in table_output.stdout
    assert "hunter2-plaintext" not in table_output.output
    # The configured example keeps its value as a Pulumi secret: no warning.
    dev = preview(example_project, "dev", "--offline", "--json")
    assert not [n for n in json.loads(dev.stdout)["notes"] if n.startswith("warning:")]


def test_public_plain_http_is_refused_unless_opted_in_and_then_noted(example_project, example_plan):
    base = {"roost:gcp": {"project": "acme-ml"}, "roost:azure": {"adminSshPublicKey": "ssh-ed25519 AAAA k"},
            "roost:publicEndpoint": True}
    write_plan(example_project, "public", example_plan)
    write_stack_config(example_project, "public", base)
    refused = preview(example_project, "public", "--offline")
    assert refused.exit_code == 2
    assert "roost:publicEndpoint" in refused.stderr and "roost:allowPlainHttp" in refused.stderr
    write_stack_config(example_project, "public", {**base, "roost:allowPlainHttp": True})
    allowed = preview(example_project, "public", "--offline", "--json")
    assert allowed.exit_code == 0, allowed.output
    data = json.loads(allowed.stdout)
    assert data["summary"]["passed"] is True
    plain = [n for n in data["notes"] if "serves plain HTTP" in n]
    assert sorted(n.split(":")[0] for n in plain) == sorted(d.name for d in example_plan.deployments)


def test_without_offline_the_engine_path_is_reported_unavailable(example_project):
    result = preview(example_project, "dev")
    assert result.exit_code == 3
    assert "use --offline" in result.stderr


def test_secrets_without_a_value_are_noted_not_failed(example_project, example_plan):
    write_plan(example_project, "novalue", example_plan)
    write_stack_config(example_project, "novalue", {
        "roost:gcp": {"project": "acme-ml"}, "roost:azure": {"adminSshPublicKey": "ssh-ed25519 AAAA k"}})
    result = preview(example_project, "novalue", "--offline", "--json")
    assert result.exit_code == 0
    notes = json.loads(result.stdout)["notes"]
    needing = sorted(d.name for d in example_plan.deployments if d.secrets)
    assert sorted(n.split(":")[0] for n in notes) == needing
    assert any("roost/novalue/drafting-70b/hf-token" in n for n in notes)
