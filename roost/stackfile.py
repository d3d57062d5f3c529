"""Read and write a Pulumi project's stack config files (``Pulumi.<stack>.yaml``).

roost writes committed decisions under the key ``roost:plan``; the Pulumi program reads
them from there. Other keys (cloud settings, secrets) belong to the user and are kept.
Comments in a stack file are not preserved on rewrite (PyYAML); ``pulumi config set``
behaves the same way.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from history.atomic import atomic_write_text
from placement.errors import InputError
from placement.plan import DeploymentPlan

PLAN_KEY = "roost:plan"
STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def validate_stack_name(stack: str) -> str:
    if not STACK_NAME.match(stack):
        raise InputError(f"invalid stack name {stack!r}: use letters, digits, '-', '_' and '.' (at most 100)")
    return stack


def find_project_dir(start: str | Path = ".") -> Path:
    """The nearest directory at or above ``start`` holding a Pulumi.yaml."""
    here = Path(start).resolve()
    for d in (here, *here.parents):
        if (d / "Pulumi.yaml").is_file():
            return d
    raise InputError(f"no Pulumi.yaml in {here} or any parent: run `roost init DIR` to create a project, "
                     "or pass --project-dir")


def stack_config_path(project_dir: Path, stack: str) -> Path:
    return project_dir / f"Pulumi.{validate_stack_name(stack)}.yaml"


def read_stack_config(project_dir: Path, stack: str) -> dict[str, Any]:
    """The ``config:`` mapping of a stack file ({} when the file does not exist yet)."""
    path = stack_config_path(project_dir, stack)
    if not path.is_file():
        return {}
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"{path.name}: invalid YAML: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("config", {}), dict):
        raise InputError(f"{path.name}: expected a mapping with a 'config:' mapping")
    return dict(doc.get("config") or {})


def write_stack_config(project_dir: Path, stack: str, updates: dict[str, Any]) -> Path:
    """Set keys in a stack file atomically, keeping every other key and top-level section."""
    path = stack_config_path(project_dir, stack)
    doc: dict[str, Any] = {}
    if path.is_file():
        loaded = yaml.safe_load(path.read_text()) or {}
        if not isinstance(loaded, dict):
            raise InputError(f"{path.name}: expected a mapping")
        doc = loaded
    config = dict(doc.get("config") or {})
    config.update(updates)
    doc["config"] = config
    atomic_write_text(path, yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120))
    return path


def read_plan(project_dir: Path, stack: str) -> DeploymentPlan | None:
    value = read_stack_config(project_dir, stack).get(PLAN_KEY)
    if value is None:
        return None
    if isinstance(value, str):  # `pulumi config set roost:plan '<json>'` stores a string
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise InputError(f"Pulumi.{stack}.yaml: {PLAN_KEY} is not valid JSON: {exc.msg}") from None
    if not isinstance(value, dict):
        raise InputError(f"Pulumi.{stack}.yaml: {PLAN_KEY} must be an object")
    return DeploymentPlan.from_dict(value)


def write_plan(project_dir: Path, stack: str, plan: DeploymentPlan) -> Path:
    return write_stack_config(project_dir, stack, {PLAN_KEY: plan.to_dict()})
