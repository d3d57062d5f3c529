"""Training speed: the placement models on 1,000,000 simulated deployment-log rows.

Target (issue 4, on a 2-core machine): ≤ 120 s, grouped cross-validation included.
Printed beside it, measured in the same run: one plain LightGBM regression (default
parameters, 100 rounds) on the same rows' saturation labels and features, so the ratio
compares across machines. Simulation time is printed separately (it is not training).

    python benchmarks/bench_train.py [--rows 1000000] [--seed 12] [--json]
"""
from __future__ import annotations

import argparse
import json
import time

import lightgbm as lgb

from history.simulate import simulate
from placement import features as F
from placement.catalog import load_catalog
from placement.learned.train import FEATURE_GROUP, SATURATION, TrainConfig, prepare, train


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    catalog = load_catalog()
    simulate_s, log = timed(lambda: simulate(args.rows, seed=args.seed, catalog=catalog))
    config = TrainConfig()
    train_s, bundle = timed(lambda: train(log, catalog.offerings, catalog_version=catalog.version,
                                          source=f"simulated {args.rows} rows, seed {args.seed}", config=config))

    spec = F.FeatureSpec.for_catalog(catalog.offerings)
    data = prepare(log, catalog.offerings, spec)
    lab = data.labels[SATURATION]
    names = list(spec.names(FEATURE_GROUP[SATURATION]))
    X = F.matrix({k: data.features[k][lab.rows] for k in names}, names)
    plain_s, _ = timed(lambda: lgb.train({"objective": "regression", "verbosity": -1, "num_threads": config.num_threads},
                                         lgb.Dataset(X, lab.target, feature_name=names), num_boost_round=100))
    result = {
        "rows": args.rows,
        "profiles": bundle.manifest["training_data"]["profiles"],
        "simulate_s": round(simulate_s, 1),
        "train_s": round(train_s, 1),
        "plain_lightgbm_100_rounds_s": round(plain_s, 2),
        "ratio": round(train_s / plain_s, 1),
        "iterations": bundle.manifest["metrics"]["final_iterations"],
        "goal_s": 120.0,
        "goal_met": train_s <= 120.0,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{args.rows:,} rows ({result['profiles']:,} profiles), simulated in {simulate_s:.1f} s")
    print(f"  train (CV + 4 models):       {train_s:6.1f} s   goal ≤ 120 s: {'met' if train_s <= 120 else 'NOT met'}")
    print(f"  plain LightGBM, 100 rounds:  {plain_s:6.2f} s   ratio {train_s / plain_s:.0f}×")
    print(f"  final iterations: {result['iterations']}")


if __name__ == "__main__":
    main()
