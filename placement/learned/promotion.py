"""Champion against challenger: scored on the same outcomes, promoted only when not worse.

A model's score on a set of outcomes is its median |error| of capacity (saturation
throughput from utilization at a known load) and of p95 latency, as ``roost drift``
measures them. The challenger is *not worse* on a set when neither median is more than
``tolerance_pct`` points above the champion's; promotion needs that on both sets: the
held-out set (profiles the challenger never trained on) and the most recent outcomes.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from placement.learned import train as T
from placement.learned.drift import prediction_errors
from placement.learned.registry import ModelBundle
from placement.types import Offering

METRICS = ("capacity", "latency")
TOLERANCE_PCT = 1.0


def score(bundle: ModelBundle, log: pd.DataFrame, offerings: Sequence[Offering]) -> dict:
    """Median and p90 |error| (%) of capacity and latency, and how many deployments they cover."""
    data = T.prepare(log, offerings, bundle.spec, content_hash=False)
    out: dict = {"deployments": int(len(data.labels[T.SATURATION].rows)), "profiles": data.profiles}
    for metric, errors in prediction_errors(data, bundle).items():
        abs_pct = np.abs(np.expm1(errors.residual)) * 100
        out[metric] = {"median_abs_pct_error": float(np.median(abs_pct)) if len(abs_pct) else float("nan"),
                       "p90_abs_pct_error": float(np.percentile(abs_pct, 90)) if len(abs_pct) else float("nan")}
    return out


@dataclass(frozen=True)
class Comparison:
    champion: str | None
    challenger: str
    sets: Mapping[str, Mapping]   # set name -> {"rows", "champion": score, "challenger": score, "not_worse"}
    tolerance_pct: float

    @property
    def not_worse(self) -> bool:
        return all(s["not_worse"] for s in self.sets.values())

    def worse_on(self) -> list[str]:
        return [f"{name} ({', '.join(s['worse_metrics'])})" for name, s in self.sets.items() if not s["not_worse"]]

    def to_dict(self) -> dict:
        return {"champion": self.champion, "challenger": self.challenger, "tolerance_pct": self.tolerance_pct,
                "not_worse": self.not_worse, "sets": {k: dict(v) for k, v in self.sets.items()}}


def compare(champion: ModelBundle, challenger: ModelBundle, sets: Mapping[str, pd.DataFrame],
            offerings: Sequence[Offering], tolerance_pct: float = TOLERANCE_PCT) -> Comparison:
    """Both models scored on every named set of outcomes."""
    judged = {}
    for name, log in sets.items():
        a, b = score(champion, log, offerings), score(challenger, log, offerings)
        worse = [m for m in METRICS if b[m]["median_abs_pct_error"] > a[m]["median_abs_pct_error"] + tolerance_pct]
        judged[name] = {"rows": int(len(log)), "champion": a, "challenger": b, "worse_metrics": worse,
                        "not_worse": not worse}
    return Comparison(champion=champion.version, challenger=challenger.version, sets=judged,
                      tolerance_pct=tolerance_pct)
