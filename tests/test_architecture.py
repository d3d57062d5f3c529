"""Dependency direction, checked in fresh interpreters so nothing else is already imported."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

FORBIDDEN_IN_PLACEMENT = ("pulumi", "pulumi_aws", "pulumi_gcp", "pulumi_azure_native", "click", "jinja2",
                          "history", "stacks", "roost")


def modules_after(statement: str) -> set[str]:
    code = f"import sys, json\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_placement_is_pure():
    import pkgutil

    import placement

    names = [m.name for m in pkgutil.walk_packages(placement.__path__, "placement.")]
    loaded = modules_after("\n".join(f"import {n}" for n in names))
    bad = sorted(m for m in loaded if m.split(".")[0] in FORBIDDEN_IN_PLACEMENT)
    assert not bad, f"placement pulled in {bad}"


@pytest.mark.parametrize("package", ["history"])
def test_history_does_not_import_pulumi_or_click(package):
    import importlib
    import pkgutil

    pkg = importlib.import_module(package)
    names = [m.name for m in pkgutil.walk_packages(pkg.__path__, f"{package}.")]
    loaded = modules_after("\n".join(f"import {n}" for n in names))
    bad = sorted(m for m in loaded if m.split(".")[0] in ("pulumi", "click", "stacks", "roost"))
    assert not bad, f"{package} pulled in {bad}"


def test_pulumi_program_never_imports_the_recommender():
    loaded = modules_after("import stacks.program")
    bad = sorted(m for m in loaded if m.split(".")[0] in ("lightgbm", "roost", "history")
                 or m in ("placement.optimizer", "placement.baseline", "placement.predictor"))
    assert not bad, f"the Pulumi program pulled in {bad}"


# The same rules read from the source, so an import inside a function (lazy, and so invisible to
# the checks above until that function runs) cannot cross a boundary either.
STATIC_RULES = {
    "placement": ("pulumi", "pulumi_aws", "pulumi_gcp", "pulumi_azure_native", "pulumi_policy", "click", "jinja2",
                  "history", "stacks", "roost"),
    "history": ("pulumi", "pulumi_aws", "pulumi_gcp", "pulumi_azure_native", "click", "jinja2", "stacks", "roost"),
    "stacks": ("history", "roost", "lightgbm"),
}


def imported_roots(path) -> set[str]:
    import ast

    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(STATIC_RULES))
def test_no_import_anywhere_in_the_source_crosses_a_boundary(package, project_root):
    bad = {}
    for path in sorted((project_root / package).rglob("*.py")):
        crossing = imported_roots(path) & set(STATIC_RULES[package])
        if crossing:
            bad[str(path.relative_to(project_root))] = sorted(crossing)
    assert not bad, f"{package} imports across its boundary: {bad}"
