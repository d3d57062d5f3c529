"""Adapters from the pure rules to CrossGuard's validate callbacks.

Importing this module does not start anything; only ``stacks/policy/pack/__main__.py``
constructs the ``PolicyPack`` (which starts a gRPC server and never returns).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from stacks.policy.rules import (
    MANDATORY,
    RESOURCE_RULES,
    STACK_RULES,
    PolicyConfig,
    ResourceRule,
    ResourceView,
    StackRule,
)

PACK_NAME = "roost-guardrails"

# Per-policy configuration (`pulumi up --policy-pack-config FILE`), same keys as the stack settings.
CONFIG_SCHEMAS: dict[str, PolicyConfigSchema] = {
    "allowed-regions": PolicyConfigSchema(properties={
        "allowedRegions": {"type": "array", "items": {"type": "string"}}}),
    "allowed-instance-families": PolicyConfigSchema(properties={
        "allowedInstanceFamilies": {"type": "array", "items": {"type": "string"}}}),
    "budget-caps": PolicyConfigSchema(properties={
        "budgets": {"type": "object", "properties": {
            "stack": {"type": "number"},
            "teams": {"type": "object", "additionalProperties": {"type": "number"}}}}}),
    "tls-on-public-endpoints": PolicyConfigSchema(properties={"allowPlainHttp": {"type": "boolean"}}),
}


def _config(raw: Mapping[str, Any] | None) -> PolicyConfig:
    return PolicyConfig.from_mapping(raw or {})


def resource_validator(rule: ResourceRule) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        config = _config(args.get_config() if rule.name in CONFIG_SCHEMAS else None)
        for message in rule.check(args.resource_type, args.props, config):
            report_violation(message, args.urn)
    return validate


def stack_validator(rule: StackRule) -> Callable[[StackValidationArgs, ReportViolation], None]:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        config = _config(args.get_config() if rule.name in CONFIG_SCHEMAS else None)
        views = [ResourceView(r.resource_type, r.name, r.props) for r in args.resources]
        for where, message in rule.check(views, config):
            report_violation(f"{where}: {message}", None)
    return validate


def _level(enforcement: str) -> EnforcementLevel:
    return EnforcementLevel.MANDATORY if enforcement == MANDATORY else EnforcementLevel.ADVISORY


def policies() -> list[ResourceValidationPolicy | StackValidationPolicy]:
    out: list[ResourceValidationPolicy | StackValidationPolicy] = [
        ResourceValidationPolicy(name=r.name, description=r.description, validate=resource_validator(r),
                                 enforcement_level=_level(r.enforcement), config_schema=CONFIG_SCHEMAS.get(r.name))
        for r in RESOURCE_RULES]
    out += [StackValidationPolicy(name=r.name, description=r.description, validate=stack_validator(r),
                                  enforcement_level=_level(r.enforcement), config_schema=CONFIG_SCHEMAS.get(r.name))
            for r in STACK_RULES]
    return out
