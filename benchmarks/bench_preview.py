"""Offline preview time: the example fleet and a generated 100-model fleet.

Goal (issue 5, 2-core machine): `roost preview --offline` of a 100-model fleet in < 30 s.
Each figure is an end-to-end run of `roost preview --stack S --offline --json` in a fresh
interpreter (what CI pays), plus a warm second run in one process. The baseline, measured
in the same run, is a fresh interpreter that only imports the three provider SDKs and
touches the classes the program uses: the floor any Pulumi Python program pays.

    python benchmarks/bench_preview.py [--models 100] [--seed 7] [--json]
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from placement.catalog import load_catalog
from placement.optimizer import recommend_all
from placement.plan import Deployment, DeploymentPlan
from placement.types import Fleet
from roost.stackfile import write_plan, write_stack_config
from roost.workflows import predictor_for, recommend_fleet

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = {
    "roost:gcp": {"project": "bench-project"},
    "roost:azure": {"adminSshPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBenchKey bench"},
    "roost:secrets": {"hf-token": {"secure": "v1:bench-ciphertext"}},
}
BASELINE = """
import pulumi, pulumi_aws as aws, pulumi_gcp as gcp
from pulumi_azure_native import authorization, compute, keyvault, monitor, network, resources
for cls in (aws.ec2.LaunchTemplate, aws.autoscaling.Group, aws.lb.LoadBalancer, aws.iam.Role,
            gcp.compute.InstanceTemplate, gcp.compute.RegionInstanceGroupManager, gcp.compute.RegionBackendService,
            compute.VirtualMachineScaleSet, network.LoadBalancer, monitor.AutoscaleSetting, keyvault.Vault):
    pass
"""


def fresh(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, capture_output=True)
    return time.perf_counter() - start


def cli_preview(project: Path, stack: str) -> tuple[float, dict]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", "from roost.cli import main; main()", "preview", "--stack", stack, "--offline", "--json",
                           "--project-dir", str(project)], capture_output=True, text=True, cwd=ROOT)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):  # 1: a policy gate failed, the preview itself ran
        raise SystemExit(f"preview failed ({proc.returncode}): {proc.stderr.strip()}")
    return elapsed, json.loads(proc.stdout)


def warm_preview(project: Path, stack: str) -> float:
    code = ("import time; from pathlib import Path; from roost.preview import offline_preview\n"
            f"p = Path({str(project)!r}); offline_preview(p, {stack!r})\n"
            f"t = time.perf_counter(); offline_preview(p, {stack!r}); print(time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT)
    return float(out.stdout.strip().splitlines()[-1])


def generated_plan(models: int, seed: int) -> DeploymentPlan:
    from history.population import sample_specs

    catalog = load_catalog()
    predictor = predictor_for("baseline")
    placed, batch = [], 0
    while len(placed) < models:  # some sampled specs are infeasible by design; draw more
        specs = sample_specs(models * 2, seed=seed + batch)
        fleet = Fleet(models=tuple(s for s in specs), source="generated")
        rec, _ = recommend_all(fleet, catalog, predictor)
        for p in rec.placements:
            if len(placed) < models:
                placed.append((fleet.model(p.model), p.chosen))
        batch += 1
    deployments = []
    for i, (spec, choice) in enumerate(placed):  # names must be unique across batches
        deployments.append(replace(Deployment.from_spec(spec, choice), name=f"{spec.name}-{i}"))
    return DeploymentPlan(catalog_version=catalog.version, model_version=None, fleet_sha256="generated",
                          deployments=tuple(deployments))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="fresh-interpreter runs per figure (median)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        (project / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
        example = recommend_fleet(ROOT / "examples" / "fleet.yaml", load_catalog(), predictor_for("baseline"))
        write_plan(project, "example", DeploymentPlan.from_recommendation(example.fleet, example.recommendation))
        write_plan(project, "generated", generated_plan(args.models, args.seed))
        for stack in ("example", "generated"):
            write_stack_config(project, stack, SETTINGS)

        baseline = statistics.median(fresh(BASELINE) for _ in range(args.repeat))
        figures: dict[str, dict] = {"baseline_import_s": round(baseline, 2)}
        for stack in ("example", "generated"):
            runs = [cli_preview(project, stack) for _ in range(args.repeat)]
            elapsed = statistics.median(t for t, _ in runs)
            summary = runs[0][1]["summary"]
            figures[stack] = {
                "deployments": summary["deployments"], "resources": summary["resources"],
                "deployments_by_cloud": summary["deployments_by_cloud"],
                "cold_cli_s": round(elapsed, 2), "warm_in_process_s": round(warm_preview(project, stack), 2),
                "ratio_to_baseline": round(elapsed / baseline, 2),
            }

    # ru_maxrss of children: the largest of all the subprocesses above (KiB on Linux).
    figures["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"baseline: import the three provider SDKs + touch the classes used: {baseline:.2f} s")
    for stack in ("example", "generated"):
        f = figures[stack]
        print(f"{stack:9s}: {f['deployments']:3d} deployments, {f['resources']:5d} resources  "
              f"cold CLI {f['cold_cli_s']:.2f} s ({f['ratio_to_baseline']:.1f}x baseline)  "
              f"warm {f['warm_in_process_s']:.2f} s  by cloud {f['deployments_by_cloud']}")
    print(f"peak RSS of any preview process: {figures['peak_rss_mib']} MiB")
    goal = figures["generated"]["cold_cli_s"]
    print(f"goal: {args.models}-model preview < 30 s: {'met' if goal < 30 else 'NOT met'} ({goal:.1f} s)")


if __name__ == "__main__":
    main()
