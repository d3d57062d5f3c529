"""Enum-like strings the mocks do not check, against what the providers accept.

Accepted values come from the installed provider SDKs themselves (their parameter
documentation, generated from the provider schema, and azure-native's Enum classes) and
from the AWS API models shipped in botocore. A value listed only in a cloud's public docs
is marked so.
"""
from __future__ import annotations

import gzip
import json
import os
import re
from functools import cache

import pulumi_aws as aws
import pulumi_gcp as gcp
import pytest
from pulumi_azure_native import compute, monitor, network

from stacks import provider_values as pv


def param_doc(cls: type, param: str) -> str:
    doc = cls.__init__.__doc__ or ""
    m = re.search(rf":param [^:]*\b{param}: (.*?)(?=\n\s*:param |\Z)", doc, re.S)
    assert m, f"{cls.__name__}.{param} is not documented"
    return m.group(1)


_CLAUSE = re.compile(r"(?:Possible values are|Valid values are|Valid values|Can be|can be|either|The value is|"
                     r"The only allowed value is)[: ]+(.*?)(?:\.\s|\.$|\(|$)", re.S)


def listed_values(cls: type, param: str) -> set[str]:
    """The values a parameter's documentation enumerates: its `quoted` tokens, or else the
    words of its "Possible values are …" clause."""
    doc = param_doc(cls, param)
    quoted = set(re.findall(r"[`\"]([A-Za-z][A-Za-z0-9_-]*)[`\"]", doc))
    if quoted:
        return quoted
    words: set[str] = set()
    for clause in _CLAUSE.findall(doc):
        words |= {w for w in re.findall(r"[A-Za-z][A-Za-z0-9_-]*", clause) if w not in ("or", "and", "are")}
    return words


def documented(value: str, cls: type, param: str) -> bool:
    return value in listed_values(cls, param)


@cache
def botocore_model(service: str, version: str) -> dict:
    import botocore

    path = os.path.join(os.path.dirname(botocore.__file__), "data", service, version, "service-2.json.gz")
    with gzip.open(path) as f:
        return json.load(f)


def aws_enum(service: str, version: str, shape: str) -> list[str]:
    return botocore_model(service, version)["shapes"][shape]["enum"]


AUTOSCALING = ("autoscaling", "2011-01-01")
EC2 = ("ec2", "2016-11-15")
ELBV2 = ("elbv2", "2015-12-01")

DOCUMENTED = [
    (pv.AWS_SPOT_ALLOCATION_STRATEGY, aws.autoscaling.GroupMixedInstancesPolicyInstancesDistributionArgs,
     "spot_allocation_strategy"),
    (pv.AWS_ON_DEMAND_ALLOCATION_STRATEGY, aws.autoscaling.GroupMixedInstancesPolicyInstancesDistributionArgs,
     "on_demand_allocation_strategy"),
    (pv.AWS_HEALTH_CHECK_TYPE, aws.autoscaling.GroupArgs, "health_check_type"),
    (pv.AWS_POLICY_TYPE_TARGET_TRACKING, aws.autoscaling.PolicyArgs, "policy_type"),
    (pv.AWS_LB_ALGORITHM, aws.lb.TargetGroupArgs, "load_balancing_algorithm_type"),
    (pv.AWS_INSTANCE_REFRESH_STRATEGY, aws.autoscaling.GroupInstanceRefreshArgs, "strategy"),
    (pv.GCP_PROVISIONING_SPOT, gcp.compute.InstanceTemplateSchedulingArgs, "provisioning_model"),
    (pv.GCP_PROVISIONING_STANDARD, gcp.compute.InstanceTemplateSchedulingArgs, "provisioning_model"),
    (pv.GCP_SPOT_TERMINATION_ACTION, gcp.compute.InstanceTemplateSchedulingArgs, "instance_termination_action"),
    (pv.GCP_HOST_MAINTENANCE_TERMINATE, gcp.compute.InstanceSchedulingArgs, "on_host_maintenance"),
    (pv.GCP_HOST_MAINTENANCE_MIGRATE, gcp.compute.InstanceSchedulingArgs, "on_host_maintenance"),
    (pv.GCP_SCHEME_INTERNAL, gcp.compute.ForwardingRuleArgs, "load_balancing_scheme"),
    (pv.GCP_SCHEME_EXTERNAL, gcp.compute.ForwardingRuleArgs, "load_balancing_scheme"),
    (pv.GCP_SCHEME_EXTERNAL, gcp.compute.BackendServiceArgs, "load_balancing_scheme"),
    (pv.GCP_BALANCING_MODE_RATE, gcp.compute.BackendServiceBackendArgs, "balancing_mode"),
    (pv.GCP_BALANCING_MODE_RATE, gcp.compute.RegionBackendServiceBackendArgs, "balancing_mode"),
    (pv.GCP_UPDATE_TYPE, gcp.compute.RegionInstanceGroupManagerUpdatePolicyArgs, "type"),
    (pv.GCP_UPDATE_MINIMAL_ACTION, gcp.compute.RegionInstanceGroupManagerUpdatePolicyArgs, "minimal_action"),
    (pv.GCP_REDISTRIBUTION_NONE, gcp.compute.RegionInstanceGroupManagerUpdatePolicyArgs,
     "instance_redistribution_type"),
    (pv.GCP_REDISTRIBUTION_PROACTIVE, gcp.compute.RegionInstanceGroupManagerUpdatePolicyArgs,
     "instance_redistribution_type"),
    (pv.GCP_PROXY_ONLY_PURPOSE, gcp.compute.SubnetworkArgs, "purpose"),
    (pv.GCP_PROXY_ONLY_ROLE, gcp.compute.SubnetworkArgs, "role"),
    (pv.GCP_NAT_IP_ALLOCATE, gcp.compute.RouterNatArgs, "nat_ip_allocate_option"),
    (pv.GCP_NAT_SOURCE_RANGES, gcp.compute.RouterNatArgs, "source_subnetwork_ip_ranges_to_nat"),
    (pv.GCP_FIREWALL_DIRECTION, gcp.compute.FirewallArgs, "direction"),
]


@pytest.mark.parametrize(("value", "cls", "param"), DOCUMENTED,
                         ids=[f"{c.__name__}.{p}={v}" for v, c, p in DOCUMENTED])
def test_value_is_one_the_provider_documents(value, cls, param):
    assert documented(value, cls, param), f"{value!r} is not among {cls.__name__}.{param}'s values"


def test_the_check_itself_rejects_wrong_values():
    # A wrong case or a near miss must fail, or the table above proves nothing.
    cls = gcp.compute.InstanceTemplateSchedulingArgs
    assert not documented("spot", cls, "provisioning_model")
    assert not documented("cheapest", aws.autoscaling.GroupMixedInstancesPolicyInstancesDistributionArgs,
                          "spot_allocation_strategy")
    assert not documented("price-capacity", aws.autoscaling.GroupMixedInstancesPolicyInstancesDistributionArgs,
                          "spot_allocation_strategy")


@pytest.mark.parametrize(("value", "service", "shape"), [
    (pv.AWS_HTTP_TOKENS_REQUIRED, EC2, "LaunchTemplateHttpTokensState"),
    (pv.AWS_HTTP_ENDPOINT_ENABLED, EC2, "LaunchTemplateInstanceMetadataEndpointState"),
    (pv.AWS_INSTANCE_METADATA_TAGS, EC2, "LaunchTemplateInstanceMetadataTagsState"),
    (pv.AWS_VOLUME_TYPE, EC2, "VolumeType"),
    (pv.AWS_METRIC_REQUESTS_PER_TARGET, AUTOSCALING, "MetricType"),
    (pv.AWS_INSTANCE_REFRESH_STRATEGY, AUTOSCALING, "RefreshStrategy"),
    (pv.AWS_LB_TYPE, ELBV2, "LoadBalancerTypeEnum"),
    (pv.AWS_TARGET_TYPE, ELBV2, "TargetTypeEnum"),
    (pv.AWS_LISTENER_ACTION_FORWARD, ELBV2, "ActionTypeEnum"),
    (pv.AWS_LISTENER_ACTION_REDIRECT, ELBV2, "ActionTypeEnum"),
])
def test_value_is_in_the_aws_api_model(value, service, shape):
    assert value in aws_enum(*service, shape)


def test_spot_strategy_is_one_the_autoscaling_api_lists():
    doc = botocore_model(*AUTOSCALING)["shapes"]["InstancesDistribution"]["members"]["SpotAllocationStrategy"][
        "documentation"]
    listed = re.findall(r"<dt>([a-z-]+)", doc)
    assert pv.AWS_SPOT_ALLOCATION_STRATEGY in listed


def test_imds_hop_limits_are_in_range_and_keep_containers_away_by_default():
    # 1..64 per the EC2 API; containers behind a bridge need 2, so 1 keeps them from the role.
    assert pv.AWS_IMDS_HOP_LIMIT == 1
    assert pv.AWS_IMDS_HOP_LIMIT_CONTAINERS == 2


@pytest.mark.parametrize(("value", "enum"), [
    (pv.AZURE_PRIORITY_SPOT, compute.VirtualMachinePriorityTypes),
    (pv.AZURE_PRIORITY_REGULAR, compute.VirtualMachinePriorityTypes),
    (pv.AZURE_EVICTION_POLICY, compute.VirtualMachineEvictionPolicyTypes),
    (pv.AZURE_UPGRADE_MODE, compute.UpgradeMode),
    (pv.AZURE_ORCHESTRATION_MODE, compute.OrchestrationMode),
    (pv.AZURE_OS_DISK_TYPE, compute.StorageAccountTypes),
    (pv.AZURE_OS_DISK_TYPE_NO_PREMIUM, compute.StorageAccountTypes),
    (pv.AZURE_SECURITY_TYPE_CONFIDENTIAL, compute.SecurityTypes),
    (pv.AZURE_CVM_DISK_ENCRYPTION, compute.SecurityEncryptionTypes),
    (pv.AZURE_LB_SKU, network.LoadBalancerSkuName),
])
def test_azure_value_is_a_member_of_the_sdk_enum(value, enum):
    assert value in {m.value for m in enum}


@pytest.mark.parametrize(("values", "enum"), [
    (("GreaterThan", "LessThan"), monitor.ComparisonOperationType),
    (("Average",), monitor.MetricStatisticType),
    (("Average",), monitor.TimeAggregationType),
    (("Increase", "Decrease"), monitor.ScaleDirection),
    (("ChangeCount",), monitor.ScaleType),
])
def test_azure_autoscale_strings_are_sdk_enum_values(values, enum):
    assert set(values) <= {m.value for m in enum}


def test_spot_max_price_minus_one_means_up_to_on_demand():
    # BillingProfile.max_price: -1 = "default price to be up-to on-demand" (SDK docstring).
    assert pv.AZURE_SPOT_MAX_PRICE == -1
    assert "-1" in param_doc(compute.BillingProfileArgs, "max_price")


# Listed only in the cloud docs, not in the installed SDKs' parameter documentation:
# regional MIG distribution shapes (cloud.google.com/compute/docs/instance-groups/regional-mig-distribution-shape).
GCP_TARGET_SHAPES = ("EVEN", "BALANCED", "ANY", "ANY_SINGLE_ZONE")


def test_gcp_distribution_shapes_are_documented_ones():
    assert pv.GCP_TARGET_SHAPE_ANY in GCP_TARGET_SHAPES and pv.GCP_TARGET_SHAPE_EVEN in GCP_TARGET_SHAPES
