"""Peak memory of a default training run (the build of the shipped default model).

Target (issue 11): ≤ 1.5 GB peak resident memory. Printed beside it, measured in the same
run: the peak of just loading the default history (the bundled sample plus its simulated
extension), so the figure compares across machines and shows what training itself adds.
Each measurement runs in its own process; peaks are the kernel's high-water mark (VmHWM).

    python benchmarks/bench_train_memory.py [--json] [--stages]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_MB = 1500.0

CHILD = r"""
import json, sys, tempfile, time
from pathlib import Path

def peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
stages = []
def on_stage(name):
    stages.append((round(time.perf_counter() - start, 1), round(peak_mb()), name))
start = time.perf_counter()
if sys.argv[1] == "history":
    from placement.catalog import load_catalog
    from roost.training import default_history
    frame, _ = default_history(load_catalog())
else:
    from roost.training import build_default_model
    with tempfile.TemporaryDirectory() as tmp:
        build_default_model(Path(tmp), on_stage=on_stage)
on_stage("done")
print(json.dumps({"peak_mb": peak_mb(), "seconds": time.perf_counter() - start, "stages": stages}))
"""


def measure(what: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, what], cwd=ROOT, check=True, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT), "ROOST_HOME": tempfile.mkdtemp()})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--stages", action="store_true", help="print the peak after each training stage")
    args = parser.parse_args()
    start = time.perf_counter()
    history = measure("history")
    training = measure("train")
    result = {"history_peak_mb": round(history["peak_mb"]), "train_peak_mb": round(training["peak_mb"]),
              "train_s": round(training["seconds"], 1), "goal_mb": GOAL_MB,
              "goal_met": training["peak_mb"] <= GOAL_MB, "stages": training["stages"]}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"peak resident memory (measured in {time.perf_counter() - start:.0f} s):")
    print(f"  loading the default history:  {history['peak_mb']:6.0f} MB   (baseline)")
    print(f"  default training run:         {training['peak_mb']:6.0f} MB   goal ≤ {GOAL_MB:.0f} MB: "
          f"{'met' if result['goal_met'] else 'NOT met'}   ({training['seconds']:.0f} s)")
    if args.stages:
        for seconds, peak, stage in training["stages"]:
            print(f"    {seconds:6.1f} s  peak so far {peak:5d} MB  then: {stage}")


if __name__ == "__main__":
    main()
