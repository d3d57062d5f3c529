"""`roost drift`: the model in use against recent outcomes (logic in ``placement.learned.drift``).

This module only gathers the inputs: the outcomes (a log file, else the project's ingested
history), checked against log schema v1 — rows on offerings the catalog lacks are not bad
input but catalog drift, so they are set aside and counted, never refused — the model
(a version in the registry, a model directory, else the default model) and the catalog.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from placement.catalog import Catalog
from placement.errors import InputError
from placement.learned import registry
from placement.learned.drift import DriftReport, Thresholds, detect, missing_offerings
from roost.paths import history_store, models_dir


def read_outcomes(logs: str | Path | None, *, project_dir: Path, catalog: Catalog,
                  since: pd.Timestamp | None = None) -> tuple[pd.DataFrame, str]:
    """Valid schema-v1 rows of ``logs`` (default: the ingested history) observed at or after ``since``."""
    from history.schema import read_log, validate

    path = Path(logs) if logs else history_store(project_dir)
    if logs is None and not path.exists():
        raise InputError(f"no ingested history at {path}; pass --logs FILE or ingest outcomes with "
                         "`roost history ingest FILE`")
    frame = read_log(path)
    report = validate(frame, source=str(path), catalog=catalog)
    if not report.ok:
        missing, _ = missing_offerings(frame, catalog.offerings) if _has_keys(frame) else (None, None)
        bad = ~report.valid_mask if missing is None else ~report.valid_mask & ~missing
        if bad.any():
            # Report the first problem that is not about an offering the catalog lacks.
            rows = set((pd.Series(bad).to_numpy().nonzero()[0] + 2).tolist())
            first = next((e for e in report.errors if e.row in rows or e.row == 1), report.errors[0])
            raise InputError(f"{first} ({int(bad.sum())} invalid row(s); see `roost history validate {path}`)")
    if since is not None:
        frame = frame.loc[pd.to_datetime(frame["observed_at"], utc=True) >= since].reset_index(drop=True)
    return frame, str(path)


def _has_keys(frame: pd.DataFrame) -> bool:
    from placement.features import OFFERING_KEY

    return all(c in frame.columns for c in OFFERING_KEY)


def model_bundle(model: str | None, catalog: Catalog) -> registry.ModelBundle:
    """A registry version or a model directory; default: the model in use (the default model)."""
    from placement.learned.predictor import LearnedPredictor
    from roost.training import default_model

    if model is None:
        return default_model(catalog_version=catalog.version)
    root = models_dir()
    path = Path(model) if Path(model).is_dir() else root / model
    if not path.is_dir():
        known = [e.version for e in registry.list_models(root)]
        from placement.errors import did_you_mean

        raise InputError(f"no model {model!r} in {root}{did_you_mean(model, known)} (see `roost models list`)")
    return registry.load(path, catalog_version=catalog.version, required=LearnedPredictor.required)


def run_drift(logs: str | Path | None, *, catalog: Catalog, project_dir: Path = Path("."), model: str | None = None,
              thresholds: Thresholds = Thresholds(), since: pd.Timestamp | None = None,
              store: str | None = None) -> tuple[DriftReport, str, dict | None]:
    """The drift report of the model in use on recent outcomes, where they were read from and,
    when rows name the decision they ran (stack, plan_version), how they compare with it."""
    frame, source = read_outcomes(logs, project_dir=project_dir, catalog=catalog, since=since)
    bundle = model_bundle(model, catalog)
    report = detect(frame, bundle, catalog.offerings, catalog.version, thresholds)
    return report, source, decisions(frame, project_dir, store)


def decisions(frame: pd.DataFrame, project_dir: Path, store: str | None) -> dict | None:
    """Observed against predicted per linked decision (None when no row carries a link)."""
    from history.outcomes import has_links, link_outcomes, summarize
    from history.versions import VersionStore
    from roost.lifecycle import store_url

    if not has_links(frame):
        return None
    return summarize(link_outcomes(frame, VersionStore(store_url(project_dir, store))))
