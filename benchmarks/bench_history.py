"""Deployment-history throughput: simulate, validate, read and the evaluation oracle.

Targets (issue 3, on a 2-core machine): simulate 1,000,000 rows in < 60 s; validate
1,000,000 rows in < 30 s. Every figure is printed beside a baseline measured in the same
run on the same data (plain pandas work), so the ratio is comparable across machines.

    python benchmarks/bench_history.py [--rows 1000000] [--seed 1] [--json]
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from history.population import sample_specs
from history.schema import read_log, validate, write_log
from history.simulate import simulate
from history.world import World
from placement.catalog import load_catalog


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def oracle_frame(catalog, profiles: int, candidates: int) -> pd.DataFrame:
    specs = sample_specs(profiles, seed=99)
    prof = pd.DataFrame([{
        "task": s.task.value, "framework": s.framework, "params_millions": s.params_millions,
        "precision": s.precision.value, "memory_gib": s.memory_gib, "input_tokens": s.load.input_tokens,
        "output_tokens": s.load.output_tokens, "slo_p95_latency_ms": s.slo_p95_latency_ms} for s in specs])
    rows = []
    for o in catalog:
        for purchase in ("on_demand", "spot"):
            if purchase == "spot" and o.spot_price_hour_usd is None:
                continue
            rows.append({"cloud": o.cloud.value, "region": o.region, "instance_type": o.instance_type,
                         "accelerator": o.accelerator, "accelerator_count": o.accelerator_count,
                         "purchase": purchase})
    off = pd.DataFrame(rows)
    off = pd.concat([off] * (candidates // len(off) + 1), ignore_index=True).head(candidates)
    return prof.merge(off, how="cross")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profiles", type=int, default=500, help="oracle: profiles")
    parser.add_argument("--candidates", type=int, default=1_500, help="oracle: candidates per profile")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    catalog = load_catalog()
    results: dict[str, dict] = {}

    t_sim, frame = timed(lambda: simulate(args.rows, seed=args.seed, catalog=catalog))
    t_copy, _ = timed(lambda: frame.copy(deep=True))
    results["simulate"] = {"seconds": t_sim, "rows_per_s": args.rows / t_sim, "target_s": 60.0 * args.rows / 1e6,
                           "baseline": "DataFrame.copy(deep=True) of the result", "baseline_s": t_copy}

    t_val, report = timed(lambda: validate(frame, source="bench", catalog=catalog))
    assert report.ok, report.errors[:3]
    results["validate"] = {"seconds": t_val, "rows_per_s": args.rows / t_val, "target_s": 30.0 * args.rows / 1e6,
                           "baseline": "DataFrame.copy(deep=True) of the log", "baseline_s": t_copy}

    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "log.csv"
        parquet = Path(tmp) / "log.parquet"
        t_wcsv, _ = timed(lambda: write_log(frame, csv))
        t_wpq, _ = timed(lambda: write_log(frame, parquet))
        t_plain, _ = timed(lambda: pd.read_csv(csv))
        t_rcsv, typed = timed(lambda: read_log(csv))
        t_rpq, _ = timed(lambda: read_log(parquet))
        t_pq_plain, _ = timed(lambda: pd.read_parquet(parquet))
        t_val_csv, report_csv = timed(lambda: validate(typed, source=str(csv), catalog=catalog))
        assert report_csv.ok
        results["read_csv"] = {"seconds": t_rcsv, "rows_per_s": args.rows / t_rcsv,
                               "baseline": "pandas.read_csv of the same file", "baseline_s": t_plain}
        results["read_parquet"] = {"seconds": t_rpq, "rows_per_s": args.rows / t_rpq,
                                   "baseline": "pandas.read_parquet of the same file", "baseline_s": t_pq_plain}
        results["read_and_validate_csv"] = {"seconds": t_rcsv + t_val_csv, "rows_per_s": args.rows / (t_rcsv + t_val_csv),
                                            "target_s": 30.0 * args.rows / 1e6,
                                            "baseline": "pandas.read_csv of the same file", "baseline_s": t_plain}
        results["write"] = {"seconds_csv": t_wcsv, "seconds_parquet": t_wpq,
                            "csv_mb": csv.stat().st_size / 1e6, "parquet_mb": parquet.stat().st_size / 1e6}

    world = World(catalog)
    oracle = oracle_frame(catalog, args.profiles, args.candidates)
    world.truth_frame(oracle.head(1000))  # catalog tables are built once per World
    t_oracle, truth = timed(lambda: world.truth_frame(oracle))
    t_oracle_copy, _ = timed(lambda: oracle.copy(deep=True))
    results["truth_frame"] = {"seconds": t_oracle, "rows": len(oracle), "rows_per_s": len(oracle) / t_oracle,
                              "feasible_share": float((truth["capacity_rps"] > 0).mean()),
                              "baseline": "DataFrame.copy(deep=True) of the input", "baseline_s": t_oracle_copy}

    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"history benchmark: {args.rows:,} rows, seed {args.seed}, catalog {catalog.version}")
    for name, r in results.items():
        if "seconds" not in r:
            continue
        line = f"  {name:<22} {r['seconds']:7.2f} s  {r['rows_per_s']:>12,.0f} rows/s"
        if "baseline_s" in r:
            line += f"  ({r['seconds'] / r['baseline_s']:.1f}× {r['baseline']}: {r['baseline_s']:.2f} s)"
        if "target_s" in r:
            line += f"  target < {r['target_s']:.0f} s: {'met' if r['seconds'] < r['target_s'] else 'MISSED'}"
        print(line)
    w = results["write"]
    print(f"  write                  csv {w['seconds_csv']:.2f} s ({w['csv_mb']:.0f} MB), "
          f"parquet {w['seconds_parquet']:.2f} s ({w['parquet_mb']:.0f} MB)")
    print(f"  oracle                 {results['truth_frame']['rows']:,} (profile, candidate) rows; "
          f"{results['truth_frame']['feasible_share']:.0%} meet their SLO")


if __name__ == "__main__":
    main()
