"""How long `roost --help` and every `roost <command> --help` take, beside `python -c pass`.

    python benchmarks/bench_cli.py [--runs 7]

Each figure is the wall time of a whole process (interpreter start included), min and median
over the runs; the baseline is a bare interpreter measured in the same run, so a loaded machine
shows up in both columns. Goal: ≤ 0.5 s for every help screen.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

GOAL_S = 0.5


def timed(argv: list[str], runs: int) -> tuple[float, float]:
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds.append(time.perf_counter() - start)
    return min(seconds), statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    from roost.cli import COMMANDS

    roost = [sys.executable, "-m", "roost.cli"]
    cases = {"python -c pass": [sys.executable, "-c", "pass"], "roost --help": [*roost, "--help"]}
    cases.update({f"roost {name} --help": [*roost, name, "--help"] for name in sorted(COMMANDS)})
    print(f"{'command':32} {'min s':>7} {'median s':>9}  goal ≤ {GOAL_S} s")
    worst = 0.0
    for label, argv in cases.items():
        low, mid = timed(argv, args.runs)
        if label != "python -c pass":
            worst = max(worst, mid)
        print(f"{label:32} {low:7.3f} {mid:9.3f}")
    print(f"slowest help median: {worst:.3f} s ({'met' if worst <= GOAL_S else 'NOT met'})")


if __name__ == "__main__":
    main()
