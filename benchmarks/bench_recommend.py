"""Recommendation speed: 1,000 model profiles against the full catalog with the learned models.

Target (issue 4, on a 2-core machine): ≤ 5 s for 1,000 profiles, explanations included.
Printed beside it, measured in the same run: LightGBM's own ``predict`` on exactly the
feature matrices those recommendations fed it (one call per model over the whole fleet),
so the overhead ratio — everything roost does around LightGBM — compares across machines;
and the physics baseline through the same optimizer.

    python benchmarks/bench_recommend.py [--profiles 1000] [--seed 11] [--model-dir DIR] [--json]

Without --model-dir it uses the default model (training it first if ROOST_HOME has none).
"""
from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict

import numpy as np

from history.population import sample_specs
from placement.baseline import HeuristicPredictor
from placement.catalog import load_catalog
from placement.learned.explain import LearnedExplainer
from placement.optimizer import recommend_all
from placement.types import Fleet
from roost.training import learned_predictor


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def captured_matrices(predictor, fleet, catalog) -> dict[str, np.ndarray]:
    """Every matrix the predictor hands LightGBM while recommending ``fleet``, per model."""
    seen: dict[str, list[np.ndarray]] = defaultdict(list)
    originals = {}
    for name, booster in predictor.bundle.boosters.items():
        originals[name] = booster.predict

        def record(X, *args, _name=name, _orig=booster.predict, **kwargs):
            if not kwargs.get("pred_contrib"):
                seen[_name].append(np.array(X, copy=True))
            return _orig(X, *args, **kwargs)
        booster.predict = record
    try:
        recommend_all(fleet, catalog, predictor)
    finally:
        for name, booster in predictor.bundle.boosters.items():
            booster.predict = originals[name]
    return {name: np.vstack(parts) for name, parts in seen.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--model-dir")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    catalog = load_catalog()
    fleet = Fleet(models=tuple(sample_specs(args.profiles, seed=args.seed)))
    load_s, predictor = timed(lambda: learned_predictor(args.model_dir, catalog_version=catalog.version))

    # Warm the per-catalog caches once, as a long-running `roost recommend` would have them after
    # its first model; the timed runs then measure steady-state per-profile cost.
    recommend_all(Fleet(models=fleet.models[:1]), catalog, predictor)
    learned_s, (rec, failures) = timed(lambda: recommend_all(fleet, catalog, predictor,
                                                                   explain_batch=LearnedExplainer(predictor).explain_all))
    no_explain_s, _ = timed(lambda: recommend_all(fleet, catalog, predictor))
    baseline_s, _ = timed(lambda: recommend_all(fleet, catalog, HeuristicPredictor()))

    matrices = captured_matrices(predictor, fleet, catalog)
    lgb_s = 0.0
    rows = 0
    for name, X in matrices.items():
        booster = predictor.bundle.boosters[name]
        seconds, _ = timed(lambda b=booster, m=X: b.predict(m, raw_score=True, num_threads=predictor.num_threads))
        lgb_s += seconds
        rows += len(X)
    candidates = sum(p.candidates_considered for p in rec.placements)

    result = {
        "profiles": args.profiles,
        "placed": len(rec.placements),
        "infeasible": len(failures),
        "candidates": candidates,
        "model_version": predictor.version,
        "model_load_s": round(load_s, 3),
        "recommend_learned_s": round(learned_s, 3),
        "recommend_learned_no_explanations_s": round(no_explain_s, 3),
        "recommend_baseline_s": round(baseline_s, 3),
        "lightgbm_predict_s": round(lgb_s, 3),
        "lightgbm_rows": rows,
        "overhead_ratio": round(learned_s / lgb_s, 2) if lgb_s else None,
        "goal_s": 5.0,
        "goal_met": learned_s <= 5.0,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{args.profiles} profiles, {candidates:,} candidates ({len(failures)} infeasible), model {predictor.version}")
    print(f"  learned recommend (with explanations): {learned_s:6.2f} s   goal ≤ 5 s: "
          f"{'met' if learned_s <= 5 else 'NOT met'}")
    print(f"  learned recommend (no explanations):   {no_explain_s:6.2f} s")
    print(f"  LightGBM predict on the same matrices: {lgb_s:6.2f} s   ({rows:,} rows)   "
          f"overhead ratio {learned_s / lgb_s:.1f}×")
    print(f"  physics baseline, same optimizer:      {baseline_s:6.2f} s")
    print(f"  model load (verify + parse):           {load_s:6.2f} s")


if __name__ == "__main__":
    main()
