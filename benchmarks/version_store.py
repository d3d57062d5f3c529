"""What versioning costs: append and verified-read times of the version store, and the
overhead `roost plan` adds to a bare recommendation.

Baselines measured in the same run: a bare atomic write of the same record bytes (for
append), and `recommend_fleet` alone (for plan). Run: python benchmarks/version_store.py
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from history.versions import Provenance, VersionDraft, VersionStore, canonical_bytes
from placement.atomic import atomic_write_bytes
from placement.baseline import HeuristicPredictor
from placement.catalog import load_catalog
from placement.plan import DeploymentPlan
from roost.lifecycle import plan_stack
from roost.workflows import recommend_fleet

ROOT = Path(__file__).resolve().parents[1]
FLEET = ROOT / "examples" / "fleet.yaml"
WHO = Provenance(author="bench", roost_version="bench")
VERSIONS = 200


def _ms(samples: list[float]) -> str:
    return f"median {statistics.median(samples) * 1e3:7.2f} ms  p90 {sorted(samples)[int(len(samples) * 0.9)] * 1e3:7.2f} ms"


def bench_store(label: str, store: VersionStore, plans: list[DeploymentPlan], scratch: Path) -> None:
    appends: list[float] = []
    bare: list[float] = []
    for i in range(VERSIONS):
        t = time.perf_counter()
        with store.writer("bench") as w:
            rec = w.append(VersionDraft(reason="plan", plan=plans[i % 2], provenance=WHO))
        appends.append(time.perf_counter() - t)
        body = canonical_bytes({"plan": rec.plan.to_dict(), "hash": rec.hash})
        t = time.perf_counter()
        atomic_write_bytes(scratch / f"{i:08d}.json", body)
        bare.append(time.perf_counter() - t)
    reads = []
    for _ in range(5):
        t = time.perf_counter()
        history = store.read("bench")
        reads.append(time.perf_counter() - t)
    assert len(history) == VERSIONS
    first, last = appends[:10], appends[-10:]
    print(f"{label:6s} append (lock + verify chain + write):   {_ms(appends)}")
    print(f"{label:6s}   first 10 appends {statistics.median(first) * 1e3:.2f} ms, last 10 (at ~{VERSIONS} versions) "
          f"{statistics.median(last) * 1e3:.2f} ms")
    print(f"{label:6s} bare atomic write of the same bytes:    {_ms(bare)}  "
          f"(append/bare ratio {statistics.median(appends) / statistics.median(bare):.1f}x)")
    print(f"{label:6s} verified read of {VERSIONS} versions:         {_ms(reads)}")


def main() -> int:
    catalog = load_catalog()
    predictor = HeuristicPredictor()
    result = recommend_fleet(FLEET, catalog, predictor)
    plan_a = DeploymentPlan.from_recommendation(result.fleet, result.recommendation)
    text = FLEET.read_text().replace("clouds: [aws]\n", "clouds: [gcp]\n", 1)
    with tempfile.TemporaryDirectory() as tmp:
        other = Path(tmp) / "fleet-b.yaml"
        other.write_text(text)
        rb = recommend_fleet(other, catalog, predictor)
        plan_b = DeploymentPlan.from_recommendation(rb.fleet, rb.recommendation)
        print(f"record size: {len(canonical_bytes(plan_a.to_dict())) / 1024:.1f} KiB of plan for "
              f"{len(plan_a.deployments)} models\n")
        bench_store("local", VersionStore(str(Path(tmp) / "store")), [plan_a, plan_b], Path(tmp) / "bare1")
        bench_store("memory", VersionStore(f"memory://bench-{uuid.uuid4().hex}"), [plan_a, plan_b],
                    Path(tmp) / "bare2")

        project = Path(tmp) / "proj"
        project.mkdir()
        (project / "Pulumi.yaml").write_text("name: bench\nruntime: python\n")
        fleets = [FLEET, other]
        recs, plans = [], []
        for i in range(20):
            t = time.perf_counter()
            recommend_fleet(fleets[i % 2], catalog, predictor)
            recs.append(time.perf_counter() - t)
            t = time.perf_counter()
            plan_stack(fleet_path=fleets[i % 2], project_dir=project, stack="dev",
                       store=VersionStore(str(project / ".roost" / "versions")), catalog=catalog,
                       predictor=predictor, who=WHO)
            plans.append(time.perf_counter() - t)
        print(f"\nrecommend_fleet alone (8 models): {_ms(recs)}")
        print(f"plan_stack (recommend + record + stack file): {_ms(plans)}  "
              f"(overhead {(statistics.median(plans) - statistics.median(recs)) * 1e3:.1f} ms, "
              f"ratio {statistics.median(plans) / statistics.median(recs):.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
