"""Preview a stack: every resource `pulumi up` would create, grouped by deployment, with
each fleet's cost and the policy rules' verdict. Returns data; the CLI prints it.

The offline path runs the real program (``stacks.program.run``) under strict mocks with the
config from ``Pulumi.<stack>.yaml``: no Pulumi CLI, plugins, credentials or network. Secure
config values cannot be decrypted offline; they are passed as ``[secret]`` and stay redacted.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from placement.errors import InputError
from placement.yamlsafe import YamlError, read_yaml_file
from roost.stackfile import PLAN_KEY, read_stack_config, validate_stack_name
from stacks.keys import PREFIX
from stacks.naming import FLEET_TYPE

SHARED = "(shared)"

# The inputs worth a glance per resource type (dotted paths; "[]" walks a list).
KEY_INPUTS: dict[str, tuple[str, ...]] = {
    "aws:autoscaling/group:Group": (
        "minSize", "maxSize", "desiredCapacity", "mixedInstancesPolicy.instancesDistribution.onDemandBaseCapacity",
        "mixedInstancesPolicy.instancesDistribution.onDemandPercentageAboveBaseCapacity",
        "mixedInstancesPolicy.instancesDistribution.spotAllocationStrategy",
        "mixedInstancesPolicy.launchTemplate.overrides[].instanceType", "healthCheckType"),
    "aws:ec2/launchTemplate:LaunchTemplate": (
        "instanceType", "imageId", "metadataOptions.httpTokens", "metadataOptions.httpPutResponseHopLimit",
        "blockDeviceMappings[].ebs.volumeSize",
        "blockDeviceMappings[].ebs.volumeType", "blockDeviceMappings[].ebs.encrypted"),
    "aws:lb/loadBalancer:LoadBalancer": ("name", "internal", "loadBalancerType", "idleTimeout"),
    "aws:lb/targetGroup:TargetGroup": ("name", "port", "protocol", "healthCheck.path"),
    "aws:lb/listener:Listener": ("port", "protocol", "certificateArn"),
    "aws:ec2/securityGroup:SecurityGroup": ("name", "ingress[].fromPort", "ingress[].cidrBlocks",
                                            "ingress[].securityGroups"),
    "aws:autoscaling/policy:Policy": ("policyType",
                                      "targetTrackingConfiguration.predefinedMetricSpecification.predefinedMetricType",
                                      "targetTrackingConfiguration.targetValue"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ("policyArn",),
    "gcp:compute/instanceTemplate:InstanceTemplate": (
        "machineType", "guestAccelerators[].type", "guestAccelerators[].count", "scheduling.provisioningModel",
        "scheduling.onHostMaintenance", "disks[].diskSizeGb", "shieldedInstanceConfig.enableVtpm"),
    "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager": (
        "name", "region", "targetSize", "distributionPolicyTargetShape", "autoHealingPolicies.initialDelaySec"),
    "gcp:compute/regionAutoscaler:RegionAutoscaler": (
        "autoscalingPolicy.minReplicas", "autoscalingPolicy.maxReplicas",
        "autoscalingPolicy.loadBalancingUtilization.target"),
    "gcp:compute/firewall:Firewall": ("sourceRanges", "allows[].ports", "targetTags"),
    "gcp:compute/regionBackendService:RegionBackendService": ("loadBalancingScheme", "backends[].maxRatePerInstance"),
    "gcp:compute/backendService:BackendService": ("loadBalancingScheme", "backends[].maxRatePerInstance"),
    "gcp:compute/forwardingRule:ForwardingRule": ("loadBalancingScheme", "portRange"),
    "gcp:compute/globalForwardingRule:GlobalForwardingRule": ("loadBalancingScheme", "portRange"),
    "gcp:projects/iAMMember:IAMMember": ("role", "project"),
    "azure-native:compute:VirtualMachineScaleSet": (
        "sku.name", "sku.capacity", "virtualMachineProfile.priority", "virtualMachineProfile.evictionPolicy",
        "virtualMachineProfile.billingProfile.maxPrice",
        "virtualMachineProfile.osProfile.linuxConfiguration.disablePasswordAuthentication",
        "virtualMachineProfile.extensionProfile.extensions[].type", "upgradePolicy.mode",
        "virtualMachineProfile.securityProfile.securityType",
        "virtualMachineProfile.securityProfile.uefiSettings.secureBootEnabled"),
    "azure-native:keyvault:Vault": ("vaultName", "properties.enableRbacAuthorization",
                                    "properties.networkAcls.defaultAction", "properties.networkAcls.ipRules[].value"),
    "azure-native:monitor:AutoscaleSetting": ("profiles[].capacity.minimum", "profiles[].capacity.maximum"),
    "azure-native:network:NetworkSecurityGroup": ("securityRules[].name", "securityRules[].destinationPortRange"),
    "azure-native:network:LoadBalancer": ("sku.name", "probes[].requestPath", "loadBalancingRules[].backendPort"),
}
_NEVER_SHOWN = frozenset({"userData", "customData", "metadata", "tags", "labels", "policy", "assumeRolePolicy"})


@dataclass(frozen=True)
class PreviewResource:
    urn: str
    type: str
    name: str
    deployment: str | None
    key_inputs: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"urn": self.urn, "type": self.type, "name": self.name, "deployment": self.deployment,
                "key_inputs": dict(self.key_inputs)}


@dataclass(frozen=True)
class DeploymentPreview:
    name: str
    cloud: str
    region: str
    instance_type: str
    purchase: str
    replicas: int
    min_replicas: int
    max_replicas: int
    monthly_cost_usd: float
    outputs: Mapping[str, Any]
    resources: tuple[PreviewResource, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "cloud": self.cloud, "region": self.region, "instance_type": self.instance_type,
                "purchase": self.purchase, "replicas": self.replicas, "min_replicas": self.min_replicas,
                "max_replicas": self.max_replicas, "monthly_cost_usd": round(self.monthly_cost_usd, 2),
                "outputs": dict(self.outputs), "resources": [r.to_dict() for r in self.resources]}


@dataclass(frozen=True)
class PreviewReport:
    stack: str
    plan_version: str
    resources: tuple[PreviewResource, ...]
    deployments: tuple[DeploymentPreview, ...]
    violations: tuple[Any, ...]   # stacks.policy.rules.Violation
    exports: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()   # things to do before the fleets can serve (not policy failures)

    @property
    def mandatory_violations(self) -> tuple[Any, ...]:
        return tuple(v for v in self.violations if v.enforcement == "mandatory")

    @property
    def monthly_cost_usd(self) -> float:
        return sum(d.monthly_cost_usd for d in self.deployments)

    def summary(self) -> dict[str, Any]:
        by_cloud: dict[str, int] = {}
        for d in self.deployments:
            by_cloud[d.cloud] = by_cloud.get(d.cloud, 0) + 1
        return {
            "deployments": len(self.deployments),
            "resources": len(self.resources),
            "deployments_by_cloud": dict(sorted(by_cloud.items())),
            "monthly_cost_usd": round(self.monthly_cost_usd, 2),
            "policy_violations": len(self.violations),
            "mandatory_violations": len(self.mandatory_violations),
            "passed": not self.mandatory_violations,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "plan_version": self.plan_version,
            "resources": [r.to_dict() for r in self.resources],
            "deployments": [d.to_dict() for d in self.deployments],
            "policy_violations": [v.to_dict() for v in self.violations],
            "notes": list(self.notes),
            "summary": self.summary(),
        }


# --- config: Pulumi.<stack>.yaml → what the engine would hand the program ------------------------


def _is_secure(value: Any) -> bool:
    return isinstance(value, Mapping) and set(value) == {"secure"}


def _redact_secure(value: Any) -> tuple[Any, bool]:
    """Replace ``{secure: …}`` ciphertexts (which only the Pulumi CLI can decrypt) by ``[secret]``."""
    if _is_secure(value):
        return "[secret]", True
    if isinstance(value, Mapping):
        found = False
        out = {}
        for k, v in value.items():
            out[k], hit = _redact_secure(v)
            found = found or hit
        return out, found
    if isinstance(value, list):
        items = [_redact_secure(v) for v in value]
        return [v for v, _ in items], any(hit for _, hit in items)
    return value, False


def _as_config_string(value: Any) -> str:
    """The string form the engine passes: objects as JSON, booleans lowercase."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value)


def runtime_config(stack_config: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    config: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in stack_config.items():
        value, secret = _redact_secure(value)
        config[key] = _as_config_string(value)
        if secret:
            secret_keys.append(key)
    return config, secret_keys


def project_name(project_dir: Path) -> str:
    path = project_dir / "Pulumi.yaml"
    try:
        doc = read_yaml_file(path) or {}
    except YamlError as exc:
        raise InputError(f"cannot read the Pulumi project file: {exc}") from None
    name = doc.get("name") if isinstance(doc, dict) else None
    if not isinstance(name, str) or not name:
        raise InputError(f"{path}: has no project 'name'")
    return name


def _tidy(value: Any) -> Any:
    """Pulumi sends every number as a float; show 8080, not 8080.0."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_tidy(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _tidy(v) for k, v in value.items()}
    return value


def _key_inputs(resource_type: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    return _tidy(_select_inputs(resource_type, inputs))


def _select_inputs(resource_type: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    paths = KEY_INPUTS.get(resource_type)
    if paths is None:  # unknown type: its scalar inputs, minus the bulky or sensitive ones
        return {k: v for k, v in sorted(inputs.items())
                if k not in _NEVER_SHOWN and isinstance(v, (str, int, float, bool))}
    out: dict[str, Any] = {}
    for path in paths:
        value = _walk(inputs, path.split("."))
        if value is not None and value != []:
            out[path] = value
    return out


def _walk(node: Any, parts: list[str]) -> Any:
    if not parts:
        return node
    head, rest = parts[0], parts[1:]
    if head.endswith("[]"):
        items = node.get(head[:-2]) if isinstance(node, Mapping) else None
        if not isinstance(items, list):
            return None
        values = [_walk(i, rest) for i in items]
        return [v for v in values if v is not None]
    if not isinstance(node, Mapping) or head not in node:
        return None
    return _walk(node[head], rest)


# --- the workflow -------------------------------------------------------------------------------


def offline_preview(project_dir: Path, stack: str) -> PreviewReport:
    """Run the stack's program under mocks and check it against the policy rules."""
    from stacks.offline import run_offline
    from stacks.policy.rules import ResourceView, evaluate
    from stacks.program import run
    from stacks.settings import parse_settings, with_offline_placeholders

    validate_stack_name(stack)
    stack_config = read_stack_config(project_dir, stack)
    if PLAN_KEY not in stack_config:
        raise InputError(f"stack {stack!r} has no plan yet (no {PLAN_KEY} in Pulumi.{stack}.yaml): "
                         f"run `roost plan FLEET --stack {stack}` first")
    config, secret_keys = runtime_config(stack_config)
    raw = {k.removeprefix(PREFIX): v for k, v in config.items() if k.startswith(PREFIX)}
    # An offline preview touches no cloud: settings only a deployment needs get marked placeholders.
    raw, placeholder_notes = with_offline_placeholders(raw)
    for key, value in raw.items():
        config[PREFIX + key] = _as_config_string(value)
    settings = parse_settings(raw, stack=stack)  # settings errors surface here, before Pulumi starts
    result = run_offline(run, project=project_name(project_dir), stack=stack, config=config,
                         secret_keys=secret_keys)

    by_urn = {r.urn: r for r in result.resources}

    def fleet_of(urn: str) -> str | None:
        seen = 0
        while urn in by_urn and seen < 64:
            r = by_urn[urn]
            if r.type == FLEET_TYPE:
                return r.name
            urn, seen = r.parent, seen + 1
        return None

    resources = tuple(PreviewResource(urn=r.urn, type=r.type, name=r.name, deployment=fleet_of(r.urn),
                                      key_inputs=_key_inputs(r.type, r.inputs))
                      for r in result.resources if r.type != FLEET_TYPE)
    deployments = []
    for d in settings.plan.deployments:
        c = d.choice
        fleet_urns = [r.urn for r in result.resources if r.type == FLEET_TYPE and r.name == d.name]
        deployments.append(DeploymentPreview(
            name=d.name, cloud=c.cloud.value, region=c.region, instance_type=c.instance_type,
            purchase=c.purchase.value, replicas=c.replicas, min_replicas=c.min_replicas, max_replicas=c.max_replicas,
            monthly_cost_usd=c.monthly_cost_usd,
            outputs=result.component_outputs.get(fleet_urns[0], {}) if fleet_urns else {},
            resources=tuple(r for r in resources if r.deployment == d.name)))
    views = [ResourceView(r.type, r.name, r.inputs) for r in result.resources if r.type != FLEET_TYPE]
    return PreviewReport(stack=stack, plan_version=settings.plan_version, resources=resources,
                         deployments=tuple(deployments), violations=tuple(evaluate(views, settings.policy)),
                         exports=result.exports,
                         notes=(*placeholder_notes, *_plaintext_secret_notes(stack_config),
                                *_plain_http_notes(settings), *_secret_notes(settings)))


def _plaintext_secret_notes(stack_config: Mapping[str, Any]) -> list[str]:
    """Secret values written in the stack file in plain text (names only, never values)."""
    from stacks.settings import plaintext_secret_warning

    names = [k.removeprefix(f"{PREFIX}secrets.") for k, v in stack_config.items()
             if k.startswith(f"{PREFIX}secrets.") and not _is_secure(v)]
    nested = stack_config.get(f"{PREFIX}secrets")
    if isinstance(nested, Mapping):
        names += [str(k) for k, v in nested.items() if not _is_secure(v)]
    elif nested is not None and not _is_secure(nested):
        names.append("*")
    return [plaintext_secret_warning(n) for n in sorted(names)]


def _plain_http_notes(settings: Any) -> list[str]:
    """Public endpoints that serve plain HTTP because the stack opted in (roost:allowPlainHttp)."""
    from stacks.settings import plain_http_fleets

    if not (settings.public_endpoint and settings.allow_plain_http):
        return []
    return [f"{name}: public endpoint serves plain HTTP (roost:allowPlainHttp is true): requests, responses and "
            "any tokens in them cross the internet unencrypted" for name in
            plain_http_fleets(settings.plan, settings.aws, settings.gcp)]


def _secret_notes(settings: Any) -> list[str]:
    """Secrets roost will create empty: the replicas wait at boot until someone puts a value in."""
    from stacks import naming

    notes = []
    for d in settings.plan.deployments:
        for secret in d.secrets:
            if secret in settings.secret_values or secret in settings.secret_refs:
                continue
            cloud = d.choice.cloud.value
            where = {
                "aws": f"AWS Secrets Manager secret {naming.aws_secret_name(settings.stack, d.name, secret)}",
                "gcp": f"GCP Secret Manager secret {naming.gcp_secret_id(settings.stack, d.name, secret)}",
                "azure": f"Key Vault {naming.azure_key_vault_name(settings.stack, d.name)} as "
                         f"{naming.azure_secret_name(secret)}",
            }[cloud]
            notes.append(f"{d.name}: secret {secret!r} has no value; after `pulumi up`, put one in the {where} "
                         f"(or set roost:secrets.{secret} / roost:secretRefs.{secret}); replicas wait for it")
    return notes
