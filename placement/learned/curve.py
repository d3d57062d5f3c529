"""Capacity at the SLO from a latency curve: the highest utilization whose p95 fits the SLO.

The latency model predicts p95 as a correction to a serving curve built from the roofline
(``latency_anchor``): the batch a server needs for its load, and the wait of a multi-server
queue with as many servers as that batch has slots. Reading the curve off a grid of
utilizations is how a capacity planner reads a load test; it is done at training time
to label the throughput model (see ``placement.learned.train``), whose single prediction
then replaces the grid at serving time.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

import lightgbm as lgb
import numpy as np

from placement import features as F

# 95 % is the busiest a replica is ever planned to run (as the logs' own capacity figures).
UTILIZATION_GRID = np.array([0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.88, 0.95])
MAX_UTILIZATION = float(UTILIZATION_GRID[-1])
# A replica that must idle below this to meet the SLO cannot serve it in practice (any burst
# breaks it), and the latency model is least sure there: such hardware is treated as unable.
MIN_SERVING_UTILIZATION = 0.1
MAX_LABEL_UTILIZATION = 0.97
# Rows of ``utilization_at_slo`` read at once (× the grid's 12 points).
CHUNK_ROWS = 8192


LN20 = math.log(20.0)  # p95 of an exponential: the tail of one service time, and of one wait
# What ``latency_anchor`` reads: the whiteboard's idle tail and request slots (CPU rows), and
# the roofline's model copies and time per batch size (GPU rows).
CURVE_COLUMNS = ("physics_tail_ms", "queue_slots", "model_copies", *F.ROOFLINE_BATCH_COLUMNS)


def _mmc_p95(service_ms: np.ndarray, slots: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """Service tail plus the p95 wait of an M/M/c queue (Sakasegawa's P(wait) ≈ ρ^(√(2(c+1)) − 1))."""
    log_wait = (np.sqrt(2.0 * (slots + 1.0)) - 1.0) * np.log(rho)
    wait = service_ms / (slots * (1.0 - rho)) * np.maximum(log_wait + LN20, 0.0)
    return service_ms * LN20 + wait


def latency_anchor(curve: Mapping[str, np.ndarray], utilization: np.ndarray) -> np.ndarray:
    """The roofline's p95 at a utilization (a share of its saturation throughput).

    On a GPU a server picks, for its load, the batch that answers fastest: each batch size b
    is a queue with ``copies × b`` slots, each busy for the whole batch's time. At low load
    that is a batch of one, near saturation the largest batch; p95 grows between the two as
    the batch must grow, and only near the top of each batch's capacity from queueing. The
    anchor is the best batch's service tail plus M/M/c wait. CPU rows (no batch times) are
    one queue with the whiteboard's slots and service time.

    The latency model learns the correction to it, so its extrapolation towards the knee of
    the curve (where few logs are) follows serving physics instead of staying flat.
    """
    rho = np.clip(np.asarray(utilization, dtype=float), 1e-6, MAX_LABEL_UTILIZATION)
    n = rho.shape[0]

    def column(name: str) -> np.ndarray:
        return np.broadcast_to(np.asarray(curve[name], dtype=float), (n,))

    out = _mmc_p95(column("physics_tail_ms") / LN20, np.maximum(column("queue_slots"), 1.0), rho)
    batch_ms = np.column_stack([column(name) for name in F.ROOFLINE_BATCH_COLUMNS])
    gpu = np.flatnonzero(np.isfinite(batch_ms).any(axis=1))
    if len(gpu):
        service = batch_ms[gpu]
        slots = np.maximum(column("model_copies")[gpu], 1.0)[:, None] * F.ROOFLINE_BATCHES[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.nan_to_num(slots / service, nan=0.0)
            load = rho[gpu] * rate.max(axis=1)
            rho_b = load[:, None] / rate
            stable = rho_b < 0.999
            p95 = _mmc_p95(np.where(stable, service, 1.0), slots, np.where(stable, np.maximum(rho_b, 1e-6), 0.5))
        out[gpu] = np.where(stable, p95, np.inf).min(axis=1)
    return out


def p95_at(latency: lgb.Booster, matrix: np.ndarray, utilization_column: int, curve: Mapping[str, np.ndarray],
           utilization: np.ndarray, num_threads: int = 1) -> np.ndarray:
    """Predicted p95 (ms) of each row of ``matrix`` at its ``utilization`` (the column is overwritten);
    ``curve`` holds the rows' ``CURVE_COLUMNS``."""
    matrix[:, utilization_column] = utilization
    raw = latency.predict(matrix, raw_score=True, num_threads=num_threads)
    return latency_anchor(curve, utilization) * np.exp(raw)


def utilization_at_slo(latency: lgb.Booster, matrix: np.ndarray, utilization_column: int,
                       curve: Mapping[str, np.ndarray], slo_ms: np.ndarray, num_threads: int = 1) -> np.ndarray:
    """The highest utilization whose predicted p95 is within the SLO, per row (0: none is).

    The last grid point before p95 first exceeds the SLO, refined by interpolating ln p95
    to the next point and checked (interpolation can overshoot where the curve bends).
    Rows are read in chunks: the grid repeats each row once per grid point, which for the
    ~80,000 rows training reads would otherwise hold a gigabyte at once. Every row's answer
    is its own, so chunking changes no figure.
    """
    n = len(matrix)
    slo = np.broadcast_to(np.asarray(slo_ms, dtype=float), (n,))
    full = {name: np.broadcast_to(np.asarray(curve[name], dtype=float), (n,)) for name in CURVE_COLUMNS}
    parts = [_utilization_at_slo(latency, matrix[i:i + CHUNK_ROWS], utilization_column,
                                 {name: v[i:i + CHUNK_ROWS] for name, v in full.items()}, slo[i:i + CHUNK_ROWS],
                                 num_threads) for i in range(0, n, CHUNK_ROWS)]
    return np.concatenate(parts) if parts else np.zeros(0)


def _utilization_at_slo(latency: lgb.Booster, matrix: np.ndarray, utilization_column: int,
                        curve: Mapping[str, np.ndarray], slo_ms: np.ndarray, num_threads: int) -> np.ndarray:
    n, k = len(matrix), len(UTILIZATION_GRID)
    grid = np.repeat(matrix, k, axis=0)
    grid_curve = {name: np.repeat(np.broadcast_to(curve[name], (n,)), k) for name in CURVE_COLUMNS}
    p95 = p95_at(latency, grid, utilization_column, grid_curve, np.tile(UTILIZATION_GRID, n),
                 num_threads).reshape(n, k)
    slo = np.broadcast_to(np.asarray(slo_ms, dtype=float), (n,))
    over = p95 > slo[:, None]
    first_over = np.where(over.any(axis=1), over.argmax(axis=1), k)
    last_ok = first_over - 1
    utilization = np.where(last_ok >= 0, UTILIZATION_GRID[np.maximum(last_ok, 0)], 0.0)
    inside = np.flatnonzero((last_ok >= 0) & (first_over < k))
    if len(inside):
        lo_u, hi_u = UTILIZATION_GRID[last_ok[inside]], UTILIZATION_GRID[first_over[inside]]
        lo_p, hi_p = np.log(p95[inside, last_ok[inside]]), np.log(p95[inside, first_over[inside]])
        frac = np.clip((np.log(slo[inside]) - lo_p) / np.maximum(hi_p - lo_p, 1e-12), 0.0, 1.0)
        refined = lo_u + frac * (hi_u - lo_u)
        inside_curve = {name: np.broadcast_to(curve[name], (n,))[inside] for name in CURVE_COLUMNS}
        check = p95_at(latency, matrix[inside].copy(), utilization_column, inside_curve, refined, num_threads)
        utilization[inside] = np.where(check <= slo[inside], refined, lo_u)
    return np.where(utilization < MIN_SERVING_UTILIZATION, 0.0, utilization)

