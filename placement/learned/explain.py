"""Plain-words explanations of a learned prediction, from LightGBM's ``pred_contrib``.

LightGBM splits each raw prediction exactly into a base value (the average over the
training data) plus one contribution per feature (TreeSHAP). The saturation model
predicts ln(rps / roofline), so a contribution ``c`` means "this feature multiplies
throughput by e^c": we print it as a percentage. The utilization model is additive in
utilization (percentage points). The success model predicts log-odds; a contribution is
shown as the change in success probability it accounts for.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np

from placement.features import FEATURE_BY_NAME, FeatureSpec


@dataclass(frozen=True)
class Contribution:
    feature: str
    value: float      # the feature's value in the matrix (a code for categoricals)
    shown: str        # the value as a person reads it
    contribution: float


@dataclass(frozen=True)
class Breakdown:
    """One row's raw prediction split exactly into a base value and per-feature contributions."""

    base: float
    raw: float
    names: tuple[str, ...]
    values: np.ndarray
    contrib: np.ndarray
    spec: FeatureSpec

    def top(self, n: int) -> list[Contribution]:
        """The ``n`` largest contributions, largest |contribution| first (ties by name)."""
        # lexsort's last key is the primary one: |contribution| descending, then name.
        order = np.lexsort((_name_ranks(self.names), -np.abs(self.contrib)))[:n]
        return [Contribution(self.names[j], float(self.values[j]), show_value(self.names[j], float(self.values[j]),
                                                                               self.spec), float(self.contrib[j]))
                for j in order]

    @property
    def contributions(self) -> list[Contribution]:
        return self.top(len(self.names))


@functools.lru_cache(maxsize=16)
def _name_ranks(names: tuple[str, ...]) -> np.ndarray:
    """Each name's position in alphabetical order (the tie-break of ``Breakdown.top``)."""
    ranks = np.empty(len(names), dtype=np.int64)
    ranks[sorted(range(len(names)), key=names.__getitem__)] = np.arange(len(names))
    return ranks


def breakdown(booster: lgb.Booster, row: np.ndarray, names: Sequence[str], spec: FeatureSpec) -> Breakdown:
    """Exact additive breakdown of one row's raw prediction (base + Σ contributions == raw)."""
    return breakdowns(booster, np.asarray(row, dtype=np.float64).reshape(1, -1), names, spec, num_threads=1)[0]


def breakdowns(booster: lgb.Booster, rows: np.ndarray, names: Sequence[str], spec: FeatureSpec,
               num_threads: int = 1) -> list[Breakdown]:
    """``breakdown`` of every row of a matrix, in one TreeSHAP call (a call per row costs twice as much)."""
    x = np.asarray(rows, dtype=np.float64)
    if not len(x):
        return []
    contrib = booster.predict(x, pred_contrib=True, num_threads=num_threads)
    # pred_contrib's last column is the base value; each row sums to its raw score by construction.
    return [Breakdown(base=float(c[-1]), raw=float(c.sum()), names=tuple(names), values=x[i].copy(),
                      contrib=c[:-1].copy(), spec=spec) for i, c in enumerate(contrib)]


def show_value(name: str, value: float, spec: FeatureSpec) -> str:
    feature = FEATURE_BY_NAME[name]
    if feature.categorical:
        cats = spec.categories.get(name, ())
        label = feature.label or name
        if math.isnan(value) or not 0 <= int(value) < len(cats):
            return f"{label} unknown"
        return f"{label} {cats[int(value)]}"
    return feature.describe(value)


def throughput_lines(b: Breakdown, top: int = 4, min_effect: float = 0.03) -> list[str]:
    """'GPU memory bandwidth (GB/s) 2,039 (+38% throughput)' for the largest effects."""
    lines = []
    for c in b.top(top):
        effect = math.exp(c.contribution) - 1.0
        if abs(effect) < min_effect:
            continue
        lines.append(f"{c.shown} ({effect:+.0%} throughput)")
    return lines


def utilization_lines(b: Breakdown, top: int = 3, min_points: float = 0.02) -> list[str]:
    """The utilization model is additive in utilization: contributions are percentage points."""
    return [f"{c.shown} ({c.contribution * 100:+.0f} pts)" for c in b.top(top)
            if abs(c.contribution) >= min_points]


def success_lines(b: Breakdown, top: int = 2, min_points: float = 0.005) -> list[str]:
    """The factors that most lower (or raise) predicted success, in percentage points."""
    p = _sigmoid(b.raw)
    lines = []
    for c in b.top(top):
        points = p - _sigmoid(b.raw - c.contribution)
        if abs(points) < min_points:
            continue
        lines.append(f"{c.shown} ({points * 100:+.1f} pts success)")
    return lines


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def summarize_rejections(reasons: Mapping[str, int]) -> str:
    """'cheaper candidates rejected: 41 predicted p95 > SLO, 3 success < 90%'."""
    parts = [f"{n} {reason}" for reason, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])) if n]
    return ", ".join(parts)
