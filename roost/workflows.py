"""Use cases that compose placement, history and stacks. They return data, never print."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from placement.errors import InfeasibleError, InputError
from placement.types import Cloud, Fleet, Recommendation

if TYPE_CHECKING:  # the CLI imports this module to print help: the numeric stack loads on use
    from placement.catalog import Catalog
    from placement.predictor import Predictor


@dataclass(frozen=True)
class RecommendResult:
    fleet: Fleet
    recommendation: Recommendation


PREDICTORS = ("learned", "baseline")
DEFAULT_PREDICTOR = "learned"


def predictor_for(kind: str = DEFAULT_PREDICTOR, *, model_dir: str | Path | None = None,
                  catalog_version: str | None = None, on_stage: Callable[[str], None] | None = None) -> Predictor:
    """The predictor named on the command line.

    ``learned``: the LightGBM models of ``model_dir``, or the default model (shipped with
    roost, or the one `roost train` made; ``on_stage`` hears it being loaded).
    ``baseline``: the physics heuristic.
    """
    if kind == "baseline":
        from placement.baseline import HeuristicPredictor

        return HeuristicPredictor()
    if kind == "learned":
        from roost.training import learned_predictor

        return learned_predictor(model_dir, catalog_version=catalog_version, on_stage=on_stage)
    raise InputError(f"unknown predictor {kind!r}: choose {' or '.join(PREDICTORS)}")


def predictor_warnings(predictor: Predictor) -> tuple[str, ...]:
    """What a person should know about the predictor (e.g. trained for another catalog)."""
    bundle = getattr(predictor, "bundle", None)
    return tuple(getattr(bundle, "warnings", ()))


def load_checked_fleet(fleet_path: str | Path, catalog: Catalog) -> Fleet:
    """Parse a fleet file and check its regions against the catalog (fast: before any training)."""
    from placement.fleet import check_against_catalog, load_fleet

    fleet = load_fleet(fleet_path)
    regions_by_cloud = {c: {o.region for o in catalog.filter(clouds=[c])} for c in Cloud}
    check_against_catalog(fleet, regions_by_cloud)
    return fleet


def recommend_fleet(fleet_path: str | Path, catalog: Catalog, predictor: Predictor,
                    on_progress: Callable[[int, int], None] | None = None, *,
                    explain: bool = True) -> RecommendResult:
    """Parse, check against the catalog and place every model; all infeasible models at once.

    ``explain=False`` skips the predictor's own explanations (the learned models' feature
    attributions cost about a millisecond per model) in favour of the optimizer's short summary.
    """
    from placement.optimizer import recommend_all

    fleet = load_checked_fleet(fleet_path, catalog)
    explainer = _explainer(predictor) if explain else None
    rec, failures = recommend_all(fleet, catalog, predictor, on_progress=on_progress,
                                  explain=explainer.explain if explainer else None,
                                  explain_batch=explainer.explain_all if explainer else None)
    if failures:
        raise InfeasibleFleet(failures)
    return RecommendResult(fleet=fleet, recommendation=rec)


def _explainer(predictor: Predictor):
    """The learned models' feature attributions; None lets the optimizer summarize instead."""
    if getattr(predictor, "bundle", None) is None:  # not a LearnedPredictor (imported only when one is)
        return None
    from placement.learned.explain import LearnedExplainer

    return LearnedExplainer(predictor)  # type: ignore[arg-type]


class InfeasibleFleet(InputError):
    def __init__(self, failures: list[InfeasibleError]):
        self.failures = failures
        super().__init__("\n".join(str(f) for f in failures))
