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
