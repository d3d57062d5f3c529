"""`roost report` on a 1,000-model fleet: the HTML report end to end, beside loading the version it reports.

Goal (issue 14, 2-core machine): the HTML report of a 1,000-model fleet in ≤ 5 s.

A store is built once (not timed): 1,000 sampled models placed by the heuristic recommender,
with their runners-up and explanations, recorded as 12 versions (plans that resize a third
of the models, and a rollback), the fleet file kept with each. Then, measured in this run:

    fresh process   `roost report --stack bench -o FILE` (HTML) and `--format md|csv|json`, as a
                    person or a pipeline runs it: interpreter, imports, store, figures, render,
                    write. Wall seconds and CPU seconds (wall moves with the machine's load).
    baseline        `roost versions --stack bench --json` in a fresh process (interpreter,
                    imports and a verified read of every version), and in-process the verified
                    read of the store plus the reported version's rationale blob.
    in process      the report's own phases: inputs (store, fleet, config), figures, each renderer.

    python benchmarks/bench_report.py [--models 1000] [--versions 12] [--repeat 3] [--seed 7]
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
ROOST = [sys.executable, "-m", "roost.cli"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def fresh(*args: str) -> tuple[float, float]:
    """Wall and CPU seconds of a fresh `roost` process."""
    cpu, start = _children_cpu(), time.perf_counter()
    proc = subprocess.run([*ROOST, *args], capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"roost {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return wall, _children_cpu() - cpu


def fleet_yaml(specs) -> str:
    models = []
    for s in specs:
        entry = {"name": s.name, "team": s.team, "task": s.task.value, "framework": s.framework,
                 "params_millions": s.params_millions, "precision": s.precision.value, "image": s.image,
                 "load": {"peak_rps": s.load.peak_rps}, "slo": {"p95_latency_ms": s.slo_p95_latency_ms},
                 "spot": s.spot.value}
        for key in ("input_tokens", "output_tokens"):
            if getattr(s.load, key):
                entry["load"][key] = getattr(s.load, key)
        if s.budget_monthly_usd is not None:
            entry["budget_monthly_usd"] = s.budget_monthly_usd
        models.append(entry)
    return yaml.safe_dump({"version": 1, "models": models}, sort_keys=False)


def build_store(project: Path, n_models: int, n_versions: int, seed: int) -> None:
    from history.population import sample_specs
    from history.versions import FleetSource, Provenance, VersionDraft, VersionStore
    from placement.baseline import HeuristicPredictor
    from placement.catalog import load_catalog
    from placement.optimizer import recommend_all
    from placement.plan import DeploymentPlan
    from placement.types import Fleet
    from roost.lifecycle import store_url
    from roost.report.figures import rationale_document

    catalog = load_catalog()
    specs = [dataclasses.replace(s, name=f"m{i:04d}", team=f"team-{i % 25:02d}",
                                 budget_monthly_usd=50_000.0 if i % 4 == 0 else None)
             for i, s in enumerate(sample_specs(int(n_models * 1.3), seed=seed))]
    rec, failures = recommend_all(Fleet(models=tuple(specs)), catalog, HeuristicPredictor())
    placed = {p.model for p in rec.placements}
    specs = [s for s in specs if s.name in placed][:n_models]
    fleet = Fleet(models=tuple(specs))
    rec = dataclasses.replace(rec, placements=tuple(p for p in rec.placements if p.model in {s.name for s in specs}))
    base = DeploymentPlan.from_recommendation(fleet, rec)
    grown = dataclasses.replace(base, deployments=tuple(
        dataclasses.replace(d, choice=dataclasses.replace(d.choice, replicas=d.choice.replicas + 1,
                                                          hourly_cost_usd=d.choice.hourly_cost_usd * 1.25))
        if i % 3 == 0 else d for i, d in enumerate(base.deployments)))
    text = fleet_yaml(specs)
    source = FleetSource(path="fleet.yaml", sha256="0" * 64, content=text)
    who = Provenance(author="bench", roost_version="bench")
    store = VersionStore(store_url(project))
    why = rationale_document(rec, fleet)
    with store.writer("bench") as w:
        for v in range(1, n_versions + 1):
            if v == n_versions - 1:
                w.append(VersionDraft(reason="rollback to 1", plan=base, fleet=source, provenance=who, restores=1))
            else:
                w.append(VersionDraft(reason="plan", plan=grown if v % 2 == 0 else base, fleet=source,
                                      provenance=who, rationale=why))
    (project / "Pulumi.yaml").write_text("name: bench\nruntime: python\n")
    (project / "Pulumi.bench.yaml").write_text(yaml.safe_dump({"config": {
        "roost:budgets": {"stack": 1_000_000, "teams": {f"team-{i:02d}": 40_000 for i in range(25)}}}}))
    print(f"store: {len(specs)} models ({len(failures)} of {len(specs) + len(failures)} sampled were infeasible "
          f"and left out), {n_versions} versions")


def timed(fn, repeat: int) -> tuple[str, object]:
    """Median wall and CPU seconds of ``fn``, as text, and its last result."""
    walls, cpus, out = [], [], None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return f"wall {statistics.median(walls):5.2f} s  cpu {statistics.median(cpus):5.2f} s", out


def in_process(project: Path, repeat: int) -> None:
    from history.versions import VersionStore
    from placement.catalog import load_catalog
    from roost.lifecycle import store_url
    from roost.report.figures import build_report
    from roost.report.render import FORMATS, render
    from roost.report.sources import read_history, read_rationale, report_inputs

    catalog = load_catalog()
    store = VersionStore(store_url(project))

    def load():
        history = read_history(store, "bench")
        return read_rationale(store, history.records[-1], history)

    load_s, _ = timed(load, repeat)
    inputs_s, (inputs, settings) = timed(lambda: report_inputs(store=store, stack="bench", project_dir=project,
                                                              catalog=catalog, logs=project / "none.parquet"),
                                         repeat)
    figures_s, report = timed(lambda: build_report(inputs), repeat)
    print(f"in process  load the version ({len(inputs.history)} versions verified + rationale blob): "
          f"{load_s}   <- baseline")
    print(f"in process  report inputs (that load + stack config):               {inputs_s}")
    print(f"in process  figures ({len(report.models)} models):                               {figures_s}")
    for fmt in FORMATS:
        render_s, text = timed(lambda fmt=fmt: render(report, fmt, secrets=settings.secrets), repeat)
        print(f"in process  render {fmt:4s} ({len(text) / 1e6:5.2f} MB):                            {render_s}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=int, default=1000)
    ap.add_argument("--versions", type=int, default=12)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "project"
        project.mkdir()
        build_store(project, args.models, args.versions, args.seed)
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start")
        common = ["--stack", "bench", "--project-dir", str(project)]
        walls, cpus = [], []
        for _ in range(args.repeat):
            wall, cpu = fresh("versions", *common, "--json")
            walls.append(wall)
            cpus.append(cpu)
        print(f"fresh process  roost versions --json (baseline: load every version): "
              f"wall {statistics.median(walls):5.2f} s  cpu {statistics.median(cpus):5.2f} s")
        out = project / "report.html"
        for fmt in ("html", "md", "csv", "json"):
            walls, cpus = [], []
            for _ in range(args.repeat):
                wall, cpu = fresh("report", *common, "--format", fmt, "-o", str(out.with_suffix(f".{fmt}")))
                walls.append(wall)
                cpus.append(cpu)
            size = out.with_suffix(f".{fmt}").stat().st_size
            goal = "   (goal ≤ 5 s)" if fmt == "html" else ""
            print(f"fresh process  roost report --format {fmt:4s} ({size / 1e6:5.2f} MB):             "
                  f"wall {statistics.median(walls):5.2f} s  cpu {statistics.median(cpus):5.2f} s{goal}")
        in_process(project, args.repeat)
        print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
