"""Guardrails as plain functions over resource types and inputs (camelCase wire names).

The CrossGuard pack (``stacks/policy/pack``) wraps these for ``pulumi preview/up
--policy-pack``; the offline preview runs the very same functions over the resources the
mocks captured. Nothing here imports Pulumi, so the rules are tested directly.

Resource rules take ``(resource_type, props, config)`` and return violation messages;
stack rules take every resource at once.
"""
from __future__ import annotations

import fnmatch
import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from stacks.naming import REQUIRED_TAGS, TAG_MODEL, TAG_MONTHLY_USD, TAG_SPOT_POLICY, TAG_TEAM, UNASSIGNED_TEAM

MANDATORY = "mandatory"
ADVISORY = "advisory"

ADMIN_PORTS = (22, 3389)
WORLD = ("0.0.0.0/0", "::/0", "*", "internet", "any", "0.0.0.0")


@dataclass(frozen=True, kw_only=True)
class Budgets:
    stack_usd: float | None = None
    teams: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class PolicyConfig:
    allowed_regions: tuple[str, ...] | None = None          # None: any region
    allowed_instance_families: tuple[str, ...] | None = None  # None: any family
    budgets: Budgets = field(default_factory=Budgets)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> PolicyConfig:
        """From CrossGuard pack config (``--policy-pack-config``), same keys as the stack settings."""
        budgets = raw.get("budgets") or {}
        return cls(
            allowed_regions=tuple(raw["allowedRegions"]) if raw.get("allowedRegions") else None,
            allowed_instance_families=tuple(raw["allowedInstanceFamilies"])
            if raw.get("allowedInstanceFamilies") else None,
            budgets=Budgets(stack_usd=None if budgets.get("stack") is None else float(budgets["stack"]),
                            teams={k: float(v) for k, v in (budgets.get("teams") or {}).items()}),
        )


@dataclass(frozen=True)
class ResourceView:
    """One resource as a policy sees it."""

    type: str
    name: str
    props: Mapping[str, Any]


@dataclass(frozen=True)
class Violation:
    policy: str
    resource: str
    message: str
    enforcement: str = MANDATORY

    def to_dict(self) -> dict[str, str]:
        return {"policy": self.policy, "resource": self.resource, "message": self.message,
                "enforcement": self.enforcement}


# --- helpers --------------------------------------------------------------------------------------

AWS_LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
AWS_INSTANCE = "aws:ec2/instance:Instance"
AWS_ASG = "aws:autoscaling/group:Group"
AWS_SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
AWS_SG_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
AWS_SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
AWS_EBS_VOLUME = "aws:ebs/volume:Volume"
GCP_INSTANCE_TEMPLATE = "gcp:compute/instanceTemplate:InstanceTemplate"
GCP_REGION_INSTANCE_TEMPLATE = "gcp:compute/regionInstanceTemplate:RegionInstanceTemplate"
GCP_FIREWALL = "gcp:compute/firewall:Firewall"
AZURE_VMSS = "azure-native:compute:VirtualMachineScaleSet"
AZURE_NSG = "azure-native:network:NetworkSecurityGroup"
AZURE_SECURITY_RULE = "azure-native:network:SecurityRule"

# Resource types roost creates that accept tags or labels: each must carry the cost tags.
TAGGABLE_TYPES = frozenset({
    AWS_LAUNCH_TEMPLATE, AWS_ASG, AWS_SECURITY_GROUP, "aws:iam/role:Role", "aws:iam/instanceProfile:InstanceProfile",
    "aws:lb/loadBalancer:LoadBalancer", "aws:lb/targetGroup:TargetGroup", "aws:lb/listener:Listener",
    "aws:secretsmanager/secret:Secret", "aws:cloudwatch/logGroup:LogGroup",
    GCP_INSTANCE_TEMPLATE, GCP_REGION_INSTANCE_TEMPLATE, "gcp:secretmanager/secret:Secret",
    "gcp:compute/globalForwardingRule:GlobalForwardingRule", "gcp:compute/forwardingRule:ForwardingRule",
    "azure-native:resources:ResourceGroup", "azure-native:network:VirtualNetwork", AZURE_NSG,
    "azure-native:network:LoadBalancer", "azure-native:network:PublicIPAddress", "azure-native:network:NatGateway",
    AZURE_VMSS, "azure-native:monitor:AutoscaleSetting", "azure-native:keyvault:Vault",
})
GROUP_TYPES = frozenset({AWS_ASG, "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager", AZURE_VMSS})


def tags_of(props: Mapping[str, Any]) -> dict[str, str] | None:
    """Tags or labels as a dict, whatever shape the resource takes them in.

    GCP calls them labels (its ``tags`` are network tags); an AWS Auto Scaling group takes
    a list of {key, value}; a GCP managed instance group labels its VMs via allInstancesConfig."""
    labels = props.get("labels")
    if isinstance(labels, Mapping):
        return {str(k): str(v) for k, v in labels.items()}
    tags = props.get("tags")
    if isinstance(tags, Mapping):
        return {str(k): str(v) for k, v in tags.items()}
    if isinstance(tags, list) and tags and all(isinstance(t, Mapping) for t in tags):
        return {str(t.get("key")): str(t.get("value")) for t in tags}
    instance_labels = _get(props, "allInstancesConfig.labels")
    if isinstance(instance_labels, Mapping):
        return {str(k): str(v) for k, v in instance_labels.items()}
    return None


def _get(props: Mapping[str, Any], path: str, default: Any = None) -> Any:
    node: Any = props
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _is_world(prefix: Any) -> bool:
    if not isinstance(prefix, str):
        return False
    text = prefix.strip().lower()
    if text in WORLD:
        return True
    try:
        return ipaddress.ip_network(text, strict=False).prefixlen == 0
    except ValueError:
        return False


def _port_range_covers(spec: Any, port: int) -> bool:
    """'*', '22', '20-25' or a number."""
    if spec is None:
        return False
    text = str(spec).strip()
    if text in ("*", "", "all"):
        return True
    if "-" in text:
        lo, _, hi = text.partition("-")
        try:
            return int(float(lo)) <= port <= int(float(hi))
        except ValueError:
            return False
    try:
        return int(float(text)) == port
    except ValueError:
        return False


# --- resource rules -------------------------------------------------------------------------------


def imdsv2_required(resource_type: str, props: Mapping[str, Any], config: PolicyConfig) -> list[str]:
    if resource_type not in (AWS_LAUNCH_TEMPLATE, AWS_INSTANCE):
        return []
    tokens = _get(props, "metadataOptions.httpTokens")
    if tokens != "required":
        return [f"metadataOptions.httpTokens is {tokens!r}: must be 'required' (IMDSv2 only), "
                "so SSRF in a model server cannot read the instance's credentials"]
    return []


def encrypted_disks(resource_type: str, props: Mapping[str, Any], config: PolicyConfig) -> list[str]:
    """EBS must be encrypted explicitly. GCP and Azure always encrypt disks at rest; Azure
    confidential VMs must also encrypt their guest state."""
    out = []
    if resource_type in (AWS_LAUNCH_TEMPLATE, AWS_INSTANCE):
        for i, bdm in enumerate(props.get("blockDeviceMappings") or []):
            ebs = bdm.get("ebs") if isinstance(bdm, Mapping) else None
            if isinstance(ebs, Mapping) and not _truthy(ebs.get("encrypted")):
                out.append(f"blockDeviceMappings[{i}] ({bdm.get('deviceName')}): EBS volume is not encrypted")
        root = props.get("rootBlockDevice")
        if isinstance(root, Mapping) and not _truthy(root.get("encrypted")):
            out.append("rootBlockDevice is not encrypted")
    elif resource_type == AWS_EBS_VOLUME and not _truthy(props.get("encrypted")):
        out.append("EBS volume is not encrypted")
    elif resource_type == AZURE_VMSS:
        security_type = _get(props, "virtualMachineProfile.securityProfile.securityType")
        disk_security = _get(props, "virtualMachineProfile.storageProfile.osDisk.managedDisk.securityProfile")
        if security_type == "ConfidentialVM" and not disk_security:
            out.append("confidential VM without osDisk.managedDisk.securityProfile (guest state not encrypted)")
    return out


def no_public_admin_ports(resource_type: str, props: Mapping[str, Any], config: PolicyConfig) -> list[str]:
    """No SSH (22) or RDP (3389) reachable from anywhere on the internet."""
    out = []
    if resource_type == AWS_SECURITY_GROUP:
        for i, rule in enumerate(props.get("ingress") or []):
            out += _aws_rule_opens_admin(rule, f"ingress[{i}]", v4="cidrBlocks", v6="ipv6CidrBlocks")
    elif resource_type == AWS_SG_INGRESS_RULE:
        out += _aws_rule_opens_admin({**props, "protocol": props.get("ipProtocol"),
                                      "cidrBlocks": [props.get("cidrIpv4")], "ipv6CidrBlocks": [props.get("cidrIpv6")]},
                                     "rule", v4="cidrBlocks", v6="ipv6CidrBlocks")
    elif resource_type == AWS_SG_RULE and props.get("type") == "ingress":
        out += _aws_rule_opens_admin(props, "rule", v4="cidrBlocks", v6="ipv6CidrBlocks")
    elif resource_type == GCP_FIREWALL and (props.get("direction") or "INGRESS") == "INGRESS":
        if any(_is_world(r) for r in props.get("sourceRanges") or []):
            for allow in props.get("allows") or []:
                ports = allow.get("ports") or ["*"]
                if allow.get("protocol") in ("tcp", "all") and any(
                        _port_range_covers(p, admin) for p in ports for admin in ADMIN_PORTS):
                    out.append(f"firewall admits tcp {','.join(map(str, ports))} from the internet")
    elif resource_type in (AZURE_NSG, AZURE_SECURITY_RULE):
        rules = props.get("securityRules") or [] if resource_type == AZURE_NSG else [props]
        for rule in rules:
            rule = rule.get("properties", rule) if isinstance(rule, Mapping) else {}
            if rule.get("direction") != "Inbound" or rule.get("access") != "Allow":
                continue
            sources = [rule.get("sourceAddressPrefix"), *(rule.get("sourceAddressPrefixes") or [])]
            ports = [rule.get("destinationPortRange"), *(rule.get("destinationPortRanges") or [])]
            if any(_is_world(s) for s in sources) and any(
                    _port_range_covers(p, admin) for p in ports for admin in ADMIN_PORTS):
                out.append(f"security rule {rule.get('name')!r} admits SSH/RDP from the internet")
    return out


def _aws_rule_opens_admin(rule: Mapping[str, Any], where: str, *, v4: str, v6: str) -> list[str]:
    cidrs = [*(rule.get(v4) or []), *(rule.get(v6) or [])]
    if not any(_is_world(c) for c in cidrs):
        return []
    protocol = str(rule.get("protocol", "")).lower()
    if protocol in ("-1", "all"):
        return [f"{where}: all traffic from the internet (includes SSH/RDP)"]
    if protocol not in ("tcp", "6"):
        return []
    lo, hi = rule.get("fromPort"), rule.get("toPort")
    try:
        lo_i, hi_i = int(float(lo)), int(float(hi))
    except (TypeError, ValueError):
        return []
    hits = [p for p in ADMIN_PORTS if lo_i <= p <= hi_i]
    return [f"{where}: tcp {p} open to the internet" for p in hits]


def required_cost_tags(resource_type: str, props: Mapping[str, Any], config: PolicyConfig) -> list[str]:
    tags = tags_of(props)
    if tags is None:
        return ["has no tags/labels: cost allocation needs " + ", ".join(REQUIRED_TAGS)] \
            if resource_type in TAGGABLE_TYPES else []
    missing = [k for k in REQUIRED_TAGS if not tags.get(k)]
    return [f"missing cost tag(s) {', '.join(missing)}"] if missing else []


def allowed_regions(resource_type: str, props: Mapping[str, Any], config: PolicyConfig) -> list[str]:
    if config.allowed_regions is None:
        return []
    allowed = {r.lower() for r in config.allowed_regions}
    out = []
    for key in ("region", "location"):
        value = props.get(key)
        if isinstance(value, str) and value and value.lower().replace(" ", "") not in allowed:
            out.append(f"{key} {value!r} is not an allowed region ({', '.join(config.allowed_regions)})")
    return out


def instance_family(instance_type: str) -> str:
    """``c7g.large`` → ``c7g``; ``g2-standard-24`` → ``g2``; ``Standard_NC4as_T4_v3`` → ``NCas_T4_v3``."""
    if "." in instance_type:
        return instance_type.split(".", 1)[0]
    if instance_type.startswith("Standard_"):
        return re.sub(r"^([A-Z]+)\d+", r"\1", instance_type.removeprefix("Standard_"))
    return instance_type.split("-", 1)[0]


def instance_types_in(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    types: list[str] = []
    if resource_type in (AWS_LAUNCH_TEMPLATE, AWS_INSTANCE) and props.get("instanceType"):
        types.append(props["instanceType"])
    elif resource_type == AWS_ASG:
        for o in _get(props, "mixedInstancesPolicy.launchTemplate.overrides") or []:
            if isinstance(o, Mapping) and o.get("instanceType"):
                types.append(o["instanceType"])
    elif resource_type in (GCP_INSTANCE_TEMPLATE, GCP_REGION_INSTANCE_TEMPLATE) and props.get("machineType"):
        types.append(props["machineType"])
    elif resource_type == AZURE_VMSS and _get(props, "sku.name"):
        types.append(_get(props, "sku.name"))
    return types


def allowed_instance_families(resource_type: str, props: Mapping[str, Any], config: PolicyConfig) -> list[str]:
    if config.allowed_instance_families is None:
        return []
    patterns = config.allowed_instance_families
    out = []
    for t in instance_types_in(resource_type, props):
        family = instance_family(t)
        if not any(family.lower() == p.lower() or fnmatch.fnmatchcase(t, p) for p in patterns):
            out.append(f"instance type {t} (family {family}) is not allowed ({', '.join(patterns)})")
    return out


def spot_forbidden_for_never(resource_type: str, props: Mapping[str, Any], config: PolicyConfig) -> list[str]:
    """A deployment marked ``spot: never`` must not run anything on spot capacity."""
    tags = tags_of(props) or {}
    if tags.get(TAG_SPOT_POLICY) != "never":
        return []
    if resource_type == AWS_ASG:
        dist = _get(props, "mixedInstancesPolicy.instancesDistribution") or {}
        pct = dist.get("onDemandPercentageAboveBaseCapacity", 100)
        if props.get("mixedInstancesPolicy") and float(pct if pct is not None else 100) < 100:
            return [f"onDemandPercentageAboveBaseCapacity is {pct:g}: part of the group would run on spot"]
    if resource_type in (AWS_LAUNCH_TEMPLATE, AWS_INSTANCE) and _get(props, "instanceMarketOptions.marketType") == "spot":
        return ["launch template requests spot instances"]
    if resource_type in (GCP_INSTANCE_TEMPLATE, GCP_REGION_INSTANCE_TEMPLATE):
        sched = props.get("scheduling") or {}
        if sched.get("provisioningModel") == "SPOT" or _truthy(sched.get("preemptible")):
            return ["instance template provisions SPOT/preemptible VMs"]
    if resource_type == AZURE_VMSS and _get(props, "virtualMachineProfile.priority") in ("Spot", "Low"):
        return ["scale set runs Spot priority VMs"]
    return []


# --- stack rules ----------------------------------------------------------------------------------


def budget_caps(resources: Sequence[ResourceView], config: PolicyConfig) -> list[tuple[str, str]]:
    """Per-team and per-stack monthly caps over the fleets' cost estimates (tag roost-monthly-usd)."""
    budgets = config.budgets
    if budgets.stack_usd is None and not budgets.teams:
        return []
    by_team: dict[str, float] = {}
    models_by_team: dict[str, set[str]] = {}
    counted: set[str] = set()
    for r in resources:
        tags = tags_of(r.props) or {}
        if r.type not in GROUP_TYPES or TAG_MONTHLY_USD not in tags:
            continue
        model = tags.get(TAG_MODEL, r.name)
        if model in counted:  # one cost per fleet, even when it has a base and a spot group
            continue
        counted.add(model)
        team = tags.get(TAG_TEAM) or UNASSIGNED_TEAM
        by_team[team] = by_team.get(team, 0.0) + float(tags[TAG_MONTHLY_USD])
        models_by_team.setdefault(team, set()).add(model)
    out = []
    total = sum(by_team.values())
    if budgets.stack_usd is not None and total > budgets.stack_usd:
        out.append(("stack", f"estimated ${total:,.0f}/month exceeds the stack budget ${budgets.stack_usd:,.0f}"))
    for team, cap in sorted(budgets.teams.items()):
        spent = by_team.get(team, 0.0)
        if spent > cap:
            models = ", ".join(sorted(models_by_team.get(team, ())))
            out.append((f"team:{team}", f"team {team} is estimated at ${spent:,.0f}/month ({models}), over its "
                        f"budget ${cap:,.0f}"))
    return out


@dataclass(frozen=True)
class ResourceRule:
    name: str
    description: str
    check: Callable[[str, Mapping[str, Any], PolicyConfig], list[str]]
    enforcement: str = MANDATORY


@dataclass(frozen=True)
class StackRule:
    name: str
    description: str
    check: Callable[[Sequence[ResourceView], PolicyConfig], list[tuple[str, str]]]
    enforcement: str = MANDATORY


RESOURCE_RULES: tuple[ResourceRule, ...] = (
    ResourceRule("imdsv2-required", "EC2 instances accept IMDSv2 only.", imdsv2_required),
    ResourceRule("encrypted-disks", "Every disk is encrypted at rest.", encrypted_disks),
    ResourceRule("no-public-admin-ports", "No SSH or RDP open to the internet.", no_public_admin_ports),
    ResourceRule("required-cost-tags", "Cost-allocation tags on everything that takes tags.", required_cost_tags),
    ResourceRule("allowed-regions", "Fleets run only in allowed regions.", allowed_regions),
    ResourceRule("allowed-instance-families", "Fleets run only on allowed instance families.",
                 allowed_instance_families),
    ResourceRule("spot-forbidden-for-never", "Deployments marked spot: never never use spot capacity.",
                 spot_forbidden_for_never),
)
STACK_RULES: tuple[StackRule, ...] = (
    StackRule("budget-caps", "Per-team and per-stack monthly budget caps.", budget_caps),
)


def evaluate(resources: Iterable[ResourceView], config: PolicyConfig) -> list[Violation]:
    """Every rule over every resource, as the pack would report them."""
    resources = list(resources)
    out: list[Violation] = []
    for r in resources:
        for rule in RESOURCE_RULES:
            out.extend(Violation(rule.name, r.name, msg, rule.enforcement) for msg in rule.check(r.type, r.props, config))
    for stack_rule in STACK_RULES:
        out.extend(Violation(stack_rule.name, where, msg, stack_rule.enforcement)
                   for where, msg in stack_rule.check(resources, config))
    return out
