"""parse_settings: the stack's roost:* config, validated without Pulumi."""
from __future__ import annotations

import json

import pytest

from placement.types import Cloud, Purchase
from stacks.naming import UNVERSIONED
from stacks.settings import SettingsError, parse_settings


@pytest.fixture()
def aws_plan(kit):
    return kit.plan(kit.deployment("a"), kit.deployment("b", cloud=Cloud.AWS, region="eu-west-1"))


def test_defaults_are_the_secure_ones(aws_plan):
    s = parse_settings({"plan": aws_plan.to_dict()}, stack="prod")
    assert s.public_endpoint is False
    assert s.plan_version == UNVERSIONED
    assert s.aws.vpc_id is None and s.aws.subnet_ids == ()
    assert s.policy.allowed_regions is None and s.policy.budgets.stack_usd is None
    assert s.plan.deployments[0].name == "a"


def test_objects_may_be_json_strings_as_pulumi_config_set_stores_them(aws_plan):
    raw = {"plan": json.dumps(aws_plan.to_dict()), "planVersion": "12", "publicEndpoint": "true",
           "allowPlainHttp": "true", "aws": json.dumps({"vpcId": "vpc-1", "subnetIds": ["subnet-1", "subnet-2"]}),
           "budgets": json.dumps({"stack": "1000", "teams": {"ml": 250}}),
           "allowedRegions": '["us-east-1"]'}
    s = parse_settings(raw, stack="prod")
    assert s.plan_version == "12" and s.public_endpoint is True and s.allow_plain_http is True
    assert s.aws.subnet_ids == ("subnet-1", "subnet-2")
    assert s.policy.budgets.stack_usd == 1000.0 and s.policy.budgets.teams == {"ml": 250.0}
    assert s.policy.allowed_regions == ("us-east-1",)


def test_missing_plan_says_what_to_run():
    with pytest.raises(SettingsError, match=r"roost:plan: is not set: run `roost plan"):
        parse_settings({}, stack="prod")


def test_every_problem_is_reported_at_once_with_its_key(kit):
    plan = kit.plan(kit.deployment("g", cloud=Cloud.GCP, region="us-central1", instance_type="n2-standard-4"),
                    kit.deployment("z", cloud=Cloud.AZURE, region="eastus", instance_type="Standard_D4s_v5"))
    raw = {"plan": plan.to_dict(), "aws": {"vpcID": "vpc-1", "subnetIds": ["only-one"]}, "publicEndpoint": "yes",
           "budgets": {"stack": -5}, "azure": {"addressSpace": "not-a-cidr"}, "planVerison": 3}
    with pytest.raises(SettingsError) as err:
        parse_settings(raw, stack="prod")
    problems = err.value.problems
    text = "\n".join(problems)
    assert 'roost:aws.vpcID: unknown setting (did you mean "vpcId"?)' in text
    assert 'roost:planVerison: unknown setting (did you mean "planVersion"?)' in text
    assert "roost:aws.subnetIds: an application load balancer needs subnets in at least two" in text
    assert "roost:publicEndpoint: must be true or false" in text
    assert "roost:budgets.stack: must not be negative" in text
    assert "roost:azure.addressSpace: 'not-a-cidr' is not a CIDR" in text
    assert "roost:gcp.project: is required: g runs on GCP" in text
    assert "roost:azure.adminSshPublicKey: is required: z runs on Azure" in text
    assert all("\n" not in p for p in problems)


def test_a_malformed_plan_is_an_input_error(kit):
    with pytest.raises(SettingsError, match=r"roost:plan: schema_version 99 is not supported"):
        parse_settings({"plan": {"schema_version": 99, "deployments": []}}, stack="prod")
    with pytest.raises(SettingsError, match=r"roost:plan: is not valid JSON"):
        parse_settings({"plan": "{not json"}, stack="prod")


def test_secrets_flat_and_nested_keys_are_both_accepted(aws_plan):
    s = parse_settings({"plan": aws_plan.to_dict(), "secrets": {"hf-token": "v1"}, "secrets.registry": "v2"},
                       stack="prod")
    assert set(s.secret_values) == {"hf-token", "registry"}


VAULT_ID = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/shared/providers/"
            "Microsoft.KeyVault/vaults/acme-kv")


def test_secret_refs_are_checked_per_cloud(aws_plan):
    ok = parse_settings({"plan": aws_plan.to_dict(), "secretRefs": {
        "hf-token": {"aws": "arn:aws:secretsmanager:us-east-1:123456789012:secret:hf-AbCdEf",
                     "gcp": "projects/p/secrets/hf", "azure": {"vaultId": VAULT_ID, "secretName": "hf"}}}},
                        stack="prod")
    ref = ok.secret_refs["hf-token"]
    assert ref.aws_arn.startswith("arn:") and ref.gcp_name == "projects/p/secrets/hf" and ref.azure_secret_name == "hf"
    with pytest.raises(SettingsError) as err:
        parse_settings({"plan": aws_plan.to_dict(), "secretRefs": {"hf-token": {"aws": "hf", "gcp": "hf",
                                                                                "azure": {"vaultId": "x"}}}},
                       stack="prod")
    assert len(err.value.problems) == 3


def test_gcp_project_is_required_only_when_a_fleet_runs_on_gcp(kit, aws_plan):
    parse_settings({"plan": aws_plan.to_dict()}, stack="prod")  # no GCP: fine
    gcp_plan = kit.plan(kit.deployment("g", cloud=Cloud.GCP, region="us-central1", instance_type="n2-standard-4",
                                       purchase=Purchase.ON_DEMAND))
    s = parse_settings({"plan": gcp_plan.to_dict(), "gcp": {"project": "acme"}}, stack="prod")
    assert s.gcp.project == "acme" and s.gcp.network == "default"


def test_proxy_only_ranges_default_per_region_and_can_be_overridden(aws_plan):
    from placement.errors import InputError

    s = parse_settings({"plan": aws_plan.to_dict(), "gcp": {"proxyOnlySubnets": {"me-west1": "10.99.0.0/23"}}},
                       stack="prod")
    assert s.gcp_proxy_only_cidr("me-west1") == "10.99.0.0/23"
    assert s.gcp_proxy_only_cidr("us-central1").startswith("10.127.")
    with pytest.raises(InputError, match=r"roost:gcp.proxyOnlySubnets.mars-north1"):
        s.gcp_proxy_only_cidr("mars-north1")


@pytest.mark.parametrize(("cloud", "ref"), [
    ("aws", "arn:aws:secretsmanager:*:*:secret:*"),                              # every secret in the account
    ("aws", "arn:aws:secretsmanager:us-east-1:123456789012:secret:*"),
    ("aws", "arn:aws:secretsmanager:us-east-1:123456789012:secret:hf-??????"),
    ("aws", "arn:aws:secretsmanager:us-east-1:*:secret:hf-AbCdEf"),
    ("aws", "arn:aws:s3:::bucket/*"),
    ("gcp", "projects/acme/secrets/*"),
    ("gcp", "projects/*/secrets/hf"),
    ("gcp", "projects/acme/secrets/hf/versions/latest"),
    ("azure", {"vaultId": VAULT_ID, "secretName": "*"}),
    ("azure", {"vaultId": VAULT_ID.replace("acme-kv", "*"), "secretName": "hf"}),
    ("azure", {"vaultId": "/subscriptions/00000000-0000-0000-0000-000000000000", "secretName": "hf"}),
])
def test_a_secret_reference_must_name_exactly_one_secret(aws_plan, cloud, ref):
    with pytest.raises(SettingsError) as err:
        parse_settings({"plan": aws_plan.to_dict(), "secretRefs": {"hf-token": {cloud: ref}}}, stack="prod")
    assert err.value.problems and all(p.startswith(f"roost:secretRefs.hf-token.{cloud}") for p in err.value.problems)


def test_a_public_endpoint_without_tls_is_refused_unless_the_stack_opts_in(kit, aws_plan):
    with pytest.raises(SettingsError) as err:
        parse_settings({"plan": aws_plan.to_dict(), "publicEndpoint": True}, stack="prod")
    [problem] = err.value.problems
    assert problem.startswith("roost:publicEndpoint:") and "plain HTTP" in problem and "roost:allowPlainHttp" in problem
    with_tls = parse_settings({"plan": aws_plan.to_dict(), "publicEndpoint": True,
                               "aws": {"certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/x"}},
                              stack="prod")
    assert with_tls.public_endpoint and not with_tls.allow_plain_http
    opted = parse_settings({"plan": aws_plan.to_dict(), "publicEndpoint": True, "allowPlainHttp": True}, stack="prod")
    assert opted.allow_plain_http
    # Azure's load balancer has no TLS: a public Azure fleet always needs the opt-in.
    azure_plan = kit.plan(kit.deployment("z", cloud=Cloud.AZURE, region="eastus", instance_type="Standard_D4s_v5"))
    with pytest.raises(SettingsError, match="z would serve plain HTTP"):
        parse_settings({"plan": azure_plan.to_dict(), "publicEndpoint": True,
                        "azure": {"adminSshPublicKey": kit.SSH_KEY}}, stack="prod")
    with pytest.raises(SettingsError, match="allowPlainHttp: must be true or false"):
        parse_settings({"plan": aws_plan.to_dict(), "allowPlainHttp": "yes"}, stack="prod")
