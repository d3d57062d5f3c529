"""The calibrated world: its constants fitted to public benchmarks, stored hashed and versioned.

Layout of a calibration file (``history/data/world.json`` is the bundled one)::

    {"format": 1, "world_version": "w1-<12 hex>", "params": {...WorldParams.to_dict()},
     "fit": {...how it was fitted: rows, benchmarks, table sha256}, "sha256": "<hex>"}

``sha256`` covers the canonical JSON (sorted keys, no spaces) of everything else, so a hand
edit is refused when the file is read; ``world_version`` is derived from the params, so
the same benchmark table always gives the same file (and the same version).
"""
from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from importlib import resources
from pathlib import Path

from history.world import WorldParams
from placement.errors import InputError

CALIBRATION_FORMAT = 1
BUNDLED_WORLD_FILE = "data/world.json"


def _canonical(data: dict) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def world_version(params: WorldParams) -> str:
    """A name for a set of constants: the same constants, the same name."""
    body = params.to_dict()
    body.pop("version")
    return "w1-" + hashlib.sha256(_canonical(body)).hexdigest()[:12]


def calibration_document(params: WorldParams, fit: dict) -> dict:
    """The file's content for ``params`` (renamed to their version) and a description of the fit."""
    version = world_version(params)
    body = {"format": CALIBRATION_FORMAT, "world_version": version,
            "params": {**params.to_dict(), "version": version}, "fit": fit}
    return {**body, "sha256": hashlib.sha256(_canonical(body)).hexdigest()}


def calibration_bytes(document: dict) -> bytes:
    return (json.dumps(document, sort_keys=True, indent=2, ensure_ascii=True) + "\n").encode()


def parse_calibration(text: str, source: str) -> WorldParams:
    """WorldParams of a calibration file; InputError when it is malformed or was edited."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{source}: not a calibration file (invalid JSON: {exc.msg}, line {exc.lineno})") from None
    if not isinstance(data, dict) or "sha256" not in data or "params" not in data:
        raise InputError(f"{source}: not a calibration file (no params or sha256)")
    if data.get("format") != CALIBRATION_FORMAT:
        raise InputError(f"{source}: calibration format {data.get('format')!r} (this roost reads {CALIBRATION_FORMAT})")
    body = {k: v for k, v in data.items() if k != "sha256"}
    if hashlib.sha256(_canonical(body)).hexdigest() != data["sha256"]:
        raise InputError(f"{source}: calibration file was edited (sha256 mismatch); "
                         "re-run `roost calibrate` instead of editing it")
    try:
        params = WorldParams.from_dict(data["params"])
    except (TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"{source}: malformed calibration params: {exc}") from None
    if params.version != data.get("world_version") or world_version(params) != params.version:
        raise InputError(f"{source}: world_version does not match its params")
    return params


def load_calibration(path: str | Path) -> WorldParams:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{p}: cannot read calibration file: {exc.strerror or exc}") from None
    return parse_calibration(text, str(p))


@lru_cache(maxsize=1)
def bundled_world_params() -> WorldParams:
    """The calibration shipped with roost (the uncalibrated whiteboard world if none is)."""
    ref = resources.files("history").joinpath(BUNDLED_WORLD_FILE)
    if not ref.is_file():
        return WorldParams()
    return parse_calibration(ref.read_text(encoding="utf-8"), f"history/{BUNDLED_WORLD_FILE}")


BUNDLED_BENCHMARKS_FILE = "data/benchmarks.csv"


def bundled_benchmarks_path() -> Path:
    return Path(str(resources.files("history").joinpath(BUNDLED_BENCHMARKS_FILE)))


def bundled_world_path() -> Path:
    return Path(str(resources.files("history").joinpath(BUNDLED_WORLD_FILE)))


def _table_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def calibrate(benchmarks: str | Path | None = None) -> tuple[dict, dict]:
    """Fit the world to a benchmark table: (calibration document, in-sample summary)."""
    from history.calibration_fit import PRODUCTION_SHARE, Problem, fit, read_benchmarks, summary

    path = Path(benchmarks) if benchmarks else bundled_benchmarks_path()
    problem = Problem(read_benchmarks(path))
    result = fit(problem)
    described = {"benchmark_table_sha256": _table_sha256(path), "rows": result.table_rows,
                 "benchmarks": sorted(set(problem.benchmark)), "server_share": result.server_share,
                 "old_software_share": result.old_share,
                 "production_share": PRODUCTION_SHARE}
    document = calibration_document(result.params, described)
    return document, summary(problem, problem.predict(result.params, result.server_share, result.old_share))


def check(benchmarks: str | Path | None = None, params: WorldParams | None = None) -> dict:
    """Leave-one-benchmark-out error of calibrating on a table (fits nothing that is kept).

    The JSON contract of ``roost calibrate --check --json``: rows, benchmarks,
    leave_one_benchmark_out {median_error, p90_error, per_benchmark, per_accelerator},
    world_version (of the calibration in use).
    """
    from history.calibration_fit import Problem, leave_one_benchmark_out, read_benchmarks, summary

    path = Path(benchmarks) if benchmarks else bundled_benchmarks_path()
    problem = Problem(read_benchmarks(path))
    lobo = summary(problem, leave_one_benchmark_out(problem))
    params = params or bundled_world_params()
    return {"rows": lobo.pop("rows"), "benchmarks": sorted(set(problem.benchmark)),
            "leave_one_benchmark_out": {"median_error": lobo["median_error"], "p90_error": lobo["p90_error"],
                                        "per_benchmark": lobo["per_benchmark"],
                                        "per_accelerator": lobo["per_accelerator"]},
            "world_version": params.version, "benchmark_table_sha256": _table_sha256(path)}


def learned_check(bundle, catalog, benchmarks: str | Path | None = None) -> dict:
    """The learned model's own saturation throughput for each Offline benchmark row on a
    catalog offering with the benchmark's accelerators, against the measurement.

    Same mapping as the world's (``calibration_fit``): prediction ÷ GPUs ÷ the production
    share is the predicted ceiling. Rows whose accelerator (or GPU count) no catalog
    offering carries are skipped and counted.
    """
    import numpy as np

    from history.calibration_fit import PRODUCTION_SHARE, read_benchmarks, row_errors
    from placement import features as F
    from placement.types import ModelProfile, Precision, Task
    from placement.workload import derived_memory_gib

    path = Path(benchmarks) if benchmarks else bundled_benchmarks_path()
    table = read_benchmarks(path)
    table = table[(table["scenario"] == "Offline") & table["catalog_accelerator"].notna()].reset_index(drop=True)
    machines = {}
    for o in catalog.offerings:
        if o.accelerator and float(o.accelerator_count).is_integer():
            machines.setdefault((o.accelerator, int(o.accelerator_count)), o)
    rows, offerings, profiles = [], [], []
    for i, r in table.iterrows():
        machine = machines.get((str(r["catalog_accelerator"]), int(r["gpus"])))
        if machine is None:
            continue

        def opt(name: str, cast=float, row=r):
            value = row.get(name)
            return None if value is None or (isinstance(value, float) and np.isnan(value)) else cast(value)
        task, precision = Task(str(r["task"])), Precision(str(r["precision"]))
        side = opt("image_size", int)
        profiles.append(ModelProfile(
            task=task, framework=str(r["framework"]), params_millions=float(r["params_millions"]),
            precision=precision, peak_rps=1.0, slo_p95_latency_ms=1e7,
            memory_gib=derived_memory_gib(task, float(r["params_millions"]), precision,
                                          opt("input_tokens", int), opt("output_tokens", int)),
            input_tokens=opt("input_tokens", int), output_tokens=opt("output_tokens", int),
            image_size=(side, side) if side else None, steps=opt("steps", int),
            active_params_millions=opt("active_params_millions"), gflops_per_request=opt("gflops_per_request")))
        offerings.append(machine)
        rows.append(i)
    cols = {k: np.asarray(v) for k, v in F.offering_columns(offerings).items()}
    cols.update(F.profiles_columns(profiles))
    feats = F.derive(cols, bundle.spec)
    names = bundle.spec.names(bundle.feature_groups["saturation"])
    raw = bundle.boosters["saturation"].predict(F.matrix(feats, names), raw_score=True)
    saturation = feats["saturation_anchor_rps"] * np.exp(raw)
    used = table.iloc[rows].reset_index(drop=True)
    predicted = saturation / used["gpus"].to_numpy(dtype=float) / PRODUCTION_SHARE
    measured = used["measured_rps_per_gpu"].to_numpy(dtype=float)
    err = row_errors(predicted, measured)

    def stats(mask) -> dict:
        e = err[mask]
        return {"rows": int(mask.sum()), "median_error": round(float(np.median(e)), 4),
                "p90_error": round(float(np.quantile(e, 0.9)), 4)} if mask.any() else {"rows": 0}
    bench = used["benchmark"].astype(str).to_numpy()
    accel = used["accelerator"].astype(str).to_numpy()
    return {"rows": len(used), "skipped_rows": int(len(table) - len(used)), **stats(np.ones(len(err), bool)),
            "per_benchmark": {b: stats(bench == b) for b in sorted(set(bench))},
            "per_accelerator": {a: stats(accel == a) for a in sorted(set(accel))}}
