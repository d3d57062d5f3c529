"""The feedback loop's goals (issue 16), measured.

1. Detection and false alarms: `roost drift`'s verdict on fresh logs of a fleet from the
   same world, and from a world whose GPUs run at 60 % speed, over ``--seeds`` seeds
   (goal: every slow world detected, false alarms ≤ 5 %).
2. Challenger: after ingesting ``--slow-rows`` (20,000) rows of the fleet from the slower
   world, a challenger trained on that grown history against the champion, on new outcomes
   of the fleet from the slower world (goal: median capacity error cut by at least half).
3. Speed: `roost drift --logs FILE --json` on ``--speed-rows`` (1,000,000) rows, end to end
   in a fresh process (goal ≤ 30 s), beside `roost history validate FILE` on the same file
   (reading and checking the rows, a floor drift cannot go below) measured in the same run.

The champion is the model in use (the default model; trained on first use) unless
``--model DIR``. Each fleet is ``--profiles`` model profiles the champion never saw.

    python benchmarks/bench_drift.py [--seeds 20] [--rows 4000] [--skip-speed] [--json]
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

import numpy as np

from history.population import sample_specs
from history.schema import write_log
from history.simulate import simulate
from history.world import World, WorldShift
from placement.catalog import load_catalog
from placement.learned import registry
from placement.learned.drift import detect
from placement.learned.promotion import score
from placement.learned.train import TrainConfig, train

SLOW = WorldShift(gpu_speed=0.6)


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def fleet_logs(catalog, rows: int, seed: int, profiles: int, fleet_seed: int, shift: WorldShift | None = None):
    world = World(catalog, shift=shift) if shift else None
    return simulate(rows, seed=seed, catalog=catalog, specs=sample_specs(profiles, seed=fleet_seed), world=world)


def detection(catalog, bundle, seeds: int, rows: int, profiles: int, first: int = 1) -> dict:
    same, slow, findings, seconds = [], [], [], []
    for seed in range(first, first + seeds):
        fleet = 1000 + seed  # a new fleet per seed: profiles the champion never saw
        fresh = fleet_logs(catalog, rows, seed, profiles, fleet)
        s, report = timed(lambda: detect(fresh, bundle, catalog.offerings, catalog.version))  # noqa: B023
        seconds.append(s)
        same.append(report.drift)
        if report.drift:
            findings.append({"seed": seed, "findings": [f["message"] for f in report.findings]})
        slow_report = detect(fleet_logs(catalog, rows, seed + 500, profiles, fleet, SLOW), bundle, catalog.offerings,
                             catalog.version)
        slow.append(slow_report.drift)
    return {"seeds": seeds, "first_seed": first, "rows_per_log": rows, "profiles_per_fleet": profiles,
            "false_alarm_rate": float(np.mean(same)), "detection_rate": float(np.mean(slow)),
            "goal_met": bool(np.mean(same) <= 0.05 and all(slow)), "false_alarms": findings,
            "median_detect_s": float(np.median(seconds))}


SMALL = TrainConfig(seed=0, num_threads=1, learning_rate=0.3, num_leaves=15, max_rounds=40, early_stopping_rounds=10,
                    cv_folds=2, distill_hardware_per_profile=4)


def challenger(catalog, champion, slow_rows: int, profiles: int, config: TrainConfig) -> dict:
    fleet = 4242
    grown = fleet_logs(catalog, slow_rows, 7, profiles, fleet, SLOW)
    train_s, bundle = timed(lambda: train(grown, catalog.offerings, catalog_version=catalog.version,
                                          source="slow world", config=config))
    new = fleet_logs(catalog, 5000, 8, profiles, fleet, SLOW)
    a, b = score(champion, new, catalog.offerings), score(bundle, new, catalog.offerings)
    ca, cb = a["capacity"]["median_abs_pct_error"], b["capacity"]["median_abs_pct_error"]
    return {"slow_rows": slow_rows, "profiles": profiles, "challenger_train_s": round(train_s, 1),
            "challenger_config": config.to_dict(),
            "champion_median_capacity_error_pct": round(ca, 1), "challenger_median_capacity_error_pct": round(cb, 1),
            "champion_median_latency_error_pct": round(a["latency"]["median_abs_pct_error"], 1),
            "challenger_median_latency_error_pct": round(b["latency"]["median_abs_pct_error"], 1),
            "cut": round(1 - cb / ca, 3), "goal_met": cb <= ca / 2}


def speed(catalog, rows: int, model: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "outcomes.parquet"
        simulate_s, log = timed(lambda: simulate(rows, seed=99, catalog=catalog))
        write_log(log, path)
        del log
        env = dict(os.environ, NO_COLOR="1")
        roost = [sys.executable, "-m", "roost.cli"]
        validate_s, _ = timed(lambda: subprocess.run([*roost, "history", "validate", str(path), "--json"], env=env,
                                                     capture_output=True, check=True))
        drift_s, done = timed(lambda: subprocess.run([*roost, "drift", "--logs", str(path), "--model", str(model),
                                                      "--json"], env=env, capture_output=True))
    if done.returncode not in (0, 1):
        raise SystemExit(done.stderr.decode())
    return {"rows": rows, "simulate_s": round(simulate_s, 1), "validate_s": round(validate_s, 1),
            "drift_s": round(drift_s, 1), "ratio_to_validate": round(drift_s / validate_s, 2),
            "verdict": json.loads(done.stdout)["verdict"], "goal_s": 30.0, "goal_met": drift_s <= 30.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=1, help="Seeds (and fleets) first-seed … first-seed+seeds-1.")
    parser.add_argument("--rows", type=int, default=4000, help="Rows per fresh log.")
    parser.add_argument("--profiles", type=int, default=100, help="Model profiles per fleet.")
    parser.add_argument("--slow-rows", type=int, default=20_000)
    parser.add_argument("--speed-rows", type=int, default=1_000_000)
    parser.add_argument("--model", type=Path, help="Champion model directory (default: the model in use).")
    parser.add_argument("--small-config", action="store_true",
                        help="Train the challenger with the tests' small config (40 rounds, 15 leaves, 2 folds), "
                             "for a loaded machine; the figure is then for that config.")
    parser.add_argument("--skip-detection", action="store_true")
    parser.add_argument("--skip-challenger", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    catalog = load_catalog()
    if args.model:
        bundle = registry.load(args.model)
    else:
        from roost.training import default_model

        bundle = default_model(catalog_version=catalog.version)
    result: dict = {"champion": bundle.version}
    if not args.skip_detection:
        result["detection"] = detection(catalog, bundle, args.seeds, args.rows, args.profiles, args.first_seed)
    if not args.skip_challenger:
        result["challenger"] = challenger(catalog, bundle, args.slow_rows, args.profiles,
                                          SMALL if args.small_config else TrainConfig())
    if not args.skip_speed:
        result["speed"] = speed(catalog, args.speed_rows, bundle.path)
    print(json.dumps(result, indent=2) if args.json else _text(result))


def _text(result: dict) -> str:
    lines = [f"champion {result['champion']}"]
    d = result.get("detection")
    if d:
        lines.append(f"detection: {d['detection_rate']:.0%} of {d['seeds']} slow-GPU worlds detected, false alarms "
                     f"{d['false_alarm_rate']:.0%} on same-world logs ({d['rows_per_log']} rows, "
                     f"{d['profiles_per_fleet']} unseen profiles each); goal met: {d['goal_met']}")
        for f in d["false_alarms"]:
            lines.append(f"  false alarm, seed {f['seed']}: {'; '.join(f['findings'])}")
    c = result.get("challenger")
    if c:
        lines.append(f"challenger after {c['slow_rows']:,} slow-world rows: median capacity error "
                     f"{c['champion_median_capacity_error_pct']}% → {c['challenger_median_capacity_error_pct']}% "
                     f"(cut {c['cut']:.0%}; goal ≥ 50 %: {c['goal_met']})")
    s = result.get("speed")
    if s:
        lines.append(f"speed: roost drift on {s['rows']:,} rows {s['drift_s']} s (goal ≤ 30 s: {s['goal_met']}); "
                     f"roost history validate on the same file {s['validate_s']} s (×{s['ratio_to_validate']})")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
