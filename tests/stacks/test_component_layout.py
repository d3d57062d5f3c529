"""How stacks/components hangs together: no import circle, one registry, one component shape."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from placement.types import Cloud

COMPONENTS = Path(__file__).resolve().parents[2] / "stacks" / "components"
CLOUD_MODULES = {"stacks.components.aws", "stacks.components.gcp", "stacks.components.azure"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


@pytest.mark.parametrize("module", ["fleet.py", "outputs.py", "registry.py"])
def test_shared_component_modules_import_no_cloud_module(module):
    assert not imported_modules(COMPONENTS / module) & CLOUD_MODULES


@pytest.mark.parametrize("module", ["aws.py", "gcp.py", "azure.py"])
def test_cloud_modules_import_neither_each_other_nor_the_registry(module):
    imports = imported_modules(COMPONENTS / module)
    assert not imports & (CLOUD_MODULES | {"stacks.components.registry"})
    assert "stacks.components.outputs" in imports  # the shared outputs type has one home


def test_every_cloud_has_a_model_fleet_class_in_the_registry():
    from stacks.components.fleet import FLEET_TYPE, ModelFleet
    from stacks.components.registry import BUILDERS, fleet_class

    assert set(BUILDERS) == set(Cloud)
    classes = {cloud: fleet_class(cloud) for cloud in Cloud}
    assert len(set(classes.values())) == len(Cloud)
    for cls in classes.values():
        assert issubclass(cls, ModelFleet) and cls is not ModelFleet
        assert cls._build is not ModelFleet._build
    assert FLEET_TYPE == "roost:serving:ModelFleet"


def test_no_function_in_the_components_is_longer_than_a_screen():
    too_long = []
    for path in COMPONENTS.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.end_lineno - node.lineno + 1 > 75:
                too_long.append(f"{path.name}:{node.name} ({node.end_lineno - node.lineno + 1} lines)")
    assert not too_long


def test_every_fleet_child_is_parented_to_its_component(kit):
    from stacks.components.fleet import FLEET_TYPE

    plan = kit.plan(kit.deployment("a"), kit.deployment("g", cloud=Cloud.GCP, region="us-central1",
                                                       instance_type="n2-standard-4"),
                    kit.deployment("z", cloud=Cloud.AZURE, region="eastus", instance_type="Standard_D4s_v5"))
    result = kit.run(plan)
    fleets = {r.urn: r.name for r in result.resources if r.type == FLEET_TYPE}
    assert sorted(fleets.values()) == ["a", "g", "z"]
    for name in fleets.values():
        assert set(result.exports[f"fleet.{name}"]) >= {"endpoint", "groupName", "cloud", "monthlyCostUsd"}
    stray = [r.name for r in result.resources
             if r.custom and not r.type.startswith("pulumi:providers:") and r.parent not in fleets
             and not r.name.startswith("gcp-")]  # a GCP region's shared subnet/NAT belong to no one fleet
    assert stray == []
