"""Policy rules as plain functions, and through CrossGuard's own argument types."""
from __future__ import annotations

import pytest
from pulumi_policy import PolicyResource, PolicyResourceOptions, ResourceValidationArgs, StackValidationArgs
from pulumi_policy.policy import PolicyCustomTimeouts

from stacks.naming import REQUIRED_TAGS, TAG_MONTHLY_USD, TAG_SPOT_POLICY, TAG_TEAM
from stacks.policy import rules
from stacks.policy.crossguard import policies, resource_validator, stack_validator
from stacks.policy.rules import Budgets, PolicyConfig, ResourceView

NONE = PolicyConfig()
TAGS = {k: "x" for k in REQUIRED_TAGS}


def test_imdsv2():
    lt = rules.AWS_LAUNCH_TEMPLATE
    assert rules.imdsv2_required(lt, {"metadataOptions": {"httpTokens": "required"}}, NONE) == []
    assert rules.imdsv2_required(lt, {"metadataOptions": {"httpTokens": "optional"}}, NONE)
    assert rules.imdsv2_required(lt, {}, NONE)  # the AWS default allows IMDSv1
    assert rules.imdsv2_required(rules.AWS_ASG, {}, NONE) == []


def test_encrypted_disks():
    lt = rules.AWS_LAUNCH_TEMPLATE
    ok = {"blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "true"}}]}
    bad = {"blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "false"}},
                                   {"deviceName": "/dev/sdb", "ebs": {}}]}
    assert rules.encrypted_disks(lt, ok, NONE) == []
    assert len(rules.encrypted_disks(lt, bad, NONE)) == 2
    assert rules.encrypted_disks(rules.AWS_EBS_VOLUME, {"encrypted": False}, NONE)
    cvm = {"virtualMachineProfile": {"securityProfile": {"securityType": "ConfidentialVM"},
                                     "storageProfile": {"osDisk": {"managedDisk": {}}}}}
    assert rules.encrypted_disks(rules.AZURE_VMSS, cvm, NONE)


@pytest.mark.parametrize(("rtype", "props", "bad"), [
    (rules.AWS_SECURITY_GROUP, {"ingress": [{"protocol": "tcp", "fromPort": 22, "toPort": 22,
                                             "cidrBlocks": ["0.0.0.0/0"]}]}, True),
    (rules.AWS_SECURITY_GROUP, {"ingress": [{"protocol": "tcp", "fromPort": 0, "toPort": 65535,
                                             "ipv6CidrBlocks": ["::/0"]}]}, True),
    (rules.AWS_SECURITY_GROUP, {"ingress": [{"protocol": "-1", "fromPort": 0, "toPort": 0,
                                             "cidrBlocks": ["0.0.0.0/0"]}]}, True),
    (rules.AWS_SECURITY_GROUP, {"ingress": [{"protocol": "tcp", "fromPort": 22, "toPort": 22,
                                             "cidrBlocks": ["10.0.0.0/8"]}]}, False),
    (rules.AWS_SECURITY_GROUP, {"ingress": [{"protocol": "tcp", "fromPort": 443, "toPort": 443,
                                             "cidrBlocks": ["0.0.0.0/0"]}]}, False),
    (rules.AWS_SG_INGRESS_RULE, {"ipProtocol": "tcp", "fromPort": 3389, "toPort": 3389, "cidrIpv4": "0.0.0.0/0"},
     True),
    (rules.GCP_FIREWALL, {"sourceRanges": ["0.0.0.0/0"], "allows": [{"protocol": "tcp", "ports": ["20-30"]}]}, True),
    (rules.GCP_FIREWALL, {"sourceRanges": ["0.0.0.0/0"], "allows": [{"protocol": "tcp"}]}, True),
    (rules.GCP_FIREWALL, {"sourceRanges": ["35.191.0.0/16"], "allows": [{"protocol": "tcp", "ports": ["22"]}]},
     False),
    (rules.GCP_FIREWALL, {"direction": "EGRESS", "sourceRanges": ["0.0.0.0/0"], "allows": [{"protocol": "tcp"}]},
     False),
    (rules.AZURE_NSG, {"securityRules": [{"name": "ssh", "direction": "Inbound", "access": "Allow",
                                          "sourceAddressPrefix": "Internet", "destinationPortRange": "22"}]}, True),
    (rules.AZURE_NSG, {"securityRules": [{"name": "all", "direction": "Inbound", "access": "Allow",
                                          "sourceAddressPrefixes": ["*"], "destinationPortRange": "*"}]}, True),
    (rules.AZURE_NSG, {"securityRules": [{"name": "deny", "direction": "Inbound", "access": "Deny",
                                          "sourceAddressPrefix": "*", "destinationPortRange": "*"}]}, False),
    (rules.AZURE_NSG, {"securityRules": [{"name": "lb", "direction": "Inbound", "access": "Allow",
                                          "sourceAddressPrefix": "Internet", "destinationPortRange": "8080"}]}, False),
])
def test_no_public_admin_ports(rtype, props, bad):
    assert bool(rules.no_public_admin_ports(rtype, props, NONE)) is bad


def test_required_cost_tags_in_every_shape():
    assert rules.required_cost_tags("aws:lb/loadBalancer:LoadBalancer", {"tags": TAGS}, NONE) == []
    assert rules.required_cost_tags(rules.AWS_ASG, {"tags": [{"key": k, "value": "v"} for k in REQUIRED_TAGS]},
                                    NONE) == []
    # GCP: labels are what count; `tags` are network tags.
    assert rules.required_cost_tags(rules.GCP_INSTANCE_TEMPLATE, {"labels": TAGS, "tags": ["net-tag"]}, NONE) == []
    missing = rules.required_cost_tags(rules.GCP_INSTANCE_TEMPLATE, {"tags": ["net-tag"]}, NONE)
    assert missing and "roost-model" in missing[0]
    partial = rules.required_cost_tags(rules.AZURE_VMSS, {"tags": {"roost-model": "m"}}, NONE)
    assert partial and "roost-team" in partial[0]
    assert rules.required_cost_tags("aws:iam/rolePolicyAttachment:RolePolicyAttachment", {}, NONE) == []


def test_allowed_regions_and_families():
    config = PolicyConfig(allowed_regions=("us-east-1", "westeurope"), allowed_instance_families=("c7g", "Standard_NC*"))
    assert rules.allowed_regions("pulumi:providers:aws", {"region": "us-east-1"}, config) == []
    assert rules.allowed_regions("pulumi:providers:aws", {"region": "eu-west-1"}, config)
    assert rules.allowed_regions("azure-native:network:VirtualNetwork", {"location": "westeurope"}, config) == []
    assert rules.allowed_regions("pulumi:providers:aws", {"region": "eu-west-1"}, NONE) == []
    assert rules.allowed_instance_families(rules.AWS_LAUNCH_TEMPLATE, {"instanceType": "c7g.large"}, config) == []
    overrides = {"mixedInstancesPolicy": {"launchTemplate": {"overrides": [{"instanceType": "c7g.large"},
                                                                           {"instanceType": "c6g.large"}]}}}
    assert len(rules.allowed_instance_families(rules.AWS_ASG, overrides, config)) == 1
    assert rules.allowed_instance_families(rules.AZURE_VMSS, {"sku": {"name": "Standard_NC4as_T4_v3"}}, config) == []
    assert rules.allowed_instance_families(rules.GCP_INSTANCE_TEMPLATE, {"machineType": "g2-standard-8"}, config)


@pytest.mark.parametrize(("itype", "family"), [("c7g.large", "c7g"), ("g2-standard-24", "g2"),
                                               ("Standard_NC4as_T4_v3", "NCas_T4_v3")])
def test_instance_family(itype, family):
    assert rules.instance_family(itype) == family


def test_spot_forbidden_for_never():
    never = {TAG_SPOT_POLICY: "never"}
    asg = {"tags": [{"key": TAG_SPOT_POLICY, "value": "never"}],
           "mixedInstancesPolicy": {"instancesDistribution": {"onDemandPercentageAboveBaseCapacity": 0.0}}}
    assert rules.spot_forbidden_for_never(rules.AWS_ASG, asg, NONE)
    asg["mixedInstancesPolicy"]["instancesDistribution"]["onDemandPercentageAboveBaseCapacity"] = 100.0
    assert rules.spot_forbidden_for_never(rules.AWS_ASG, asg, NONE) == []
    assert rules.spot_forbidden_for_never(rules.GCP_INSTANCE_TEMPLATE,
                                          {"labels": never, "scheduling": {"provisioningModel": "SPOT"}}, NONE)
    assert rules.spot_forbidden_for_never(rules.AZURE_VMSS,
                                          {"tags": never, "virtualMachineProfile": {"priority": "Spot"}}, NONE)
    allowed = {"tags": {TAG_SPOT_POLICY: "allow"}, "virtualMachineProfile": {"priority": "Spot"}}
    assert rules.spot_forbidden_for_never(rules.AZURE_VMSS, allowed, NONE) == []


def _group(name, team, usd, model=None):
    return ResourceView(rules.AZURE_VMSS, name, {"tags": {TAG_TEAM: team, "roost-model": model or name,
                                                         TAG_MONTHLY_USD: str(usd)}})


def test_budget_caps_per_team_and_stack():
    resources = [_group("a", "ml", 600), _group("b", "ml", 500), _group("c", "search", 100),
                 ResourceView(rules.AZURE_VMSS, "b-base", {"tags": {TAG_TEAM: "ml", "roost-model": "b"}})]
    assert rules.budget_caps(resources, NONE) == []
    hits = rules.budget_caps(resources, PolicyConfig(budgets=Budgets(stack_usd=1000, teams={"ml": 1000,
                                                                                            "search": 100})))
    assert [where for where, _ in hits] == ["stack", "team:ml"]
    assert "$1,100" in hits[1][1] and "a, b" in hits[1][1]


def test_evaluate_names_policy_resource_and_enforcement():
    violations = rules.evaluate([ResourceView(rules.AWS_LAUNCH_TEMPLATE, "lt", {"tags": TAGS})], NONE)
    assert [(v.policy, v.resource, v.enforcement) for v in violations] == [("imdsv2-required", "lt", "mandatory")]


def _args(rtype, props, config=None):
    return ResourceValidationArgs(resource_type=rtype, props=props, urn=f"urn:pulumi:s::p::{rtype}::r", name="r",
                                  opts=PolicyResourceOptions(False, [], False, [], PolicyCustomTimeouts(0, 0, 0), []),
                                  provider=None, config=config)


def test_crossguard_adapters_report_what_the_rules_find():
    reported: list[tuple[str, str | None]] = []
    rule = next(r for r in rules.RESOURCE_RULES if r.name == "allowed-regions")
    validate = resource_validator(rule)
    validate(_args("pulumi:providers:aws", {"region": "eu-west-1"}, {"allowedRegions": ["us-east-1"]}),
             lambda msg, urn=None: reported.append((msg, urn)))
    validate(_args("pulumi:providers:aws", {"region": "us-east-1"}, {"allowedRegions": ["us-east-1"]}),
             lambda msg, urn=None: reported.append((msg, urn)))
    assert len(reported) == 1 and "eu-west-1" in reported[0][0] and reported[0][1].endswith("::r")


def test_crossguard_stack_adapter_applies_budgets():
    reported: list[str] = []
    resource = PolicyResource(rules.AZURE_VMSS, {"tags": {TAG_TEAM: "ml", "roost-model": "a", TAG_MONTHLY_USD: "900"}},
                              "urn:a", "a", PolicyResourceOptions(False, [], False, [], PolicyCustomTimeouts(0, 0, 0),
                                                                  []), None, None, [], {})
    args = StackValidationArgs(resources=[resource], config={"budgets": {"teams": {"ml": 500}}})
    stack_validator(rules.STACK_RULES[0])(args, lambda msg, urn=None: reported.append(msg))
    assert len(reported) == 1 and "team ml" in reported[0]


def test_the_pack_has_every_rule():
    assert {p.name for p in policies()} == {r.name for r in rules.RESOURCE_RULES} | {r.name for r in rules.STACK_RULES}
