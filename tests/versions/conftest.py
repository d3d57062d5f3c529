"""Fixtures for the version store, lifecycle and engine tests: a tiny project per test."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

FLEET_V1 = textwrap.dedent("""\
    version: 1
    models:
      - name: fraud-scorer
        team: risk
        task: tabular
        framework: lightgbm
        params_millions: 2
        precision: fp32
        image: ghcr.io/acme/fraud-scorer:2.4.1
        load: {peak_rps: 1500}
        slo: {p95_latency_ms: 20}
        clouds: [aws]
      - name: ticket-intent
        team: support
        task: text-classification
        framework: pytorch
        params_millions: 110
        precision: fp16
        image: ghcr.io/acme/ticket-intent:0.7.2
        load: {peak_rps: 250, input_tokens: 128}
        slo: {p95_latency_ms: 100}
        spot: allow
        clouds: [gcp, azure]
    """)

# The fraud scorer must leave AWS, and the ticket model sees 4x the load.
FLEET_V2 = FLEET_V1.replace("clouds: [aws]", "clouds: [gcp]").replace("peak_rps: 250", "peak_rps: 1000")


@pytest.fixture(autouse=True)
def _no_ambient_store(monkeypatch):
    for var in ("ROOST_VERSION_STORE", "ROOST_STACK", "ROOST_LOCK_TIMEOUT", "ROOST_STORE_PAUSE_BEFORE_PUBLISH"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "Pulumi.yaml").write_text("name: proj\nruntime: python\nmain: program/\n")
    (root / "fleet.yaml").write_text(FLEET_V1)
    return root


@pytest.fixture
def fleet_texts() -> tuple[str, str]:
    """Two fleet files whose decisions differ (v1, v2)."""
    return FLEET_V1, FLEET_V2
