"""Capacity at the SLO from a latency curve: the highest utilization whose p95 fits the SLO.

The latency model predicts p95 as a correction to a textbook queueing curve
(``latency_anchor``): the idle tail plus the wait of a multi-server queue with as many
servers as the replica has request slots. Reading the curve off a grid of
utilizations is how a capacity planner reads a load test; it is done at training time
to label the throughput model (see ``placement.learned.train``), whose single prediction
then replaces the grid at serving time.
"""
from __future__ import annotations

import math

import lightgbm as lgb
import numpy as np

# 95 % is the busiest a replica is ever planned to run (as the logs' own capacity figures).
UTILIZATION_GRID = np.array([0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.88, 0.95])
MAX_UTILIZATION = float(UTILIZATION_GRID[-1])
# A replica that must idle below this to meet the SLO cannot serve it in practice (any burst
# breaks it), and the latency model is least sure there: such hardware is treated as unable.
MIN_SERVING_UTILIZATION = 0.1
MAX_LABEL_UTILIZATION = 0.97


LN20 = math.log(20.0)  # p95 of an exponential: the tail of one service time, and of one wait


def latency_anchor(tail_ms: np.ndarray, utilization: np.ndarray, slots: np.ndarray) -> np.ndarray:
    """The roofline's p95 at a utilization: the idle tail plus the p95 wait of an M/M/c queue
    with ``slots`` servers (Sakasegawa's P(wait) ≈ ρ^(√(2(c+1)) − 1)).

    The latency model learns the correction to it, so its extrapolation towards the knee of
    the curve (where few logs are) follows queueing physics instead of staying flat. The number
    of servers matters most there: a replica batching 64 requests barely queues at 90 %
    utilization, where a single-server curve (idle tail / (1 − ρ)) has grown tenfold and read
    the SLO as reached long before it is.
    """
    rho = np.clip(utilization, 1e-6, MAX_LABEL_UTILIZATION)
    slots = np.maximum(slots, 1.0)
    service = tail_ms / LN20
    log_wait = (np.sqrt(2.0 * (slots + 1.0)) - 1.0) * np.log(rho)
    wait = service / (slots * (1.0 - rho)) * np.maximum(log_wait + LN20, 0.0)
    return tail_ms + wait


def p95_at(latency: lgb.Booster, matrix: np.ndarray, utilization_column: int, tail_ms: np.ndarray,
           slots: np.ndarray, utilization: np.ndarray, num_threads: int = 1) -> np.ndarray:
    """Predicted p95 (ms) of each row of ``matrix`` at its ``utilization`` (the column is overwritten)."""
    matrix[:, utilization_column] = utilization
    raw = latency.predict(matrix, raw_score=True, num_threads=num_threads)
    return latency_anchor(tail_ms, utilization, slots) * np.exp(raw)


def utilization_at_slo(latency: lgb.Booster, matrix: np.ndarray, utilization_column: int, tail_ms: np.ndarray,
                       slots: np.ndarray, slo_ms: np.ndarray, num_threads: int = 1) -> np.ndarray:
    """The highest utilization whose predicted p95 is within the SLO, per row (0: none is).

    The last grid point before p95 first exceeds the SLO, refined by interpolating ln p95
    to the next point and checked (interpolation can overshoot where the curve bends).
    """
    n, k = len(matrix), len(UTILIZATION_GRID)
    if n == 0:
        return np.zeros(0)
    grid = np.repeat(matrix, k, axis=0)
    p95 = p95_at(latency, grid, utilization_column, np.repeat(tail_ms, k), np.repeat(slots, k),
                 np.tile(UTILIZATION_GRID, n), num_threads).reshape(n, k)
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
        check = p95_at(latency, matrix[inside].copy(), utilization_column, tail_ms[inside], slots[inside], refined,
                       num_threads)
        utilization[inside] = np.where(check <= slo[inside], refined, lo_u)
    return np.where(utilization < MIN_SERVING_UTILIZATION, 0.0, utilization)

