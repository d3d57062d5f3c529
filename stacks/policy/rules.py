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
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from stacks.naming import (
    PLAIN_HTTP_ALLOWED,
    REQUIRED_TAGS,
    TAG_MODEL,
    TAG_MONTHLY_USD,
    TAG_PLAIN_HTTP,
    TAG_SPOT_POLICY,
    TAG_STACK,
    TAG_TEAM,
    UNASSIGNED_TEAM,
)

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
    # Public endpoints serving plain HTTP: True allows them, False refuses them even where the
    # program recorded the stack's opt-in on the load balancer (tag roost-plain-http), None
    # (the default) honours that tag.
    allow_plain_http: bool | None = None

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
            allow_plain_http=raw.get("allowPlainHttp") if isinstance(raw.get("allowPlainHttp"), bool) else None,
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
AWS_LB = "aws:lb/loadBalancer:LoadBalancer"
AWS_LISTENER = "aws:lb/listener:Listener"
AWS_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
AWS_POLICY = "aws:iam/policy:Policy"
GCP_FORWARDING_RULES = ("gcp:compute/globalForwardingRule:GlobalForwardingRule",
                        "gcp:compute/forwardingRule:ForwardingRule")
GCP_PROJECT_IAM = ("gcp:projects/iAMMember:IAMMember", "gcp:projects/iAMBinding:IAMBinding")
GCP_SECRET_IAM = ("gcp:secretmanager/secretIamMember:SecretIamMember",
                  "gcp:secretmanager/secretIamBinding:SecretIamBinding")
AZURE_LB = "azure-native:network:LoadBalancer"
AZURE_ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
# Built-in roles that read secret values: Key Vault Secrets User, Secrets Officer, Administrator.
AZURE_SECRET_READER_ROLES = ("4633458b-17de-408a-b874-0445c86b69e6", "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
                             "00482a5a-887f-4fb3-b363-3b7fe8e74483")
GCP_SECRET_READER_ROLES = ("roles/secretmanager.secretAccessor", "roles/secretmanager.admin", "roles/owner",
                           "roles/editor")

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


# "Open to the world" is judged by how much of the public address space a set of ranges
# covers together, not by how it is spelt: [0.0.0.0/1, 128.0.0.0/1] is the internet too.
# A rule is world-open when the union of its sources covers at least this share of public
# IPv4 (about 3.6 M addresses: a /10 or more) or of global-unicast IPv6 (2000::/3).
WORLD_SHARE = 1 / 1024
_PUBLIC_V6 = ipaddress.ip_network("2000::/3")
# Not reachable from the internet: RFC 6890 special-purpose IPv4 blocks.
_NON_PUBLIC_V4 = tuple(ipaddress.collapse_addresses(ipaddress.ip_network(c) for c in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
    "224.0.0.0/3")))
_PUBLIC_V4_SIZE = 2 ** 32 - sum(n.num_addresses for n in _NON_PUBLIC_V4)


def _networks(prefixes: Iterable[Any]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network] | None:
    """The ranges as networks; None when one of them is a whole-internet word ("*", "Internet", …)."""
    out = []
    for prefix in prefixes:
        if not isinstance(prefix, str):
            continue
        text = prefix.strip().lower()
        if text in WORLD:
            return None
        try:
            out.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            continue  # a service tag or name that is not the internet (VirtualNetwork, AzureLoadBalancer)
    return out


def public_share(prefixes: Iterable[Any]) -> float:
    """The largest share of public IPv4 or IPv6 space the union of ``prefixes`` covers (0–1)."""
    nets = _networks(prefixes)
    if nets is None:
        return 1.0
    v4 = list(ipaddress.collapse_addresses(n for n in nets if n.version == 4))
    v6 = list(ipaddress.collapse_addresses(n for n in nets if n.version == 6))
    covered_v4 = 0
    for n in v4:  # two CIDRs are nested or disjoint, so subtracting the nested blocks is exact
        covered_v4 += n.num_addresses - sum(
            r.num_addresses if r.subnet_of(n) else n.num_addresses if n.subnet_of(r) else 0
            for r in _NON_PUBLIC_V4)
    covered_v6 = sum(_PUBLIC_V6.num_addresses if _PUBLIC_V6.subnet_of(n) else n.num_addresses
                     for n in v6 if n.overlaps(_PUBLIC_V6))
    return max(max(0, covered_v4) / _PUBLIC_V4_SIZE, covered_v6 / _PUBLIC_V6.num_addresses)


def is_world(prefixes: Iterable[Any]) -> bool:
    """True when these source ranges together reach a large share of the internet."""
    return public_share(prefixes) >= WORLD_SHARE


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
    """No SSH (22) or RDP (3389) reachable from a large share of the internet, however the
    sources are split over rules or ranges."""
    out = []
    if resource_type == AWS_SECURITY_GROUP:
        out += _aws_rules_open_admin([r for r in props.get("ingress") or [] if isinstance(r, Mapping)], "ingress")
    elif resource_type == AWS_SG_INGRESS_RULE:
        out += _aws_rules_open_admin([_aws_ingress_rule(props)], "rule")
    elif resource_type == AWS_SG_RULE and props.get("type") == "ingress":
        out += _aws_rules_open_admin([props], "rule")
    elif resource_type == GCP_FIREWALL and (props.get("direction") or "INGRESS") == "INGRESS":
        if is_world(props.get("sourceRanges") or []):
            for allow in props.get("allows") or []:
                ports = allow.get("ports") or ["*"]
                if allow.get("protocol") in ("tcp", "all") and any(
                        _port_range_covers(p, admin) for p in ports for admin in ADMIN_PORTS):
                    out.append(f"firewall admits tcp {','.join(map(str, ports))} from the internet "
                               f"({_share_text(props.get('sourceRanges') or [])})")
    elif resource_type in (AZURE_NSG, AZURE_SECURITY_RULE):
        out += _azure_rules_open_admin(props.get("securityRules") or [] if resource_type == AZURE_NSG else [props])
    return out


def _aws_ingress_rule(props: Mapping[str, Any]) -> Mapping[str, Any]:
    """A standalone ``vpc.SecurityGroupIngressRule`` in the shape of a security group's rule."""
    return {**props, "protocol": props.get("ipProtocol"), "cidrBlocks": [props.get("cidrIpv4")],
            "ipv6CidrBlocks": [props.get("cidrIpv6")]}


def _share_text(prefixes: Iterable[Any]) -> str:
    return f"{public_share(prefixes):.0%} of public address space"


def _azure_rules_open_admin(rules: Iterable[Any]) -> list[str]:
    out = []
    by_port: dict[int, list[Any]] = {p: [] for p in ADMIN_PORTS}
    names: dict[int, list[str]] = {p: [] for p in ADMIN_PORTS}
    for rule in rules:
        rule = rule.get("properties", rule) if isinstance(rule, Mapping) else {}
        if rule.get("direction") != "Inbound" or rule.get("access") != "Allow":
            continue
        sources = [rule.get("sourceAddressPrefix"), *(rule.get("sourceAddressPrefixes") or [])]
        ports = [rule.get("destinationPortRange"), *(rule.get("destinationPortRanges") or [])]
        for admin in ADMIN_PORTS:
            if any(_port_range_covers(p, admin) for p in ports):
                by_port[admin] += sources
                names[admin].append(str(rule.get("name")))
    for admin, sources in by_port.items():
        if is_world(sources):
            out.append(f"security rule(s) {', '.join(map(repr, names[admin]))} admit tcp {admin} (SSH/RDP) from "
                       f"the internet ({_share_text(sources)})")
    return out


def _aws_rules_open_admin(rules: Sequence[Mapping[str, Any]], where: str) -> list[str]:
    """The union of every rule's ranges that reaches each admin port."""
    sources: dict[int, list[Any]] = {p: [] for p in ADMIN_PORTS}
    for rule in rules:
        cidrs = [*(rule.get("cidrBlocks") or []), *(rule.get("ipv6CidrBlocks") or [])]
        protocol = str(rule.get("protocol", "")).lower()
        if protocol in ("-1", "all"):
            hits = list(ADMIN_PORTS)
        elif protocol in ("tcp", "6"):
            try:
                lo, hi = int(float(rule.get("fromPort"))), int(float(rule.get("toPort")))
            except (TypeError, ValueError):
                continue
            hits = [p for p in ADMIN_PORTS if lo <= p <= hi]
        else:
            continue
        for p in hits:
            sources[p] += cidrs
    return [f"{where}: tcp {p} open to the internet ({_share_text(cidrs)})"
            for p, cidrs in sources.items() if is_world(cidrs)]


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


def _wildcard(text: str) -> bool:
    return "*" in text or "?" in text


def _policy_document(value: Any) -> Mapping[str, Any] | None:
    if isinstance(value, Mapping):
        return value
    if isinstance(value, str):
        try:
            doc = json.loads(value)
        except ValueError:
            return None
        return doc if isinstance(doc, Mapping) else None
    return None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


def _reads_secrets(action: Any) -> bool:
    text = str(action).lower()
    return text in ("*", "secretsmanager:*", "secretsmanager:getsecretvalue") or (
        text.startswith("secretsmanager:get") and _wildcard(text))


def secret_access_one_secret(resource_type: str, props: Mapping[str, Any], config: PolicyConfig) -> list[str]:
    """Every grant to read secret values names one secret: no wildcard, no project- or
    subscription-wide reader role."""
    out = []
    if resource_type in (AWS_ROLE_POLICY, AWS_POLICY):
        doc = _policy_document(props.get("policy"))
        for i, st in enumerate(_as_list(doc.get("Statement")) if doc else []):
            if not isinstance(st, Mapping) or st.get("Effect") != "Allow":
                continue
            if not any(_reads_secrets(a) for a in _as_list(st.get("Action"))):
                continue
            for res in _as_list(st.get("Resource")):
                if not isinstance(res, str) or _wildcard(res) or ":secret:" not in res:
                    out.append(f"statement {i} reads secret values of {res!r}: name each secret's full ARN "
                               "(no wildcards)")
    elif resource_type in GCP_PROJECT_IAM and props.get("role") in GCP_SECRET_READER_ROLES:
        out.append(f"{props.get('role')} on the whole project reads every secret in it: grant "
                   "roles/secretmanager.secretAccessor on each secret instead")
    elif resource_type in GCP_SECRET_IAM:
        secret = str(props.get("secretId") or "")
        if _wildcard(secret) or not secret:
            out.append(f"secret IAM grant on {secret!r}: name exactly one secret")
    elif resource_type == AZURE_ROLE_ASSIGNMENT:
        role = str(props.get("roleDefinitionId") or "").rstrip("/").rsplit("/", 1)[-1].lower()
        scope = str(props.get("scope") or "")
        if role in AZURE_SECRET_READER_ROLES and (
                _wildcard(scope) or "/providers/microsoft.keyvault/vaults/" not in scope.lower()):
            out.append(f"a Key Vault secret reader role at scope {scope!r} reads every vault below it: scope it "
                       "to one vault or one secret")
    return out


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


def admin_ports_across_rules(resources: Sequence[ResourceView], config: PolicyConfig) -> list[tuple[str, str]]:
    """Standalone ingress rules on one security group or NSG, taken together: two rules that
    each open SSH to half the internet open it to all of it."""
    groups: dict[tuple[str, str], list[ResourceView]] = {}
    for r in resources:
        if r.type == AWS_SG_INGRESS_RULE or (r.type == AWS_SG_RULE and r.props.get("type") == "ingress"):
            key = ("aws", r.props.get("securityGroupId"))
        elif r.type == AZURE_SECURITY_RULE:
            key = ("azure", f"{r.props.get('resourceGroupName')}/{r.props.get('networkSecurityGroupName')}")
        else:
            continue
        if isinstance(key[1], str) and "known after apply" not in key[1]:  # unknown ids cannot be grouped
            groups.setdefault(key, []).append(r)
    out = []
    for (cloud, target), members in sorted(groups.items()):
        if len(members) < 2 or any(no_public_admin_ports(m.type, m.props, config) for m in members):
            continue  # a rule that is world-open alone is reported on its own
        if cloud == "aws":
            found = _aws_rules_open_admin([_aws_ingress_rule(m.props) if m.type == AWS_SG_INGRESS_RULE else m.props
                                           for m in members], f"rules {', '.join(m.name for m in members)}")
        else:
            found = _azure_rules_open_admin([m.props for m in members])
        out += [(target, message) for message in found]
    return out


def _fleet_key(props: Mapping[str, Any]) -> tuple[str, str] | None:
    tags = tags_of(props) or {}
    return (tags[TAG_STACK], tags[TAG_MODEL]) if tags.get(TAG_STACK) and tags.get(TAG_MODEL) else None


def _opted_in(props: Mapping[str, Any], config: PolicyConfig) -> bool:
    if config.allow_plain_http is not None:
        return config.allow_plain_http
    return (tags_of(props) or {}).get(TAG_PLAIN_HTTP) == PLAIN_HTTP_ALLOWED


def _forwards(listener: Mapping[str, Any]) -> bool:
    return any(isinstance(a, Mapping) and (a.get("type") == "forward" or a.get("forward"))
               for a in listener.get("defaultActions") or [])


def tls_on_public_endpoints(resources: Sequence[ResourceView], config: PolicyConfig) -> list[tuple[str, str]]:
    """An internet-facing load balancer serves HTTPS only, unless the stack opted in to plain
    HTTP (``roost:allowPlainHttp``, recorded on the load balancer as tag roost-plain-http)."""
    if config.allow_plain_http is True:
        return []
    out: list[tuple[str, str]] = []
    public_aws: dict[Any, ResourceView] = {}
    for r in resources:
        if r.type == AWS_LB and not _truthy(r.props.get("internal")):
            for key in (r.props.get("arn"), _fleet_key(r.props)):
                if key:
                    public_aws[key] = r
    for r in resources:
        if r.type == AWS_LISTENER and str(r.props.get("protocol", "")).upper() == "HTTP" and _forwards(r.props):
            lb = public_aws.get(r.props.get("loadBalancerArn")) or public_aws.get(_fleet_key(r.props))
            if lb is not None and not (_opted_in(lb.props, config) or _opted_in(r.props, config)):
                out.append((r.name, f"internet-facing load balancer {lb.name} forwards plain HTTP: set a "
                                    "certificate (roost:aws.certificateArn) or opt in with roost:allowPlainHttp"))
        elif (r.type in GCP_FORWARDING_RULES and str(r.props.get("loadBalancingScheme", "")).startswith("EXTERNAL")
              and "/targetHttpProxies/" in str(r.props.get("target", "")) and not _opted_in(r.props, config)):
            out.append((r.name, "external forwarding rule serves plain HTTP: set a certificate "
                                "(roost:gcp.certificate) or opt in with roost:allowPlainHttp"))
        elif r.type == AZURE_LB and not _opted_in(r.props, config):
            public = any(isinstance(f, Mapping) and f.get("publicIPAddress")
                         for f in r.props.get("frontendIPConfigurations") or [])
            plain = any(isinstance(p, Mapping) and p.get("protocol") == "Http" for p in r.props.get("probes") or [])
            if public and plain:
                out.append((r.name, "public load balancer passes plain HTTP to its backends (an Azure load "
                                    "balancer does not terminate TLS): keep the endpoint internal or opt in with "
                                    "roost:allowPlainHttp"))
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
    ResourceRule("secret-access-one-secret", "Each grant to read secrets names exactly one secret (or the "
                 "fleet's own vault).", secret_access_one_secret),
)
STACK_RULES: tuple[StackRule, ...] = (
    StackRule("budget-caps", "Per-team and per-stack monthly budget caps.", budget_caps),
    StackRule("no-public-admin-ports-combined", "Standalone ingress rules on one security group or NSG do not "
              "open SSH or RDP to the internet together.", admin_ports_across_rules),
    StackRule("tls-on-public-endpoints", "Internet-facing endpoints serve HTTPS unless the stack opts in to "
              "plain HTTP (roost:allowPlainHttp).", tls_on_public_endpoints),
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
