"""Plain-words explanations of a learned placement, from LightGBM's ``pred_contrib``.

LightGBM splits each raw prediction exactly into a base value (the average over the
training data) plus one contribution per feature (TreeSHAP). The saturation model
predicts ln(rps / roofline), so a contribution ``c`` means "this feature multiplies
throughput by e^c": we print it as a percentage. The utilization model is additive in
utilization (percentage points). The success model predicts log-odds; a contribution is
shown as the change in success probability it accounts for.

``LearnedExplainer`` turns a placement the optimizer made with a ``LearnedPredictor`` into
lines; it reads the predictor's own input rows (``explained_rows``), so the predictor
knows nothing of placements, explanations or the optimizer.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np

from placement.features import FEATURE_BY_NAME, FeatureSpec
from placement.learned.predictor import MODELS, LearnedPredictor
from placement.optimizer import Scored, sizing_line
from placement.types import ModelProfile, ModelSpec, Offering, Purchase


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


class LearnedExplainer:
    """``Explain`` and ``ExplainBatch`` for placements made with a ``LearnedPredictor``:
    why this throughput, latency and risk (TreeSHAP attributions), then sizing and cost."""

    def __init__(self, predictor: LearnedPredictor) -> None:
        self.predictor = predictor

    def breakdowns(self, profile: ModelProfile, offering: Offering, purchase: Purchase,
                   models: Sequence[str] = MODELS) -> tuple[dict[str, Breakdown], float]:
        """Exact per-feature breakdowns of each model's raw prediction for one candidate, and the
        roofline saturation the saturation model corrects."""
        p = self.predictor
        rows, roofline = p.explained_rows([(profile, offering, purchase)], models)
        return ({model: breakdown(p.bundle.boosters[model], row[0], p.feature_names[model], p.bundle.spec)
                 for model, row in rows.items()}, float(roofline[0]))

    def explain(self, spec: ModelSpec, best: Scored, feasible: Sequence[Scored]) -> tuple[str, ...]:
        """Explanation lines: why this throughput, latency and risk; then sizing and cost."""
        return self.explain_all([(spec, best, feasible)])[0]

    def explain_all(self, items: Sequence[tuple[ModelSpec, Scored, Sequence[Scored]]]) -> list[tuple[str, ...]]:
        """``explain`` for many placements, with one TreeSHAP call per model for all of them."""
        if not items:
            return []
        # The latency model's attribution is not shown: TreeSHAP costs ~1 ms per model and row.
        models = ("saturation", "slo_utilization", "success")
        p = self.predictor
        rows, rooflines = p.explained_rows(
            [(spec.profile, best.candidate.offering, best.candidate.purchase) for spec, best, _ in items], models)
        parts = {m: breakdowns(p.bundle.boosters[m], rows[m], p.feature_names[m], p.bundle.spec,
                               num_threads=p.num_threads) for m in models}
        return [self._lines(spec, best, feasible, {m: parts[m][i] for m in models}, float(rooflines[i]))
                for i, (spec, best, feasible) in enumerate(items)]

    def _lines(self, spec: ModelSpec, best: Scored, feasible: Sequence[Scored], parts: dict[str, Breakdown],
               roofline: float) -> tuple[str, ...]:
        c = best.choice
        assert c is not None
        o = best.candidate.offering
        p = self.predictor
        sat = parts["saturation"]
        util = parts["slo_utilization"]
        saturation = roofline * math.exp(sat.raw)
        rps = best.prediction.rps_per_replica
        task = spec.profile.task.value
        margin_source = (f"the margin calibrated for {task} models" if task in p.throughput_margins_by_task
                         else "the fleet-wide margin")
        lines = [
            f"throughput: {rps:,.2f} rps per replica at p95 ≤ {spec.slo_p95_latency_ms:g} ms on {o.display_type} = "
            f"saturation {saturation:,.3g} rps × {rps / saturation:.0%} utilization; sized at "
            f"{p.throughput_margin_for(spec.profile):.0%} of it ({c.predicted_rps_per_replica:,.2f} rps, "
            f"{margin_source})",
            f"  saturation is {math.exp(sat.raw):.3g}× the roofline estimate of {roofline:,.3g} rps "
            f"(a typical training deployment: {math.exp(sat.base):.3g}×)"
            + (f", because {'; '.join(throughput_lines(sat))}" if throughput_lines(sat) else ""),
            f"  the SLO allows {min(util.raw, 0.95):.0%} utilization (typical: {util.base:.0%})"
            + (f", because {'; '.join(utilization_lines(util))}" if utilization_lines(util) else ""),
        ]
        lines.append(f"latency: predicted p95 {c.predicted_p95_latency_ms:,.0f} ms at the planned load "
                     f"(SLO {spec.slo_p95_latency_ms:g} ms; the model's {p.latency_quantile:.0%} quantile)")
        risk = success_lines(parts["success"])
        lines.append(f"risk: {best.prediction.success_probability:.1%} predicted to come up and serve (no OOM, "
                     f"capacity shortage or crash loop)" + (f"; {'; '.join(risk)}" if risk else ""))
        lines.append(sizing_line(spec, c))
        lines.append(f"cost: cheapest of {len(feasible)} feasible candidates at ${c.monthly_cost_usd:,.0f}/month "
                     f"({c.purchase.value.replace('_', '-')}, spot policy: {spec.spot.value})")
        return tuple(lines)
