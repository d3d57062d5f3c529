"""Training and the model cache: which history, where models live, train-on-first-use.

The default training history is the bundled sample (``history.sample``) extended with a
larger deterministic draw from the same simulator and catalog: the 40,000 bundled rows
cover 400 model profiles, too few for the learned models to generalise to models they have
not seen (`roost evaluate` measures it). Both parts are fixed by their seeds, so the
default history — and its sha256 in every model manifest — is the same on every machine.
Teams train on their own logs with ``roost train --history PATH``.

The first `roost recommend` with the learned predictor trains the default model and
caches it under ``<models_dir>/<version>/``; ``<models_dir>/default.json`` names it, so later
runs load it (verifying every file) without regenerating the history. A new roost whose
trainer, features or LightGBM major differ trains afresh instead of reusing it. Concurrent
first runs (a CI matrix) train once: the others wait on a file lock.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import lightgbm as lgb
import pandas as pd
from filelock import FileLock, Timeout

from history.atomic import atomic_write_text
from placement.catalog import Catalog, load_catalog
from placement.errors import InputError, ModelArtifactError
from placement.features import FEATURES_SCHEMA_VERSION
from placement.learned import registry
from placement.learned.predictor import LearnedPredictor
from placement.learned.train import TRAINER_VERSION, TrainConfig, train
from roost.paths import models_dir

DEFAULT_POINTER = "default.json"
# The simulated extension of the bundled sample (see the module docstring).
EXTENSION_ROWS = 360_000
EXTENSION_SEED = 20261102
LOCK_TIMEOUT_S = 1800.0

Stage = Callable[[str], None]


@dataclass(frozen=True)
class TrainResult:
    bundle: registry.ModelBundle
    path: Path
    reused: bool


def default_history(catalog: Catalog) -> tuple[pd.DataFrame, str]:
    """The bundled sample plus its deterministic simulated extension, and a label for it."""
    from history.sample import BUNDLED_SAMPLE_ROWS, bundled_history
    from history.simulate import simulate

    extension = simulate(EXTENSION_ROWS, seed=EXTENSION_SEED, catalog=catalog)
    frame = pd.concat([bundled_history(), extension], ignore_index=True)
    return frame, (f"bundled sample ({BUNDLED_SAMPLE_ROWS:,} rows) + simulated extension "
                   f"({EXTENSION_ROWS:,} rows, seed {EXTENSION_SEED})")


def read_history(path: str | Path, catalog: Catalog) -> pd.DataFrame:
    """A team's deployment log, refused with its first problems if any row is invalid."""
    from history.schema import read_log, validate

    frame = read_log(path)
    report = validate(frame, source=str(path), catalog=catalog)
    if not report.ok:
        first = "; ".join(str(e) for e in report.errors[:3])
        raise InputError(f"{path}: {report.invalid_rows} of {report.rows} rows are invalid (first: {first}); "
                         f"see `roost history validate {path}`")
    return frame


def training_history(history: str | Path | None, catalog: Catalog) -> tuple[pd.DataFrame, str]:
    if history is None:
        return default_history(catalog)
    return read_history(history, catalog), str(history)


def train_models(history: str | Path | None, *, catalog: Catalog | None = None, config: TrainConfig = TrainConfig(),
                 root: Path | None = None, on_stage: Stage | None = None) -> TrainResult:
    """Train on ``history`` (default: the default history) and save to the registry."""
    catalog = catalog or load_catalog()
    root = root or models_dir()
    if on_stage:
        on_stage("loading history")
    frame, source = training_history(history, catalog)
    bundle = train(frame, catalog.offerings, catalog_version=catalog.version, source=source, config=config,
                   on_progress=on_stage)
    existed = (root / bundle.version).exists()
    path = registry.save(bundle, root)
    if history is None:  # a model of the default history is the default model
        write_pointer(root, bundle.version)
    return TrainResult(bundle=registry.load(path), path=path, reused=existed)


def write_pointer(root: Path, version: str) -> None:
    """Make ``version`` the model in use (promotion and rollback move this pointer too)."""
    atomic_write_text(root / DEFAULT_POINTER, json.dumps({"version": version, **_current_code()}, indent=2) + "\n")


_write_pointer = write_pointer  # the name other modules and tests knew it by


def _current_code() -> dict:
    return {"trainer": TRAINER_VERSION, "features_schema": FEATURES_SCHEMA_VERSION,
            "lightgbm_major": lgb.__version__.split(".")[0]}


def default_model(*, root: Path | None = None, catalog_version: str | None = None,
                  on_stage: Stage | None = None, config: TrainConfig = TrainConfig()) -> registry.ModelBundle:
    """The cached default model, trained from the default history on first use."""
    root = root or models_dir()
    pointer = root / DEFAULT_POINTER
    cached = _cached_default(pointer, catalog_version)
    if cached is not None:
        return cached
    root.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(str(root / ".default.lock"), timeout=LOCK_TIMEOUT_S):
            cached = _cached_default(pointer, catalog_version)  # another process may have trained it
            if cached is not None:
                return cached
            if on_stage:
                on_stage("first use: training the placement models from the default history (once)")
            bundled = load_catalog()
            result = train_models(None, catalog=bundled, config=config, root=root, on_stage=on_stage)
            return registry.load(result.path, catalog_version=catalog_version)
    except Timeout:
        raise ModelArtifactError(f"{root}: another roost has been training the default model for "
                                 f"{LOCK_TIMEOUT_S / 60:.0f} minutes; remove {root / '.default.lock'} if it died") from None


def _cached_default(pointer: Path, catalog_version: str | None) -> registry.ModelBundle | None:
    try:
        data = json.loads(pointer.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    if {k: data.get(k) for k in _current_code()} != _current_code():
        return None  # trained by another roost: train afresh rather than guess
    path = pointer.parent / str(data.get("version"))
    if not path.exists():
        return None
    # A damaged or edited cached model is an error to see, not something to paper over by retraining.
    return registry.load(path, catalog_version=catalog_version)


def learned_predictor(model_dir: str | Path | None = None, *, catalog_version: str | None = None,
                      on_stage: Stage | None = None) -> LearnedPredictor:
    """The predictor of a model directory, or of the cached default model."""
    if model_dir is not None:
        bundle = registry.load(model_dir, catalog_version=catalog_version, required=LearnedPredictor.required)
    else:
        bundle = default_model(catalog_version=catalog_version, on_stage=on_stage)
    return LearnedPredictor(bundle)
