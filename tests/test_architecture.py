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
