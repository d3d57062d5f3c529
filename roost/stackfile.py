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
from typing import TYPE_CHECKING, Any

import yaml

from placement.atomic import atomic_write_text
from placement.errors import InputError
from placement.yamlsafe import YamlError, read_yaml_file
from stacks.keys import PLAN_KEY

if TYPE_CHECKING:  # the CLI imports this module for its help screens; the plan model loads on use
    from placement.plan import DeploymentPlan


class StackFileError(InputError):
    """A stack file that cannot be read or written as one (exit 2)."""

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


def _read_document(path: Path) -> dict[str, Any]:
    """The whole stack file ({} when it does not exist), through the bounded YAML reader."""
    if not path.exists() and not path.is_symlink():
        return {}
    try:
        doc = read_yaml_file(path, path.name)
    except YamlError as exc:
        raise StackFileError(str(exc)) from None
    if doc is None:
        return {}
    if not isinstance(doc, dict) or not isinstance(doc.get("config") or {}, dict):
        raise StackFileError(f"{path.name}: expected a mapping with a 'config:' mapping")
    return doc


def read_stack_config(project_dir: Path, stack: str) -> dict[str, Any]:
    """The ``config:`` mapping of a stack file ({} when the file does not exist yet)."""
    return dict(_read_document(stack_config_path(project_dir, stack)).get("config") or {})


def write_stack_config(project_dir: Path, stack: str, updates: dict[str, Any]) -> Path:
    """Set keys in a stack file atomically, keeping every other key and top-level section."""
    path = stack_config_path(project_dir, stack)
    doc = _read_document(path)
    config = dict(doc.get("config") or {})
    config.update(updates)
    doc["config"] = config
    try:
        atomic_write_text(path, yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120))
    except OSError as exc:
        raise StackFileError(f"{path.name}: cannot write: {exc.strerror or exc}") from None
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
        except RecursionError:
            raise InputError(f"Pulumi.{stack}.yaml: {PLAN_KEY} is nested too deeply") from None
    if not isinstance(value, dict):
        raise InputError(f"Pulumi.{stack}.yaml: {PLAN_KEY} must be an object")
    from placement.plan import DeploymentPlan

    return DeploymentPlan.from_dict(value)


def write_plan(project_dir: Path, stack: str, plan: DeploymentPlan) -> Path:
    return write_stack_config(project_dir, stack, {PLAN_KEY: plan.to_dict()})
