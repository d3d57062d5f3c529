"""`roost ci` time: the 8-model example fleet and a generated 100-model fleet, end to end.

Goals (issue 15, 2-core machine): ≤ 10 s on the example, ≤ 30 s on 100 models. Each figure is a
fresh `roost ci --stack S --json` process, as a pipeline runs it, on a project planned with the
default (learned) model by `roost plan`. Printed beside them, measured in the same run: a fresh
`roost --version` (the interpreter and CLI floor) and the `roost plan` that made each project (the
recommender half of the gate's work). The load average and each process's CPU seconds are
printed too: on a shared machine wall time moves with the load, CPU time much less.

    python benchmarks/bench_ci.py [--models 100] [--seed 7] [--repeat 3] [--json]

Uses the default model in ROOST_HOME (trains it first if there is none, which is not timed).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = {
    "roost:gcp": {"project": "bench-project"},
    "roost:azure": {"adminSshPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBenchKey bench"},
}
ROOST = [sys.executable, "-m", "roost.cli"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(*args: str, ok: tuple[int, ...] = (0,)) -> tuple[float, subprocess.CompletedProcess]:
    """Wall seconds of a fresh `roost` process; its CPU seconds are left in ``proc.cpu_s``."""
    cpu, start = _children_cpu(), time.perf_counter()
    proc = subprocess.run([*ROOST, *args], capture_output=True, text=True, cwd=ROOT)
    elapsed = time.perf_counter() - start
    proc.cpu_s = _children_cpu() - cpu  # type: ignore[attr-defined]
    if proc.returncode not in ok:
        raise SystemExit(f"roost {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return elapsed, proc


def model_entry(spec: Any, name: str, team: str) -> dict[str, Any]:
    """A fleet-file entry for a sampled ModelSpec (the keys a person would write)."""
    load = {"peak_rps": spec.load.peak_rps, "mean_rps": spec.load.mean_rps}
    for key in ("input_tokens", "output_tokens"):
        if getattr(spec.load, key):
            load[key] = getattr(spec.load, key)
    entry: dict[str, Any] = {
        "name": name, "team": team, "task": spec.task.value, "framework": spec.framework,
        "params_millions": spec.params_millions, "precision": spec.precision.value,
        "accelerator": spec.accelerator.value, "image": "ghcr.io/acme/model:1.0", "load": load,
        "slo": {"p95_latency_ms": spec.slo_p95_latency_ms}, "spot": spec.spot.value,
        "min_replicas": spec.min_replicas,
    }
    if not spec.memory_gib_derived:
        entry["memory_gib"] = spec.memory_gib
    if spec.clouds:
        entry["clouds"] = [c.value for c in spec.clouds]
    if spec.regions:
        entry["regions"] = list(spec.regions)
    if spec.max_replicas:
        entry["max_replicas"] = spec.max_replicas
    return entry


def generated_fleet(models: int, seed: int) -> str:
    """``models`` sampled profiles the default model can place (some samples are infeasible by design)."""
    from history.population import sample_specs
    from placement.catalog import load_catalog
    from placement.optimizer import recommend_all
    from placement.types import Fleet
    from roost.workflows import predictor_for

    catalog = load_catalog()
    predictor = predictor_for("learned", catalog_version=catalog.version)
    chosen: list[Any] = []
    batch = 0
    while len(chosen) < models:
        fleet = Fleet(models=tuple(sample_specs(models * 2, seed=seed + batch)))
        rec, _ = recommend_all(fleet, catalog, predictor)
        chosen += [fleet.model(p.model) for p in rec.placements][: models - len(chosen)]
        batch += 1
    entries = [model_entry(s, f"m{i:03d}-{s.name}"[:40].rstrip("-"), f"team-{i % 5}") for i, s in enumerate(chosen)]
    return yaml.safe_dump({"version": 1, "models": entries}, sort_keys=False)


def project(tmp: Path, name: str, fleet_text: str) -> Path:
    root = tmp / name
    root.mkdir()
    (root / "Pulumi.yaml").write_text(f"name: {name}\nruntime: python\nmain: program/\n")
    (root / "fleet.yaml").write_text(fleet_text)
    (root / "Pulumi.ci.yaml").write_text(yaml.safe_dump({"config": SETTINGS}))
    return root


def measure(root: Path, repeat: int) -> dict[str, Any]:
    plan_s, _ = run("plan", str(root / "fleet.yaml"), "--stack", "ci", "--project-dir", str(root), "--json")
    runs = [run("ci", "--stack", "ci", "--project-dir", str(root), "--json", ok=(0, 1)) for _ in range(repeat)]
    result = json.loads(runs[0][1].stdout)
    return {"models": len(result["cost"]["models"]), "resources": result["resources"], "result": result["result"],
            "ci_s": round(statistics.median(t for t, _ in runs), 2), "ci_runs_s": [round(t, 2) for t, _ in runs],
            "ci_cpu_s": round(statistics.median(p.cpu_s for _, p in runs), 2), "plan_s": round(plan_s, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="fresh `roost ci` processes per figure (median)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from roost.training import default_model

    default_model()  # train first if ROOST_HOME has no default model: not part of any figure
    env_ci = os.environ.get("CI")
    os.environ["CI"] = "true"  # as a pipeline runs it: no colour, no progress
    try:
        version = statistics.median(run("--version")[0] for _ in range(args.repeat))
        with tempfile.TemporaryDirectory() as tmp:
            example = measure(project(Path(tmp), "example", (ROOT / "examples" / "fleet.yaml").read_text()),
                              args.repeat)
            generated = measure(project(Path(tmp), "generated", generated_fleet(args.models, args.seed)),
                                args.repeat)
    finally:
        if env_ci is None:
            os.environ.pop("CI", None)
    figures = {"roost_version_s": round(version, 2), "example": example, "generated": generated,
               "load_average_1m": round(os.getloadavg()[0], 2), "cpus": os.cpu_count()}
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"baseline: fresh `roost --version`: {version:.2f} s  (load average {figures['load_average_1m']} "
          f"on {figures['cpus']} CPUs)")
    for name, f, goal in (("example", example, 10), ("generated", generated, 30)):
        print(f"{name:9s}: {f['models']:3d} models, {f['resources']:5d} resources  roost ci {f['ci_s']:.2f} s "
              f"(CPU {f['ci_cpu_s']:.2f} s; runs {f['ci_runs_s']}, {f['result']})  roost plan {f['plan_s']:.2f} s  "
              f"goal ≤ {goal} s: {'met' if f['ci_s'] <= goal else 'NOT met'}")


if __name__ == "__main__":
    main()
