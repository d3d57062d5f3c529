"""Fit the world's free constants to measured benchmark throughput (pure: tables in, numbers out).

What is compared
    Every row of the benchmark table (``history/data/benchmarks.csv``, see BENCHMARKS.md
    beside it) is one model profile on one benchmark machine (``gpus`` accelerators of one
    kind, bare metal). The world predicts that machine's saturation throughput for the
    profile — its best batch, no latency bound — per accelerator. A benchmark is a
    *ceiling*: a tuned TensorRT(-LLM) engine, the best batch, a bare-metal server. The world
    is production serving on cloud VMs, so its TensorRT replica is taken to reach
    ``PRODUCTION_SHARE`` of the ceiling (virtualised hosts, traffic that is not one fixed
    shape, engines not re-tuned per release); other frameworks reach less through their
    own efficiencies (``history.world.FRAMEWORKS``). Server/Interactive rows (a latency
    bound) reach a further fitted share of the Offline ceiling.

What is fitted
    Log-multipliers (``WorldParams``): compute efficiency and memory-bandwidth efficiency
    per GPU generation, work per request per task, and the server share. Least squares on
    log(predicted ÷ measured) with a weak Gaussian prior pulling every multiplier to 1, so a
    constant the table does not inform (a task no benchmark covers, a generation without
    rows) stays at the whiteboard figure. Deterministic: same table, same constants.

Leave-one-benchmark-out
    For each benchmark (a model: GPT-J, Llama 3.3 70B, DLRM v2, …), fit on the others and
    predict its rows. Error of a row = max(p/m, m/p) − 1.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from history.world import World, WorldParams, service_model
from placement.errors import InputError
from placement.types import Cloud, GpuSpec, Offering

PRODUCTION_SHARE = 0.85
PRIOR_WEIGHT = 1.0          # a prior σ of 1 in log units per multiplier (≈ ×2.7): weak beside 382 rows
# Physical bounds on the multipliers: the whiteboard MFU (0.40–0.50) times the framework's
# efficiency can reach 100 % of the datasheet at most, bandwidth efficiency (0.8 for
# TensorRT) at most ~100 % of peak; work per request within 20× of the derivation; a
# latency-bounded scenario between 20 % and 100 % of the offline ceiling.
BOUNDS = {"compute": (0.2, 2.2), "bandwidth": (0.3, 1.25), "work": (0.05, 20.0), "precision": (0.2, 2.0),
          "server": (0.2, 1.0), "old_software": (0.2, 1.0)}
# Low-precision tensor paths get their own rate (fp16/bf16 stay at the generation's figure).
FITTED_PRECISIONS = ("fp8", "int4", "int8")
# Serving software improves between rounds (GPT-J on H100: 13 samples/s in MLPerf v3.1, 30 in
# v4.0): rows from rounds before v4.0 reach a fitted share of today's ceiling.
OLD_ROUNDS = ("v2.0", "v2.1", "v3.0", "v3.1")
SIGNIFICANT = 4             # fitted multipliers are rounded (a stable file for a stable table)
REQUIRED = ("benchmark", "scenario", "accelerator", "gpus", "task", "framework", "params_millions",
            "precision", "measured_rps_per_gpu", "gpu_memory_gib", "gpu_bandwidth_gbps", "gpu_fp16_tflops",
            "gpu_fp32_tflops", "gpu_architecture", "nvlink")
PROFILE_OPTIONAL = ("active_params_millions", "input_tokens", "output_tokens", "gflops_per_request", "steps")


@dataclass(frozen=True)
class Fit:
    params: WorldParams
    server_share: float
    old_share: float
    table_rows: int


def read_benchmarks(path: str | Path) -> pd.DataFrame:
    """The benchmark table, checked: InputError naming the file and the problem."""
    p = Path(path)
    try:
        table = pd.read_csv(p, keep_default_na=True)
    except FileNotFoundError:
        raise InputError(f"{p}: benchmark table not found") from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputError(f"{p}: cannot read benchmark table: {exc}") from None
    missing = [c for c in REQUIRED if c not in table.columns]
    if missing:
        raise InputError(f"{p}: missing column(s) {', '.join(missing)}")
    rps = pd.to_numeric(table["measured_rps_per_gpu"], errors="coerce")
    bad = table.index[~(rps > 0)]
    if len(bad):
        raise InputError(f"{p}: row {bad[0] + 2}: measured_rps_per_gpu must be a number > 0")
    gpus = pd.to_numeric(table["gpus"], errors="coerce")
    bad = table.index[~(gpus >= 1)]
    if len(bad):
        raise InputError(f"{p}: row {bad[0] + 2}: gpus must be ≥ 1")
    if len(table) == 0:
        raise InputError(f"{p}: no rows")
    return table


def benchmark_profiles(table: pd.DataFrame) -> pd.DataFrame:
    """The rows as world profile columns (the world's ``profile_frame`` vocabulary)."""
    out = pd.DataFrame({
        "task": table["task"].astype(str), "framework": table["framework"].astype(str),
        "params_millions": pd.to_numeric(table["params_millions"]).astype(float),
        "precision": table["precision"].astype(str), "memory_gib": 1.0,
        "slo_p95_latency_ms": 1e9,   # a ceiling: no latency bound
    })
    for name in PROFILE_OPTIONAL:
        out[name] = pd.to_numeric(table[name], errors="coerce") if name in table.columns else np.nan
    side = pd.to_numeric(table["image_size"], errors="coerce") if "image_size" in table.columns else np.nan
    out["image_height"] = side
    out["image_width"] = side
    return out


def benchmark_offerings(table: pd.DataFrame) -> list[Offering]:
    """A bare-metal benchmark machine per row: ``gpus`` accelerators and a generous host."""
    out = []
    for row in table.itertuples(index=False):
        int8 = float(row.gpu_int8_tops) if pd.notna(row.gpu_int8_tops) and row.gpu_int8_tops != "" else None
        gpu = GpuSpec(name=str(row.accelerator), memory_gib=float(row.gpu_memory_gib),
                      memory_bandwidth_gbps=float(row.gpu_bandwidth_gbps), fp16_tflops=float(row.gpu_fp16_tflops),
                      fp32_tflops=float(row.gpu_fp32_tflops), int8_tops=int8,
                      architecture=str(row.gpu_architecture))
        gpus = int(row.gpus)
        out.append(Offering(cloud=Cloud.AWS, region="benchmark", instance_type=f"bench-{row.accelerator}x{gpus}",
                            family="benchmark", vcpus=32 * gpus, memory_gib=256.0 * gpus, arch="x86_64",
                            price_hour_usd=1.0, spot_price_hour_usd=None, accelerator=str(row.accelerator),
                            accelerator_count=float(gpus), accelerator_memory_gib=float(row.gpu_memory_gib), gpu=gpu))
    return out


class Problem:
    """The table's fixed inputs, built once; ``predict`` runs the world for a set of constants."""

    def __init__(self, table: pd.DataFrame) -> None:
        self.table = table.reset_index(drop=True)
        self.profiles = benchmark_profiles(self.table)
        self.offerings = benchmark_offerings(self.table)
        self.nvlink = self.table["nvlink"].astype(str).str.lower().isin(("true", "1")).to_numpy()
        self.gpus = pd.to_numeric(self.table["gpus"]).to_numpy(dtype=float)
        self.measured = pd.to_numeric(self.table["measured_rps_per_gpu"]).to_numpy(dtype=float)
        self.server = self.table["scenario"].astype(str).isin(("Server", "Interactive")).to_numpy()
        rounds = self.table["round"].astype(str) if "round" in self.table.columns else pd.Series([""] * len(table))
        self.old = rounds.isin(OLD_ROUNDS).to_numpy()
        self.benchmark = self.table["benchmark"].astype(str).to_numpy()
        self.generations = tuple(sorted(set(self.table["gpu_architecture"].astype(str))))
        self.tasks = tuple(sorted(set(self.table["task"].astype(str))))
        self.arch = self.table["gpu_architecture"].astype(str).to_numpy()
        # The machines' physics columns at unit multipliers, built once (``predict`` scales them).
        off = World(catalog=None, params=WorldParams()).offering_frame(self.offerings)
        off["speed"] = 1.0                 # no host-generation noise on a benchmark machine
        off["nvlink"] = self.nvlink
        self.machines = off

    def predict(self, params: WorldParams, server_share: float, old_share: float = 1.0) -> np.ndarray:
        """Predicted ceiling throughput (requests/s per accelerator) of every row."""
        off = self.machines.copy()
        off["gpu_mfu"] = off["gpu_mfu"].to_numpy() * np.array([params.of("compute", a) for a in self.arch])
        off["gpu_bw_eff"] = np.array([params.of("bandwidth", a) for a in self.arch])
        rps = service_model(self.profiles, off, params).device_max_rps
        return (rps / self.gpus / PRODUCTION_SHARE * np.where(self.server, server_share, 1.0)
                * np.where(self.old, old_share, 1.0))


def _unpack(theta: np.ndarray, generations: Sequence[str], tasks: Sequence[str]
            ) -> tuple[WorldParams, float, float]:
    g, t, p = len(generations), len(tasks), len(FITTED_PRECISIONS)
    compute = tuple((name, float(np.exp(v))) for name, v in zip(generations, theta[:g]))
    bandwidth = tuple((name, float(np.exp(v))) for name, v in zip(generations, theta[g:2 * g]))
    work = tuple((name, float(np.exp(v))) for name, v in zip(tasks, theta[2 * g:2 * g + t]))
    precision = tuple((name, float(np.exp(v))) for name, v in zip(FITTED_PRECISIONS, theta[2 * g + t:2 * g + t + p]))
    params = WorldParams(compute=compute, bandwidth=bandwidth, work=work, precision=precision)
    return params, float(np.exp(theta[-2])), float(np.exp(theta[-1]))


def _rounded(params: WorldParams, server_share: float, old_share: float) -> tuple[WorldParams, float, float]:
    def r(x: float) -> float:
        return float(f"{x:.{SIGNIFICANT}g}")

    def each(pairs: tuple[tuple[str, float], ...]) -> tuple[tuple[str, float], ...]:
        return tuple((k, r(v)) for k, v in pairs)
    return (replace(params, compute=each(params.compute), bandwidth=each(params.bandwidth),
                    work=each(params.work), precision=each(params.precision)), r(server_share), r(old_share))


def fit(problem: Problem, rows: np.ndarray | None = None) -> Fit:
    """Constants that best explain ``rows`` of the table (default: all of them)."""
    from scipy.optimize import least_squares

    rows = np.arange(len(problem.measured)) if rows is None else rows
    sub = _subset(problem, rows)
    gens, tasks = problem.generations, problem.tasks
    groups = (["compute"] * len(gens) + ["bandwidth"] * len(gens) + ["work"] * len(tasks)
              + ["precision"] * len(FITTED_PRECISIONS) + ["server", "old_software"])
    n_params = len(groups)
    log_measured = np.log(sub.measured)

    def residuals(theta: np.ndarray) -> np.ndarray:
        params, share, old = _unpack(theta, gens, tasks)
        predicted = np.maximum(sub.predict(params, share, old), 1e-12)
        return np.concatenate([np.log(predicted) - log_measured, PRIOR_WEIGHT * theta])

    low = np.log([BOUNDS[g][0] for g in groups])
    high = np.log([BOUNDS[g][1] for g in groups])
    start = np.clip(np.zeros(n_params), low + 0.05, high - 0.05)  # strictly inside the bounds
    result = least_squares(residuals, start, bounds=(low, high), method="trf",
                           diff_step=1e-3, x_scale=1.0, ftol=1e-5, xtol=1e-5, max_nfev=60)
    params, share, old = _rounded(*_unpack(result.x, gens, tasks))
    return Fit(params=params, server_share=share, old_share=old, table_rows=len(rows))


def _subset(problem: Problem, rows: np.ndarray) -> Problem:
    sub = object.__new__(Problem)
    sub.table = problem.table.iloc[rows].reset_index(drop=True)
    sub.profiles = problem.profiles.iloc[rows].reset_index(drop=True)
    sub.offerings = [problem.offerings[i] for i in rows]
    sub.machines = problem.machines.iloc[rows].reset_index(drop=True)
    for name in ("nvlink", "gpus", "measured", "server", "old", "benchmark", "arch"):
        setattr(sub, name, getattr(problem, name)[rows])
    sub.generations, sub.tasks = problem.generations, problem.tasks
    return sub


def row_errors(predicted: np.ndarray, measured: np.ndarray) -> np.ndarray:
    """max(p/m, m/p) − 1 per row (inf where the world predicts nothing)."""
    with np.errstate(divide="ignore"):
        ratio = np.where(predicted > 0, predicted / measured, np.inf)
    return np.maximum(ratio, 1.0 / ratio) - 1.0


def leave_one_benchmark_out(problem: Problem) -> np.ndarray:
    """Each row's prediction from constants fitted without its benchmark."""
    out = np.empty(len(problem.measured))
    for name in sorted(set(problem.benchmark)):
        held = np.flatnonzero(problem.benchmark == name)
        others = np.flatnonzero(problem.benchmark != name)
        f = fit(problem, others)
        out[held] = _subset(problem, held).predict(f.params, f.server_share, f.old_share)
    return out


def summary(problem: Problem, predicted: np.ndarray) -> dict:
    """Median/p90 error overall, per benchmark and per accelerator (JSON-ready)."""
    err = row_errors(predicted, problem.measured)

    def stats(mask: np.ndarray) -> dict:
        e = err[mask]
        return {"rows": int(mask.sum()), "median_error": _num(np.median(e)), "p90_error": _num(np.quantile(e, 0.9))}

    accel = problem.table["accelerator"].astype(str).to_numpy()
    return {
        **stats(np.ones(len(err), dtype=bool)),
        "per_benchmark": {b: stats(problem.benchmark == b) for b in sorted(set(problem.benchmark))},
        "per_accelerator": {a: stats(accel == a) for a in sorted(set(accel))},
    }


def _num(x: float) -> float | None:
    return None if not np.isfinite(x) else round(float(x), 4)
