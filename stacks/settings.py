"""Stack settings: the committed plan plus the cloud settings a user keeps in ``Pulumi.<stack>.yaml``.

This is the only module that calls ``pulumi.Config``. ``parse_settings`` is pure (a
mapping in, a frozen ``StackSettings`` out) so it is tested without Pulumi; ``load``
reads the keys from the running stack's config and hands them to it.

Keys (all namespaced ``roost:``; objects may be YAML objects or JSON strings):

    plan                      the committed DeploymentPlan (written by `roost plan`)
    planVersion               version number from roost's version store (tag roost-version)
    publicEndpoint            true → internet-facing load balancers (default: internal)
    allowPlainHttp            true → a public endpoint without TLS is allowed (default: refused)
    aws     {vpcId, subnetIds, certificateArn, amiOverrides, rootDeviceName, ingressCidrs,
             allowContainerMetadata}
    gcp     {project, network, subnetwork, certificate, proxyOnlySubnets,
             createProxyOnlySubnet, cloudNat, imageOverrides, ingressCidrs}
    azure   {addressSpace, adminUsername, adminSshPublicKey, imageOverrides, ingressCidrs,
             keyVaultAllowedCidrs}
    allowedRegions            [region, …]   policy: where fleets may run
    allowedInstanceFamilies   [family or glob, …]   policy: what they may run on
    budgets  {stack: usd, teams: {team: usd}}   policy: monthly caps
    secrets  {name: value}    Pulumi secrets (`pulumi config set --secret roost:secrets.NAME …`)
    secretRefs {name: {aws: ARN, gcp: projects/P/secrets/S, azure: {vaultId, secretName}}}
"""
from __future__ import annotations

import base64
import ipaddress
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from placement.errors import InputError, did_you_mean
from placement.plan import DeploymentPlan
from placement.plancheck import CATALOG_ENV, catalog_for, check_plan
from placement.types import Cloud
from stacks.keys import PLAN, PLAN_VERSION, qualified
from stacks.naming import UNVERSIONED
from stacks.policy.rules import Budgets, PolicyConfig

KEYS = (PLAN, PLAN_VERSION, "publicEndpoint", "allowPlainHttp", "aws", "gcp", "azure", "allowedRegions",
        "allowedInstanceFamilies", "budgets", "secrets", "secretRefs")
AWS_KEYS = ("vpcId", "subnetIds", "certificateArn", "amiOverrides", "rootDeviceName", "ingressCidrs",
            "allowContainerMetadata")
GCP_KEYS = ("project", "network", "subnetwork", "certificate", "proxyOnlySubnets", "createProxyOnlySubnet",
            "cloudNat", "imageOverrides", "ingressCidrs")
AZURE_KEYS = ("addressSpace", "adminUsername", "adminSshPublicKey", "imageOverrides", "ingressCidrs",
              "keyVaultAllowedCidrs")
# A secret reference names exactly one secret: these shapes admit no wildcard anywhere.
_AWS_SECRET_ARN = re.compile(r"^arn:aws(-cn|-us-gov|-iso|-iso-b)?:secretsmanager:[a-z]{2}(-[a-z]+)+-\d:\d{12}:"
                             r"secret:[A-Za-z0-9/_+=.@-]+$")
_GCP_SECRET_NAME = re.compile(r"^projects/[a-z0-9][a-z0-9.:-]*/secrets/[A-Za-z0-9_-]{1,255}$")
_AZURE_VAULT_ID = re.compile(r"^/subscriptions/[0-9a-f-]{36}/resourceGroups/[-\w.()]{1,90}/providers/"
                             r"Microsoft\.KeyVault/vaults/[A-Za-z0-9-]{3,24}$", re.IGNORECASE)
_AZURE_SECRET_NAME = re.compile(r"^[0-9A-Za-z-]{1,127}$")


class SettingsError(InputError):
    """Every problem in a stack's roost settings, one line each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True, kw_only=True)
class AwsSettings:
    vpc_id: str | None = None
    subnet_ids: tuple[str, ...] = ()
    certificate_arn: str | None = None
    ami_overrides: Mapping[str, str] = field(default_factory=dict)
    root_device_name: str = "/dev/xvda"
    ingress_cidrs: tuple[str, ...] | None = None
    # IMDS hop limit 2 instead of 1: lets containers reach the instance's credentials.
    allow_container_metadata: bool = False


@dataclass(frozen=True, kw_only=True)
class GcpSettings:
    project: str | None = None
    network: str = "default"
    subnetwork: str | None = None
    certificate: str | None = None
    proxy_only_subnets: Mapping[str, str] = field(default_factory=dict)   # region → CIDR overrides
    create_proxy_only_subnet: bool = True
    cloud_nat: bool = True
    image_overrides: Mapping[str, str] = field(default_factory=dict)
    ingress_cidrs: tuple[str, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class AzureSettings:
    address_space: str = "10.42.0.0/16"
    admin_username: str = "roost"
    admin_ssh_public_key: str | None = None
    image_overrides: Mapping[str, str] = field(default_factory=dict)
    ingress_cidrs: tuple[str, ...] | None = None
    # Besides the fleet's own subnet, who may reach the fleet's Key Vault (e.g. an operator's
    # address, to put a secret's value in by hand).
    key_vault_allowed_cidrs: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class SecretRef:
    """An existing secret in a cloud's secret store that roost grants read access to."""

    aws_arn: str | None = None
    gcp_name: str | None = None          # projects/P/secrets/S
    azure_vault_id: str | None = None
    azure_secret_name: str | None = None


@dataclass(frozen=True, kw_only=True)
class StackSettings:
    stack: str
    plan: DeploymentPlan
    plan_version: str = UNVERSIONED
    public_endpoint: bool = False
    allow_plain_http: bool = False
    aws: AwsSettings = field(default_factory=AwsSettings)
    gcp: GcpSettings = field(default_factory=GcpSettings)
    azure: AzureSettings = field(default_factory=AzureSettings)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    # Values are opaque here (Pulumi secret Outputs at run time); only their presence matters.
    secret_values: Mapping[str, Any] = field(default_factory=dict)
    secret_refs: Mapping[str, SecretRef] = field(default_factory=dict)

    def gcp_proxy_only_cidr(self, region: str) -> str:
        from stacks.machines import gcp_proxy_only_cidr

        cidr = self.gcp.proxy_only_subnets.get(region) or gcp_proxy_only_cidr(region)
        if cidr is None:
            raise InputError(f"roost:gcp.proxyOnlySubnets.{region}: no default range for this region; set a free "
                             "/23 for the internal load balancer's proxies (pulumi config set --path "
                             f"roost:gcp.proxyOnlySubnets.{region} 10.126.0.0/23)")
        return cidr

    def clouds(self) -> set[Cloud]:
        return {d.choice.cloud for d in self.plan.deployments}


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.items.append(f"roost:{where}: {message}")


def _as_object(value: Any, where: str, problems: _Problems, kind: type = dict) -> Any:
    if value is None:
        return kind()
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            problems.add(where, f"is not valid JSON ({exc.msg})")
            return kind()
    if not isinstance(value, kind):
        problems.add(where, f"must be {'an object' if kind is dict else 'a list'}, got {type(value).__name__}")
        return kind()
    return value


def _as_bool(value: Any, where: str, problems: _Problems, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    problems.add(where, f"must be true or false, got {value!r}")
    return default


def _as_str(value: Any, where: str, problems: _Problems) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        problems.add(where, f"must be a string, got {type(value).__name__}")
        return None
    return value


def _as_str_list(value: Any, where: str, problems: _Problems) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = _as_object(value, where, problems, list)
    if not all(isinstance(x, str) and x for x in items):
        problems.add(where, "must be a list of non-empty strings")
        return None
    return tuple(items)


def _as_cidrs(value: Any, where: str, problems: _Problems) -> tuple[str, ...] | None:
    cidrs = _as_str_list(value, where, problems)
    for c in cidrs or ():
        try:
            ipaddress.ip_network(c, strict=False)
        except ValueError:
            problems.add(where, f"{c!r} is not a CIDR range such as 10.0.0.0/8")
    return cidrs


def _as_str_map(value: Any, where: str, problems: _Problems) -> dict[str, str]:
    mapping = _as_object(value, where, problems)
    for k, v in mapping.items():
        if not isinstance(v, str) or not v:
            problems.add(f"{where}.{k}", "must be a non-empty string")
    return {k: v for k, v in mapping.items() if isinstance(v, str) and v}


def _unknown_keys(obj: Mapping[str, Any], allowed: Sequence[str], where: str, problems: _Problems) -> None:
    for key in obj:
        if key not in allowed:
            problems.add(f"{where}.{key}" if where else key,
                         f"unknown setting{did_you_mean(key, allowed)}; known: {', '.join(allowed)}")


def _usd(value: Any, where: str, problems: _Problems) -> float | None:
    if value is None:
        return None
    try:
        usd = float(value)
    except (TypeError, ValueError, OverflowError):
        problems.add(where, f"must be a number of US dollars per month, got {value!r}")
        return None
    if isinstance(value, bool) or not math.isfinite(usd):  # a NaN cap would pass every budget
        problems.add(where, f"must be a finite number of US dollars per month, got {value!r}")
        return None
    if usd < 0:
        problems.add(where, "must not be negative")
        return None
    return usd


def _parse_plan(value: Any, problems: _Problems) -> DeploymentPlan | None:
    if value is None:
        problems.add("plan", "is not set: run `roost plan FLEET --stack STACK` first")
        return None
    obj = _as_object(value, "plan", problems)
    if not obj and problems.items:
        return None
    try:
        # A committed plan is untrusted: its form, then its offerings and costs against the catalog.
        plan = DeploymentPlan.from_dict(obj, where="")
        return check_plan(plan, catalog_for(plan.catalog_version, os.environ.get(CATALOG_ENV)))
    except InputError as exc:
        problems.items.extend(f"roost:plan{line.removeprefix('plan')}" for line in str(exc).splitlines())
        return None


def _parse_secret_refs(value: Any, problems: _Problems) -> dict[str, SecretRef]:
    refs: dict[str, SecretRef] = {}
    for name, ref in _as_object(value, "secretRefs", problems).items():
        where = f"secretRefs.{name}"
        if not isinstance(ref, dict):
            problems.add(where, "must be an object with aws, gcp and/or azure")
            continue
        _unknown_keys(ref, ("aws", "gcp", "azure"), where, problems)
        aws_arn = _as_str(ref.get("aws"), f"{where}.aws", problems)
        if aws_arn and not _AWS_SECRET_ARN.match(aws_arn):
            problems.add(f"{where}.aws", "must be the full ARN of one Secrets Manager secret "
                         "(arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME, no wildcards)")
        gcp_name = _as_str(ref.get("gcp"), f"{where}.gcp", problems)
        if gcp_name and not _GCP_SECRET_NAME.match(gcp_name):
            problems.add(f"{where}.gcp", "must name one secret: projects/PROJECT/secrets/NAME (no wildcards)")
        azure = ref.get("azure")
        vault_id = secret_name = None
        if azure is not None:
            if not isinstance(azure, dict) or not azure.get("vaultId") or not azure.get("secretName"):
                problems.add(f"{where}.azure", "must be an object with vaultId and secretName")
            elif not _AZURE_VAULT_ID.match(str(azure["vaultId"])) or not _AZURE_SECRET_NAME.match(
                    str(azure["secretName"])):
                problems.add(f"{where}.azure", "must name one secret: vaultId /subscriptions/SUB/resourceGroups/RG/"
                             "providers/Microsoft.KeyVault/vaults/VAULT and a secretName of letters, digits and "
                             "dashes (no wildcards)")
            else:
                vault_id, secret_name = str(azure["vaultId"]), str(azure["secretName"])
        refs[name] = SecretRef(aws_arn=aws_arn, gcp_name=gcp_name, azure_vault_id=vault_id,
                               azure_secret_name=secret_name)
    return refs


def _parse_aws(raw: Any, problems: _Problems) -> AwsSettings:
    aws_raw = _as_object(raw, "aws", problems)
    _unknown_keys(aws_raw, AWS_KEYS, "aws", problems)
    subnet_ids = _as_str_list(aws_raw.get("subnetIds"), "aws.subnetIds", problems) or ()
    aws = AwsSettings(
        vpc_id=_as_str(aws_raw.get("vpcId"), "aws.vpcId", problems),
        subnet_ids=subnet_ids,
        certificate_arn=_as_str(aws_raw.get("certificateArn"), "aws.certificateArn", problems),
        ami_overrides=_as_str_map(aws_raw.get("amiOverrides"), "aws.amiOverrides", problems),
        root_device_name=_as_str(aws_raw.get("rootDeviceName"), "aws.rootDeviceName", problems) or "/dev/xvda",
        ingress_cidrs=_as_cidrs(aws_raw.get("ingressCidrs"), "aws.ingressCidrs", problems),
        allow_container_metadata=_as_bool(aws_raw.get("allowContainerMetadata"), "aws.allowContainerMetadata",
                                          problems, False),
    )
    if subnet_ids and len(subnet_ids) < 2:
        problems.add("aws.subnetIds", "an application load balancer needs subnets in at least two availability zones")
    if subnet_ids and not aws.vpc_id:
        problems.add("aws.vpcId", "is required when aws.subnetIds is set (the subnets' VPC)")
    return aws


def _parse_gcp(raw: Any, problems: _Problems) -> GcpSettings:
    gcp_raw = _as_object(raw, "gcp", problems)
    _unknown_keys(gcp_raw, GCP_KEYS, "gcp", problems)
    proxy_subnets = _as_str_map(gcp_raw.get("proxyOnlySubnets"), "gcp.proxyOnlySubnets", problems)
    for region, cidr in proxy_subnets.items():
        _as_cidrs([cidr], f"gcp.proxyOnlySubnets.{region}", problems)
    return GcpSettings(
        project=_as_str(gcp_raw.get("project"), "gcp.project", problems),
        network=_as_str(gcp_raw.get("network"), "gcp.network", problems) or "default",
        subnetwork=_as_str(gcp_raw.get("subnetwork"), "gcp.subnetwork", problems),
        certificate=_as_str(gcp_raw.get("certificate"), "gcp.certificate", problems),
        proxy_only_subnets=proxy_subnets,
        create_proxy_only_subnet=_as_bool(gcp_raw.get("createProxyOnlySubnet"), "gcp.createProxyOnlySubnet",
                                          problems, True),
        cloud_nat=_as_bool(gcp_raw.get("cloudNat"), "gcp.cloudNat", problems, True),
        image_overrides=_as_str_map(gcp_raw.get("imageOverrides"), "gcp.imageOverrides", problems),
        ingress_cidrs=_as_cidrs(gcp_raw.get("ingressCidrs"), "gcp.ingressCidrs", problems),
    )


def _parse_azure(raw: Any, problems: _Problems) -> AzureSettings:
    azure_raw = _as_object(raw, "azure", problems)
    _unknown_keys(azure_raw, AZURE_KEYS, "azure", problems)
    azure = AzureSettings(
        address_space=_as_str(azure_raw.get("addressSpace"), "azure.addressSpace", problems)
        or AzureSettings.address_space,
        admin_username=_as_str(azure_raw.get("adminUsername"), "azure.adminUsername", problems)
        or AzureSettings.admin_username,
        admin_ssh_public_key=_as_str(azure_raw.get("adminSshPublicKey"), "azure.adminSshPublicKey", problems),
        image_overrides=_as_str_map(azure_raw.get("imageOverrides"), "azure.imageOverrides", problems),
        ingress_cidrs=_as_cidrs(azure_raw.get("ingressCidrs"), "azure.ingressCidrs", problems),
        key_vault_allowed_cidrs=_as_cidrs(azure_raw.get("keyVaultAllowedCidrs"), "azure.keyVaultAllowedCidrs",
                                          problems) or (),
    )
    try:
        net = ipaddress.ip_network(azure.address_space)
        if net.prefixlen > 24:
            problems.add("azure.addressSpace", "must be /24 or larger (the serving subnet takes a /24)")
    except ValueError:
        problems.add("azure.addressSpace", f"{azure.address_space!r} is not a CIDR range such as 10.42.0.0/16")
    return azure


def _parse_policy(raw: Mapping[str, Any], problems: _Problems) -> PolicyConfig:
    budgets_raw = _as_object(raw.get("budgets"), "budgets", problems)
    _unknown_keys(budgets_raw, ("stack", "teams"), "budgets", problems)
    teams_raw = _as_object(budgets_raw.get("teams"), "budgets.teams", problems)
    team_caps = {t: usd for t, v in teams_raw.items() if (usd := _usd(v, f"budgets.teams.{t}", problems)) is not None}
    return PolicyConfig(
        allowed_regions=_as_str_list(raw.get("allowedRegions"), "allowedRegions", problems),
        allowed_instance_families=_as_str_list(raw.get("allowedInstanceFamilies"), "allowedInstanceFamilies",
                                               problems),
        budgets=Budgets(stack_usd=_usd(budgets_raw.get("stack"), "budgets.stack", problems), teams=team_caps),
    )


def plain_http_fleets(plan: DeploymentPlan, aws: AwsSettings, gcp: GcpSettings) -> list[str]:
    """Deployments whose public endpoint would serve plain HTTP: no certificate on AWS or GCP;
    always on Azure, whose (layer-4) load balancer does not terminate TLS."""
    has_tls = {Cloud.AWS: bool(aws.certificate_arn), Cloud.GCP: bool(gcp.certificate), Cloud.AZURE: False}
    return [d.name for d in plan.deployments if not has_tls[d.choice.cloud]]


def _check_plain_http(plan: DeploymentPlan, aws: AwsSettings, gcp: GcpSettings, problems: _Problems) -> None:
    plain = plain_http_fleets(plan, aws, gcp)
    if plain:
        problems.add("publicEndpoint", f"is true, but {', '.join(plain)} would serve plain HTTP to the internet; "
                     "set a certificate (roost:aws.certificateArn, roost:gcp.certificate; Azure's load balancer "
                     "has no TLS), keep the endpoint internal, or opt in with `pulumi config set roost:allowPlainHttp "
                     "true`")


def _check_plan_needs(plan: DeploymentPlan, gcp: GcpSettings, azure: AzureSettings, secret_values: Mapping[str, Any],
                      secret_refs: Mapping[str, SecretRef], problems: _Problems) -> None:
    """Settings the plan's clouds and secrets need before anything can deploy."""
    on: dict[Cloud, list[str]] = {}
    for d in plan.deployments:
        on.setdefault(d.choice.cloud, []).append(d.name)

    def runs(names: list[str]) -> str:
        return f"{', '.join(names)} {'runs' if len(names) == 1 else 'run'}"

    if Cloud.GCP in on and not gcp.project:
        problems.add("gcp.project", f"is required: {runs(on[Cloud.GCP])} on GCP "
                     "(pulumi config set --path roost:gcp.project MY-PROJECT)")
    if Cloud.AZURE in on and not azure.admin_ssh_public_key:
        problems.add("azure.adminSshPublicKey",
                     f"is required: {runs(on[Cloud.AZURE])} on Azure, whose Linux scale sets need "
                     "an SSH key when password login is off (no port opens for it) "
                     "(pulumi config set --path roost:azure.adminSshPublicKey \"$(cat ~/.ssh/id_ed25519.pub)\")")
    for d in plan.deployments:
        for name in d.secrets:
            if name in secret_values and name in secret_refs:
                problems.add(f"secrets.{name}", "is both a Pulumi secret and a secretRefs entry; keep one")


def parse_settings(raw: Mapping[str, Any], *, stack: str) -> StackSettings:
    """Validate and type a stack's ``roost:*`` config (keys without the ``roost:`` prefix).

    Raises SettingsError listing every problem, each naming its key."""
    problems = _Problems()
    _unknown_keys({k: v for k, v in raw.items() if not k.startswith("secrets.")}, KEYS, "", problems)
    plan = _parse_plan(raw.get("plan"), problems)
    version = raw.get("planVersion")
    plan_version = UNVERSIONED if version in (None, "") else str(version)
    aws = _parse_aws(raw.get("aws"), problems)
    gcp = _parse_gcp(raw.get("gcp"), problems)
    azure = _parse_azure(raw.get("azure"), problems)
    policy = _parse_policy(raw, problems)
    secret_values = dict(_as_object(raw.get("secrets"), "secrets", problems))
    secret_values.update({k.removeprefix("secrets."): v for k, v in raw.items() if k.startswith("secrets.")})
    secret_refs = _parse_secret_refs(raw.get("secretRefs"), problems)
    if plan is not None:
        _check_plan_needs(plan, gcp, azure, secret_values, secret_refs, problems)
    public_endpoint = _as_bool(raw.get("publicEndpoint"), "publicEndpoint", problems, False)
    allow_plain_http = _as_bool(raw.get("allowPlainHttp"), "allowPlainHttp", problems, False)
    if plan is not None and public_endpoint and not allow_plain_http:
        _check_plain_http(plan, aws, gcp, problems)
    if problems.items or plan is None:
        raise SettingsError(problems.items)
    return StackSettings(stack=stack, plan=plan, plan_version=plan_version, public_endpoint=public_endpoint,
                         allow_plain_http=allow_plain_http, aws=aws, gcp=gcp, azure=azure, policy=policy, secret_values=secret_values,
                         secret_refs=secret_refs)


# --- offline preview: placeholders for settings only a deployment needs -----------------------------

# Clearly not real values: each names the setting to fill in. An offline preview touches no
# cloud, so it runs with these and lists them; `pulumi up` (settings.load) still requires them.
_PLACEHOLDER_SSH_BLOB = base64.b64encode(b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20"
                                         b"roost-offline-placeholder-key-00").decode()
OFFLINE_PLACEHOLDERS: dict[tuple[str, str], tuple[Cloud, str]] = {
    ("gcp", "project"): (Cloud.GCP, "placeholder-set-gcp-project"),
    ("azure", "adminSshPublicKey"): (
        Cloud.AZURE, f"ssh-ed25519 {_PLACEHOLDER_SSH_BLOB} PLACEHOLDER-set-roost:azure.adminSshPublicKey"),
}


def with_offline_placeholders(raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``raw`` with a placeholder for each cloud setting the plan needs but the stack lacks, and
    one "set before `pulumi up`" note per placeholder. Only for offline previews."""
    out = dict(raw)
    try:
        plan = DeploymentPlan.from_dict(_as_object(raw.get("plan"), "plan", _Problems()))
    except (InputError, AttributeError, KeyError, TypeError, ValueError):
        return out, []  # parse_settings reports the plan's problems
    notes = []
    for (section, key), (cloud, placeholder) in OFFLINE_PLACEHOLDERS.items():
        fleets = [d.name for d in plan.deployments if d.choice.cloud is cloud]
        problems = _Problems()
        obj = _as_object(raw.get(section), section, problems)
        if not fleets or problems.items or obj.get(key):
            continue
        out[section] = {**obj, key: placeholder}
        notes.append(f"set before `pulumi up`: roost:{section}.{key} ({', '.join(fleets)} on {cloud.value}; "
                     f"this offline preview used the placeholder {placeholder.split()[-1]!r})")
    return out, notes


def plaintext_secret_warning(name: str) -> str:
    return (f"warning: roost:secrets.{name} is stored in plain text in the stack file; make it a Pulumi secret "
            f"(pulumi config set --secret roost:secrets.{name} VALUE)")


def load() -> StackSettings:
    """Read the running stack's ``roost:*`` config (inside a Pulumi program or under mocks)."""
    import pulumi
    from pulumi.runtime.config import get_config, is_config_secret

    config = pulumi.Config("roost")
    raw: dict[str, Any] = {}
    for key in KEYS:
        if key == "secrets":
            continue
        value = get_config(qualified(key))
        if value is not None:
            raw[key] = value
    # Which secrets exist is structure, not secret; their values stay Pulumi secrets.
    plan_secrets: set[str] = set()
    try:
        plan_obj = _as_object(raw.get("plan"), "plan", _Problems())
        plan_secrets = {s for d in plan_obj.get("deployments", []) for s in d.get("secrets", [])}
    except AttributeError:
        pass
    nested = get_config("roost:secrets")
    nested_names = set(json.loads(nested)) if isinstance(nested, str) and nested.startswith("{") else set()
    secrets: dict[str, Any] = {}
    for name in sorted(plan_secrets):
        if get_config(f"roost:secrets.{name}") is not None:
            secrets[name] = config.require_secret(f"secrets.{name}")
            key = f"roost:secrets.{name}"
        elif name in nested_names:
            secrets[name] = config.require_secret_object("secrets").apply(lambda d, n=name: str(d[n]))
            key = "roost:secrets"
        else:
            continue
        if not is_config_secret(key):  # readable by anyone who can read the stack file
            pulumi.log.warn(plaintext_secret_warning(name))
    raw["secrets"] = secrets
    return parse_settings(raw, stack=pulumi.get_stack())
