"""Constants shared by tests in several packages (importable: pytest puts tests/ on sys.path)."""
from __future__ import annotations

import textwrap

HF_TOKEN = "hf_s3cr3t-value-never-printed"
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOfflineTestKey roost@test"

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
