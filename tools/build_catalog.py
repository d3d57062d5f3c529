"""Build roost's bundled catalog from public figures (prices, GPU specs, spot advisor).

Run offline by a maintainer when prices are refreshed; never imported by roost:

    python tools/build_catalog.py --src ../shared/data --out placement/data/catalog.json

It turns GCP's synthetic ``n1-standard-8+T4x1`` rows into the real machine type plus a
guest accelerator, joins GPU specs and AWS spot-advisor buckets, and stamps a version id
derived from the content so that any change of a figure changes the id.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
from pathlib import Path

import pandas as pd

GCP_GUEST_ACCELERATORS = {"T4": "nvidia-tesla-t4", "V100": "nvidia-tesla-v100"}
N1_COMBO = re.compile(r"^(?P<host>n1-[a-z]+-\d+)\+(?P<gpu>[A-Z0-9-]+)x(?P<count>\d+)$")


def _opt(value):
    return None if pd.isna(value) else value


def build(src: Path, snapshot: str) -> dict:
    offerings_df = pd.read_csv(src / "instance_catalog.csv")
    gpus_df = pd.read_csv(src / "gpu_specs.csv")
    spot_df = pd.read_csv(src / "spot_interruption.csv")
    buckets = {
        (r.cloud, r.region, r.instance_type): r.interruption_bucket for r in spot_df.itertuples()
    }
    gpus = {}
    for r in gpus_df.itertuples():
        gpus[r.accelerator] = {
            "memory_gib": float(r.memory_gib),
            "memory_bandwidth_gbps": float(r.memory_bandwidth_gbps),
            # RTX PRO 6000 has no published dense FP16 figure; use 2x FP32 as the
            # conservative tensor-free bound rather than leave the GPU unusable.
            "fp16_tflops": float(_opt(r.fp16_tflops_dense) or 2 * r.fp32_tflops),
            "fp32_tflops": float(r.fp32_tflops),
            "int8_tops": _opt(r.int8_tops_dense) and float(r.int8_tops_dense),
            "tdp_watts": float(r.tdp_watts),
            "architecture": r.architecture,
            "launch_year": int(r.launch_year),
        }
    offerings = []
    for r in offerings_df.sort_values(["cloud", "region", "instance_type"]).itertuples():
        instance_type, guest = r.instance_type, None
        match = N1_COMBO.match(r.instance_type)
        if r.cloud == "gcp" and match:
            instance_type = match["host"]
            guest = GCP_GUEST_ACCELERATORS[match["gpu"]]
        accel = _opt(r.accelerator)
        offerings.append({
            "cloud": r.cloud,
            "region": r.region,
            "instance_type": instance_type,
            "family": r.family,
            "vcpus": int(r.vcpus),
            "memory_gib": float(r.memory_gib),
            "arch": r.arch,
            "accelerator": accel,
            "accelerator_count": float(r.accelerator_count) if accel else 0.0,
            "guest_accelerator": guest,
            "price_hour_usd": float(r.price_hour_usd),
            "spot_price_hour_usd": _opt(r.spot_price_hour_usd) and float(r.spot_price_hour_usd),
            "spot_interruption_bucket": buckets.get((r.cloud, r.region, r.instance_type)),
        })
    body = {"gpus": gpus, "offerings": offerings}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:8]
    return {
        "format": "roost-catalog",
        "schema_version": 1,
        "catalog_version": f"{snapshot}-{digest}",
        "currency": "USD",
        "price_unit": "instance-hour, Linux, list price",
        "sources": "AWS/GCP/Azure public list prices and AWS Spot Instance Advisor, snapshot " + snapshot,
        **body,
    }


def dumps(catalog: dict) -> str:
    """JSON with one offering per line, so that a price refresh reads as a small diff."""
    head = {k: v for k, v in catalog.items() if k != "offerings"}
    text = json.dumps(head, indent=1)[:-2]
    rows = ",\n  ".join(json.dumps(o, separators=(",", ":")) for o in catalog["offerings"])
    return f'{text},\n "offerings": [\n  {rows}\n ]\n}}\n'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--src", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("placement/data/catalog.json"))
    parser.add_argument("--snapshot", default="2026.08")
    args = parser.parse_args()
    catalog = build(args.src, args.snapshot)
    args.out.write_text(dumps(catalog))
    print(f"wrote {args.out}: {len(catalog['offerings'])} offerings, version {catalog['catalog_version']}")


if __name__ == "__main__":
    main()
