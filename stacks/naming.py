"""Names, tags and labels for every cloud resource roost creates, from one place.

Each cloud limits names differently (an AWS target group name is at most 32 characters,
GCP names are RFC 1035, Azure Key Vault names are globally unique and at most 24). Every
physical name here is ``<readable part>-<hash>``: the readable part is the sanitized,
truncated input, and the hash is taken over the *raw* inputs, so two different
deployments (or stacks) never share a name even when sanitizing or truncating makes their
readable parts equal. Nothing here is random: the same inputs always give the same name,
so a re-run never renames (and so never replaces) a resource.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from placement.costs import UNASSIGNED_TEAM

HASH_LEN = 6

# The type token of every fleet component (stacks.components.fleet.ModelFleet), whatever its cloud.
FLEET_TYPE = "roost:serving:ModelFleet"

# Cost-allocation keys on everything that takes tags or labels (lowercase: valid on all clouds).
TAG_MODEL = "roost-model"
TAG_TEAM = "roost-team"
TAG_VERSION = "roost-version"
TAG_STACK = "roost-stack"
TAG_MANAGED = "roost-managed"
# Read by the policy rules: a deployment's spot policy and its fleet's cost estimate.
TAG_SPOT_POLICY = "roost-spot-policy"
TAG_MONTHLY_USD = "roost-monthly-usd"
# On an internet-facing load balancer that serves plain HTTP because the stack opted in
# (roost:allowPlainHttp): the opt-in is visible on the resource and to the policy pack.
TAG_PLAIN_HTTP = "roost-plain-http"
PLAIN_HTTP_ALLOWED = "allowed"
REQUIRED_TAGS = (TAG_MODEL, TAG_TEAM, TAG_VERSION, TAG_STACK, TAG_MANAGED)
UNVERSIONED = "unversioned"


@dataclass(frozen=True)
class NameRule:
    """What one kind of cloud name allows."""

    max_len: int
    allowed: str  # a regex character class body, e.g. "a-z0-9-"
    lower: bool
    sep: str = "-"
    min_len: int = 1
    starts_with_letter: bool = True
    forbidden_prefix: str = ""


# ALB and target group names; AWS reserves the "internal-" prefix for internal ALBs' DNS names.
AWS_LB = NameRule(max_len=32, allowed="a-zA-Z0-9-", lower=True, forbidden_prefix="internal-")
AWS_GENERIC = NameRule(max_len=64, allowed="a-zA-Z0-9-", lower=True)       # IAM role, SG, LT, ASG, secret
GCP_RESOURCE = NameRule(max_len=63, allowed="a-z0-9-", lower=True)         # RFC 1035
# Instance template name_prefix: ≤ 37 with the trailing "-" keeps GCP's timestamped suffix.
GCP_NAME_PREFIX = NameRule(max_len=36, allowed="a-z0-9-", lower=True)
GCP_BASE_INSTANCE = NameRule(max_len=54, allowed="a-z0-9-", lower=True)     # MIG appends "-xxxx"
GCP_SERVICE_ACCOUNT = NameRule(max_len=30, allowed="a-z0-9-", lower=True, min_len=6)
AZURE_GENERIC = NameRule(max_len=64, allowed="a-zA-Z0-9-", lower=True)     # vnet, nsg, lb, vmss, pip
AZURE_RESOURCE_GROUP = NameRule(max_len=90, allowed="a-zA-Z0-9-", lower=True)
AZURE_KEY_VAULT = NameRule(max_len=24, allowed="a-zA-Z0-9-", lower=True, min_len=3)
# Linux allows 15; Windows rejects more than 9, and a scale set's OS is a later decision.
AZURE_COMPUTER_PREFIX = NameRule(max_len=9, allowed="a-z0-9", lower=True, sep="")


def short_hash(*parts: str, length: int = HASH_LEN) -> str:
    # \x1f cannot occur in any name, so ("a-b", "c") and ("a", "b-c") hash differently.
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:length]


def physical_name(rule: NameRule, *parts: str) -> str:
    """A name valid under ``rule``: readable prefix from ``parts`` plus a hash of all of them."""
    digest = short_hash(*parts)
    readable = rule.sep.join(parts)
    if rule.lower:
        readable = readable.lower()
    readable = re.sub(f"[^{rule.allowed}]+", rule.sep, readable)
    if rule.sep:
        readable = re.sub(f"{re.escape(rule.sep)}+", rule.sep, readable).strip(rule.sep)
    budget = rule.max_len - len(digest) - len(rule.sep)
    readable = readable[:budget].rstrip(rule.sep) if rule.sep else readable[:budget]
    if rule.starts_with_letter and not readable[:1].isalpha():
        readable = ("r" + readable)[:budget].rstrip(rule.sep) if rule.sep else ("r" + readable)[:budget]
    name = f"{readable}{rule.sep}{digest}" if readable else f"r{digest}"
    if rule.forbidden_prefix and name.startswith(rule.forbidden_prefix):
        name = "r" + name[len(rule.forbidden_prefix) - 1:]
    return name


def logical_name(deployment: str, kind: str) -> str:
    """The Pulumi resource name (part of the URN): readable, unique per deployment and kind."""
    return f"{deployment}-{kind}"


# --- tag and label values -------------------------------------------------------------------------

_AWS_TAG_VALUE = re.compile(r"[^\w .:/=+\-@]", re.ASCII)
_AZURE_TAG_FORBIDDEN = re.compile(r"[<>%&\\?/]")
_GCP_LABEL = re.compile(r"[^a-z0-9_-]")


def _fit_value(value: str, cleaned: str, max_len: int) -> str:
    """``cleaned`` if it is the value itself and fits; else a truncated form with a hash, so distinct values stay distinct."""
    if cleaned == value and len(cleaned) <= max_len:
        return cleaned
    digest = short_hash(value)
    return f"{cleaned[: max_len - HASH_LEN - 1]}-{digest}"


def aws_tag_value(value: str) -> str:
    return _fit_value(value, _AWS_TAG_VALUE.sub("_", value), 256)


def azure_tag_value(value: str) -> str:
    return _fit_value(value, _AZURE_TAG_FORBIDDEN.sub("_", value), 256)


def gcp_label_value(value: str) -> str:
    return _fit_value(value, _GCP_LABEL.sub("_", value.lower()), 63)


@dataclass(frozen=True, kw_only=True)
class CostTags:
    """The facts every resource of one deployment is tagged with."""

    model: str
    team: str | None
    version: str
    stack: str
    spot_policy: str

    def raw(self) -> dict[str, str]:
        return {
            TAG_MODEL: self.model,
            TAG_TEAM: self.team or UNASSIGNED_TEAM,
            TAG_VERSION: self.version,
            TAG_STACK: self.stack,
            TAG_MANAGED: "true",
            TAG_SPOT_POLICY: self.spot_policy,
        }

    def aws(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        return {k: aws_tag_value(v) for k, v in {**self.raw(), **(extra or {})}.items()}

    def gcp(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        return {k: gcp_label_value(v) for k, v in {**self.raw(), **(extra or {})}.items()}

    def azure(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        return {k: azure_tag_value(v) for k, v in {**self.raw(), **(extra or {})}.items()}


def monthly_usd_tag(monthly_cost_usd: float) -> dict[str, str]:
    """The fleet's estimated monthly cost, whole dollars rounded up (digits only: a valid label on every cloud).

    Rounding up keeps budget checks on the safe side."""
    import math

    return {TAG_MONTHLY_USD: str(math.ceil(round(monthly_cost_usd, 6)))}


def secret_env_name(secret: str) -> str:
    """The environment variable a secret is handed to the container as: ``hf-token`` → ``HF_TOKEN``."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", secret).upper()
    return name if re.match(r"[A-Z_]", name) else f"S_{name}"


# --- secret-store names (deterministic, so boot scripts can name them before they exist) ----------


def aws_secret_name(stack: str, model: str, secret: str) -> str:
    """Secrets Manager names allow letters, digits and ``/_+=.@-``; a path keeps them browsable."""
    clean = re.sub(r"[^A-Za-z0-9/_+=.@-]", "-", f"roost/{stack}/{model}/{secret}")
    return clean if len(clean) <= 512 else f"{clean[:500]}-{short_hash(stack, model, secret)}"


def gcp_secret_id(stack: str, model: str, secret: str) -> str:
    """Secret Manager ids allow letters, digits, ``_`` and ``-`` (at most 255)."""
    raw = f"roost-{stack}-{model}-{secret}"
    clean = re.sub(r"[^A-Za-z0-9_-]", "-", raw)
    if clean == raw and len(clean) <= 255:
        return clean
    return f"{clean[:240]}-{short_hash(stack, model, secret)}"


def azure_key_vault_name(stack: str, model: str) -> str:
    """Globally unique, 3-24 characters: the hash does the work."""
    return physical_name(AZURE_KEY_VAULT, stack, model)


def azure_secret_name(secret: str) -> str:
    """Key Vault secret names allow letters, digits and ``-`` (at most 127)."""
    clean = re.sub(r"[^A-Za-z0-9-]", "-", secret)
    if clean == secret and len(clean) <= 127:
        return clean
    return f"{clean[:120]}-{short_hash(secret)}"


def gcp_label_value_map(values: Mapping[str, str]) -> dict[str, str]:
    return {k: gcp_label_value(v) for k, v in values.items()}
