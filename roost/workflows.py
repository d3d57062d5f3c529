"""Use cases that compose placement, history and stacks. They return data, never print."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from placement.catalog import Catalog
from placement.errors import InfeasibleError, InputError
from placement.fleet import check_against_catalog, load_fleet
from placement.optimizer import recommend_all
from placement.predictor import Predictor
from placement.types import Cloud, Fleet, Recommendation


@dataclass(frozen=True)
class RecommendResult:
    fleet: Fleet
    recommendation: Recommendation


def predictor_for(kind: str) -> Predictor:
    """The predictor named on the command line: ``baseline`` (physics heuristic)."""
    from placement.baseline import HeuristicPredictor

    if kind == "baseline":
        return HeuristicPredictor()
    raise InputError(f"unknown predictor {kind!r}: choose baseline")


def recommend_fleet(fleet_path: str | Path, catalog: Catalog, predictor: Predictor,
                    on_progress: Callable[[int, int], None] | None = None) -> RecommendResult:
    """Parse, check against the catalog and place every model; all infeasible models at once."""
    fleet = load_fleet(fleet_path)
    regions_by_cloud = {c: {o.region for o in catalog.filter(clouds=[c])} for c in Cloud}
    check_against_catalog(fleet, regions_by_cloud)
    rec, failures = recommend_all(fleet, catalog, predictor)
    if failures:
        raise InfeasibleFleet(failures)
    return RecommendResult(fleet=fleet, recommendation=rec)


class InfeasibleFleet(InputError):
    def __init__(self, failures: list[InfeasibleError]):
        self.failures = failures
        super().__init__("\n".join(str(f) for f in failures))
