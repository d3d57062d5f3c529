"""Fixtures for the CLI, lifecycle and engine tests: a tiny project per test."""
from __future__ import annotations

from pathlib import Path

import pytest

from testdata import FLEET_V1


@pytest.fixture(autouse=True)
def _no_ambient_store(monkeypatch):
    for var in ("ROOST_VERSION_STORE", "ROOST_STACK", "ROOST_LOCK_TIMEOUT"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "Pulumi.yaml").write_text("name: proj\nruntime: python\nmain: program/\n")
    (root / "fleet.yaml").write_text(FLEET_V1)
    return root
