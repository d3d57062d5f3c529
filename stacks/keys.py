"""The names of roost's keys in a stack's config: one spelling for the program, the CLI and the engine.

Pulumi namespaces config keys by project-independent prefixes; every roost key is ``roost:<key>``.
Importing this module imports nothing else (the CLI reads it without loading Pulumi).
"""
from __future__ import annotations

NAMESPACE = "roost"
PLAN = "plan"                  # the committed DeploymentPlan (written by `roost plan`)
PLAN_VERSION = "planVersion"   # the version-store number whose decisions `plan` holds


def qualified(key: str) -> str:
    """``plan`` → ``roost:plan``: the key as it appears in ``Pulumi.<stack>.yaml``."""
    return f"{NAMESPACE}:{key}"


PREFIX = qualified("")
PLAN_KEY = qualified(PLAN)
PLAN_VERSION_KEY = qualified(PLAN_VERSION)
