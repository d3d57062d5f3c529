"""The seam between "how would this model perform here?" and "which one do we buy?".

A ``Predictor`` answers the first question for many candidate offerings at once; the
optimizer (``placement.optimizer``) answers the second the same way for every predictor,
so the baseline heuristic and the learned models are compared on equal terms.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from placement.types import ModelProfile, Offering, Purchase


@dataclass(frozen=True, kw_only=True)
class Prediction:
    """Expected behaviour of one replica of a model on one offering.

    ``rps_per_replica`` is the throughput one replica sustains while its p95 latency
    stays within the SLO (0 when it cannot meet the SLO at any load);
    ``p95_latency_ms`` is the p95 latency at that load.
    """

    rps_per_replica: float
    p95_latency_ms: float
    success_probability: float = 1.0
    # Why the predictor thinks so: (feature description, contribution) pairs, largest first.
    contributions: tuple[tuple[str, float], ...] = field(default=())


class Predictor(Protocol):
    #: None for the heuristic baseline, the registry version for learned models.
    version: str | None
    #: Predicted throughput is multiplied by this before sizing, as a safety margin.
    throughput_margin: float

    def predict(self, profile: ModelProfile, offerings: Sequence[Offering],
                purchases: Sequence[Purchase]) -> list[Prediction]:
        """One prediction per (offering, purchase) pair, in order."""
        ...


@runtime_checkable
class ArrayPredictor(Protocol):
    """A predictor that can also answer with arrays, sparing a fleet-sized list of objects.

    ``predict_arrays`` returns (rps_per_replica, p95_latency_ms, success_probability), one
    entry per (offering, purchase) pair, equal to what ``predict`` would return.
    """

    version: str | None
    throughput_margin: float

    def predict(self, profile: ModelProfile, offerings: Sequence[Offering],
                purchases: Sequence[Purchase]) -> list[Prediction]: ...

    def predict_arrays(self, profile: ModelProfile, offerings: Sequence[Offering],
                       purchases: Sequence[Purchase]) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...


@runtime_checkable
class BatchPredictor(ArrayPredictor, Protocol):
    """An ``ArrayPredictor`` that can also answer for many models in one go.

    ``predict_arrays_many`` returns, per (profile, offerings, purchases) item, exactly what
    ``predict_arrays`` would; batching only saves per-call overhead.
    """

    def predict_arrays_many(self, items: Sequence[tuple[ModelProfile, Sequence[Offering], Sequence[Purchase]]],
                            ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]: ...


def margin_for(predictor: Predictor, profile: ModelProfile) -> float:
    """The sizing margin ``predictor`` applies to ``profile``: its per-profile margin where it
    has one (``throughput_margin_for``, e.g. calibrated per task), else ``throughput_margin``."""
    per_profile = getattr(predictor, "throughput_margin_for", None)
    return float(per_profile(profile)) if callable(per_profile) else float(predictor.throughput_margin)
