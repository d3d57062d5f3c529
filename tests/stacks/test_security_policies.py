"""Issue 13's policy bypasses: each rule judges what a resource does, not how it is spelt,
both as a plain function and over the resources the real program declares under mocks."""
from __future__ import annotations

import json

import pytest

from placement.types import Cloud
from stacks.naming import PLAIN_HTTP_ALLOWED, TAG_PLAIN_HTTP
from stacks.policy import rules
from stacks.policy.rules import PolicyConfig, ResourceView, evaluate

NONE = PolicyConfig()
FLEET = "roost:serving:ModelFleet"


def violations(result, config: PolicyConfig = NONE, policy: str | None = None) -> list:
    views = [ResourceView(r.type, r.name, r.inputs) for r in result.resources if r.type != FLEET]
    return [v for v in evaluate(views, config) if policy is None or v.policy == policy]


# --- "open to the world" is a share of the address space ------------------------------------------


@pytest.mark.parametrize(("ranges", "world"), [
    (["0.0.0.0/0"], True),
    (["0.0.0.0/1", "128.0.0.0/1"], True),                  # the issue's bypass: two halves of IPv4
    ([f"{i}.0.0.0/8" for i in range(1, 224) if i not in (10, 127)], True),  # 221 /8s
    (["0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/2"], True),
    (["3.0.0.0/9"], True),                                  # 8 M public addresses
    (["::/0"], True), (["2000::/3"], True), (["2000::/4", "3000::/4"], True),
    (["Internet"], True), (["*"], True),
    (["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"], False),  # private space is not the internet
    (["203.0.113.0/24"], False), (["198.51.100.7/32"], False),
    (["VirtualNetwork", "AzureLoadBalancer"], False),
    (["2001:db8::/32"], False), ([], False),
])
def test_world_is_judged_by_the_union_of_ranges(ranges, world):
    assert rules.is_world(ranges) is world


def test_public_share_is_exact_for_nested_and_private_blocks():
    assert rules.public_share(["0.0.0.0/0"]) == 1.0
    assert rules.public_share(["10.0.0.0/8"]) == 0.0
    # 0.0.0.0/1 holds 0/8, 10/8 and 100.64/10, 127/8: what is left is public, and it is over half.
    half = rules.public_share(["0.0.0.0/1"])
    assert 0.5 < half < 0.6 and rules.public_share(["0.0.0.0/1", "128.0.0.0/1"]) == 1.0


@pytest.mark.parametrize(("rtype", "props"), [
    (rules.AWS_SECURITY_GROUP, {"ingress": [
        {"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/1"]},
        {"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["128.0.0.0/1"]}]}),  # split over rules
    (rules.AWS_SECURITY_GROUP, {"ingress": [
        {"protocol": "tcp", "fromPort": 0, "toPort": 1024, "cidrBlocks": ["0.0.0.0/1", "128.0.0.0/1"]}]}),
    (rules.AWS_SG_RULE, {"type": "ingress", "protocol": "-1", "fromPort": 0, "toPort": 0,
                         "cidrBlocks": ["0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/2", "192.0.0.0/2"]}),
    (rules.GCP_FIREWALL, {"sourceRanges": ["0.0.0.0/1", "128.0.0.0/1"],
                          "allows": [{"protocol": "tcp", "ports": ["22"]}]}),
    (rules.AZURE_NSG, {"securityRules": [
        {"name": "a", "direction": "Inbound", "access": "Allow", "sourceAddressPrefix": "0.0.0.0/1",
         "destinationPortRange": "22"},
        {"name": "b", "direction": "Inbound", "access": "Allow", "sourceAddressPrefixes": ["128.0.0.0/1"],
         "destinationPortRanges": ["3000-4000", "22"]}]}),
])
def test_admin_ports_open_to_the_world_in_pieces_are_caught(rtype, props):
    assert rules.no_public_admin_ports(rtype, props, NONE)


def test_the_issue_case_azure_ingress_halves_with_port_22_fails_the_program(kit):
    plan = kit.plan(kit.deployment("ssh", cloud=Cloud.AZURE, region="eastus", instance_type="Standard_D4s_v5",
                                   port=22))
    result = kit.run(plan, publicEndpoint="true", allowPlainHttp="true",
                     azure={"adminSshPublicKey": kit.SSH_KEY, "ingressCidrs": ["0.0.0.0/1", "128.0.0.0/1"]})
    found = violations(result, policy="no-public-admin-ports")
    assert found and "tcp 22" in found[0].message
    # The same fleet reachable from one office range passes.
    office = kit.run(plan, publicEndpoint="true", allowPlainHttp="true",
                     azure={"adminSshPublicKey": kit.SSH_KEY, "ingressCidrs": ["198.51.100.0/24"]})
    assert violations(office, policy="no-public-admin-ports") == []


# --- secret grants name one secret ----------------------------------------------------------------


def _aws_policy(resource):
    return {"policy": json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": resource}]})}


@pytest.mark.parametrize(("rtype", "props", "bad"), [
    (rules.AWS_ROLE_POLICY, _aws_policy("arn:aws:secretsmanager:*:*:secret:*"), True),
    (rules.AWS_ROLE_POLICY, _aws_policy(["arn:aws:secretsmanager:us-east-1:123456789012:secret:a-AbCdEf",
                                         "arn:aws:secretsmanager:us-east-1:123456789012:secret:b-*"]), True),
    (rules.AWS_ROLE_POLICY, _aws_policy("*"), True),
    (rules.AWS_ROLE_POLICY, _aws_policy("arn:aws:secretsmanager:us-east-1:123456789012:secret:a-AbCdEf"), False),
    (rules.AWS_POLICY, {"policy": {"Statement": [{"Effect": "Allow", "Action": "secretsmanager:*",
                                                  "Resource": "*"}]}}, True),
    (rules.AWS_ROLE_POLICY, {"policy": json.dumps({"Statement": [
        {"Effect": "Allow", "Action": ["logs:PutLogEvents"], "Resource": "*"}]})}, False),  # not a secret read
    ("gcp:projects/iAMMember:IAMMember", {"role": "roles/secretmanager.secretAccessor"}, True),
    ("gcp:projects/iAMMember:IAMMember", {"role": "roles/logging.logWriter"}, False),
    ("gcp:secretmanager/secretIamMember:SecretIamMember", {"secretId": "projects/p/secrets/*"}, True),
    ("gcp:secretmanager/secretIamMember:SecretIamMember", {"secretId": "projects/p/secrets/hf"}, False),
    (rules.AZURE_ROLE_ASSIGNMENT, {"roleDefinitionId": "/subscriptions/s/providers/Microsoft.Authorization/"
                                   "roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6",
                                   "scope": "/subscriptions/s/resourceGroups/rg"}, True),
    (rules.AZURE_ROLE_ASSIGNMENT, {"roleDefinitionId": "/subscriptions/s/providers/Microsoft.Authorization/"
                                   "roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6",
                                   "scope": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/"
                                            "vaults/kv/secrets/hf"}, False),
])
def test_secret_grants_name_one_secret(rtype, props, bad):
    assert bool(rules.secret_access_one_secret(rtype, props, NONE)) is bad


def test_the_programs_secret_grants_pass_the_rule_on_every_cloud(kit):
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:shared-hf-AbCdEf"
    plan = kit.plan(kit.deployment("a", secrets=("hf-token", "own")),
                    kit.deployment("g", cloud=Cloud.GCP, region="us-central1", instance_type="n2-standard-4",
                                   secrets=("own",)),
                    kit.deployment("z", cloud=Cloud.AZURE, region="eastus", instance_type="Standard_D4s_v5",
                                   secrets=("own",)))
    result = kit.run(plan, secretRefs={"hf-token": {"aws": arn}})
    granted = [r for r in result.resources if r.type in (rules.AWS_ROLE_POLICY, rules.AZURE_ROLE_ASSIGNMENT,
                                                          "gcp:secretmanager/secretIamMember:SecretIamMember")]
    assert {r.type for r in granted} == {rules.AWS_ROLE_POLICY, rules.AZURE_ROLE_ASSIGNMENT,
                                         "gcp:secretmanager/secretIamMember:SecretIamMember"}
    assert violations(result, policy="secret-access-one-secret") == []


# --- public endpoints serve TLS unless the stack opts in ------------------------------------------


PUBLIC_PLAN_CLOUDS = {
    "aws": {},
    "gcp": {"cloud": Cloud.GCP, "region": "us-east1", "instance_type": "n2-standard-4"},
    "azure": {"cloud": Cloud.AZURE, "region": "eastus", "instance_type": "Standard_D4s_v5"},
}


@pytest.mark.parametrize("cloud", sorted(PUBLIC_PLAN_CLOUDS))
def test_plain_http_on_a_public_endpoint_is_visible_and_refused_without_the_opt_in(kit, cloud):
    plan = kit.plan(kit.deployment("pub", **PUBLIC_PLAN_CLOUDS[cloud]))
    result = kit.run(plan, publicEndpoint="true", allowPlainHttp="true")
    opted = [r for r in result.resources if (rules.tags_of(r.inputs) or {}).get(TAG_PLAIN_HTTP) == PLAIN_HTTP_ALLOWED]
    assert opted, "the opt-in is recorded on the load balancer"
    assert violations(result, policy="tls-on-public-endpoints") == []   # the pack honours the recorded opt-in
    refused = violations(result, PolicyConfig(allow_plain_http=False), policy="tls-on-public-endpoints")
    assert refused and "plain HTTP" in refused[0].message
    # Without the tag (a program that forgot to ask) the same resources fail the default pack.
    untagged = [ResourceView(r.type, r.name, {**r.inputs, **_without_opt_in(r.inputs)})
                for r in result.resources if r.type != FLEET]
    assert [v for v in evaluate(untagged, NONE) if v.policy == "tls-on-public-endpoints"]


def _without_opt_in(props):
    out = {}
    for key in ("tags", "labels"):
        if isinstance(props.get(key), dict):
            out[key] = {k: v for k, v in props[key].items() if k != TAG_PLAIN_HTTP}
    return out


@pytest.mark.parametrize(("cloud", "tls"), [
    ("aws", {"aws": {"certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc"}}),
    ("gcp", {"gcp": {"project": "acme", "certificate": "projects/acme/global/sslCertificates/api"}}),
])
def test_public_endpoints_with_tls_pass_even_a_strict_pack(kit, cloud, tls):
    plan = kit.plan(kit.deployment("pub", **PUBLIC_PLAN_CLOUDS[cloud]))
    result = kit.run(plan, publicEndpoint="true", **tls)
    assert violations(result, PolicyConfig(allow_plain_http=False), policy="tls-on-public-endpoints") == []
    assert not [r for r in result.resources if TAG_PLAIN_HTTP in (rules.tags_of(r.inputs) or {})]


def test_internal_endpoints_may_serve_plain_http(kit):
    plan = kit.plan(*(kit.deployment(f"in-{c}", **kw) for c, kw in PUBLIC_PLAN_CLOUDS.items()))
    result = kit.run(plan)
    assert violations(result, PolicyConfig(allow_plain_http=False), policy="tls-on-public-endpoints") == []


def test_a_public_endpoint_without_tls_stops_the_program_without_the_opt_in(kit):
    from stacks.settings import SettingsError

    plan = kit.plan(kit.deployment("pub"))
    with pytest.raises(SettingsError, match="allowPlainHttp"):
        kit.run(plan, publicEndpoint="true")


def test_the_crossguard_pack_reads_allow_plain_http_from_its_config():
    assert PolicyConfig.from_mapping({"allowPlainHttp": False}).allow_plain_http is False
    assert PolicyConfig.from_mapping({"allowPlainHttp": True}).allow_plain_http is True
    assert PolicyConfig.from_mapping({}).allow_plain_http is None
    from stacks.policy.crossguard import CONFIG_SCHEMAS

    assert "allowPlainHttp" in CONFIG_SCHEMAS["tls-on-public-endpoints"].properties


# --- secret values kept in plain text in the stack file -------------------------------------------


def test_a_plaintext_secret_value_warns_when_the_program_runs(kit, monkeypatch):
    import pulumi

    from stacks.settings import plaintext_secret_warning

    seen: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *args, **kwargs: seen.append(message))
    plan = kit.plan(kit.deployment("m", secrets=("hf-token",)))
    kit.run(plan, **{"secrets.hf-token": "plain-value"})                  # not a secure key
    assert seen == [plaintext_secret_warning("hf-token")]
    assert "plain-value" not in seen[0]
    seen.clear()
    kit.run(plan, secret_keys=("roost:secrets.hf-token",), **{"secrets.hf-token": "v"})
    assert seen == []


def test_standalone_rules_on_one_group_are_judged_together():
    halves = [ResourceView(rules.AWS_SG_INGRESS_RULE, f"ssh-{i}", {
        "securityGroupId": "sg-1", "ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "cidrIpv4": cidr})
        for i, cidr in enumerate(["3.0.0.0/11", "3.32.0.0/11"])]   # 2 M addresses each, 4 M together
    assert all(rules.no_public_admin_ports(v.type, v.props, NONE) == [] for v in halves)  # each alone: too few
    [(where, message)] = rules.admin_ports_across_rules(halves, NONE)
    assert where == "sg-1" and "tcp 22" in message
    assert [v.policy for v in evaluate(halves, NONE)] == ["no-public-admin-ports-combined"]
    # On two different groups they are two half-open groups, not one world-open group.
    apart = [ResourceView(v.type, v.name, {**v.props, "securityGroupId": f"sg-{i}"}) for i, v in enumerate(halves)]
    assert rules.admin_ports_across_rules(apart, NONE) == []
    nsg = [ResourceView(rules.AZURE_SECURITY_RULE, f"r{i}", {
        "resourceGroupName": "rg", "networkSecurityGroupName": "nsg", "direction": "Inbound", "access": "Allow",
        "sourceAddressPrefix": cidr, "destinationPortRange": "3389"}) for i, cidr in enumerate(["3.0.0.0/11",
                                                                                              "3.32.0.0/11"])]
    [(where, message)] = rules.admin_ports_across_rules(nsg, NONE)
    assert where == "rg/nsg" and "3389" in message


def test_the_tls_rule_through_crossguard_honours_the_tag_and_the_pack_config():
    from pulumi_policy import PolicyResource, PolicyResourceOptions, StackValidationArgs
    from pulumi_policy.policy import PolicyCustomTimeouts

    from stacks.policy.crossguard import stack_validator

    def resource(rtype: str, name: str, props: dict) -> PolicyResource:
        options = PolicyResourceOptions(False, [], False, [], PolicyCustomTimeouts(0, 0, 0), [])
        return PolicyResource(rtype, props, f"urn:{name}", name, options, None, None, [], {})

    fleet = {"roost-stack": "prod", "roost-model": "m"}
    lb = resource(rules.AWS_LB, "m-alb", {"internal": False, "tags": {**fleet, TAG_PLAIN_HTTP: PLAIN_HTTP_ALLOWED}})
    listener = resource(rules.AWS_LISTENER, "m-http", {"protocol": "HTTP", "tags": fleet,
                                                      "defaultActions": [{"type": "forward"}]})
    [rule] = [r for r in rules.STACK_RULES if r.name == "tls-on-public-endpoints"]
    for config, expected in (({}, 0), ({"allowPlainHttp": False}, 1), ({"allowPlainHttp": True}, 0)):
        reported: list[str] = []
        stack_validator(rule)(StackValidationArgs(resources=[lb, listener], config=config),
                              lambda msg, urn=None, out=reported: out.append(msg))
        assert len(reported) == expected, (config, reported)
