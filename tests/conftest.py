from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def project_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def catalog():
    from placement.catalog import load_catalog

    return load_catalog()


@pytest.fixture(autouse=True)
def _isolated_roost_home(tmp_path_factory, monkeypatch):
    # No test may read or write the developer's own caches or state.
    home = tmp_path_factory.getbasetemp() / "roost-home"
    monkeypatch.setenv("ROOST_HOME", str(home))
    monkeypatch.delenv("ROOST_STATE_DIR", raising=False)
    monkeypatch.delenv("ROOST_CATALOG", raising=False)
