"""Training, the shipped default model and the model cache: which history, which model.

The default model ships inside the package (``placement/data/default_model/<version>/``, a
registry directory: LightGBM text files, feature lists and a manifest holding the sha256
of each). It is built by ``python tools/build_default_model.py`` from the default
history, and a test rebuilds it and checks the result is byte-identical, so the shipped
files are always what this code would build. `roost recommend` loads it (verifying every
file) and trains nothing.

The default history is the bundled sample (``history.sample``) extended with a larger
deterministic draw from the same simulator and catalog: the 40,000 bundled rows cover 400
model profiles, too few for the learned models to generalise to models they have not
seen (`roost evaluate` measures it). Both parts are fixed by their seeds, so the default
history — and its sha256 in every model manifest — is the same on every machine.

Teams train on their own logs with ``roost train --history PATH`` into the cache
(``<models_dir>/<version>/``). ``roost train`` without ``--history`` retrains the default
model there and names it in ``<models_dir>/default.json``; that cached default is preferred
to the shipped one while the code that trained it is the running code.
"""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import lightgbm as lgb
import pandas as pd

from placement.atomic import atomic_write_text
from placement.catalog import Catalog, load_catalog
from placement.errors import InputError, ModelArtifactError
from placement.features import FEATURES_SCHEMA_VERSION
from placement.learned import registry
from placement.learned.predictor import LearnedPredictor
from placement.learned.train import TRAINER_VERSION, TrainConfig, train
from roost.paths import models_dir

DEFAULT_POINTER = "default.json"
# The shipped default model: one registry directory under this package folder.
SHIPPED_PACKAGE = "placement"
SHIPPED_FOLDER = "data/default_model"
BUILD_COMMAND = "python tools/build_default_model.py"
# The simulated extension of the bundled sample (see the module docstring).
EXTENSION_ROWS = 360_000
EXTENSION_SEED = 20261102

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
    del extension
    return frame, (f"bundled sample ({BUNDLED_SAMPLE_ROWS:,} rows) + simulated extension "
                   f"({EXTENSION_ROWS:,} rows, seed {EXTENSION_SEED})")


def default_history_provenance() -> dict:
    """What the default history was made from, for the default model's manifest (the world its
    rows were drawn from is ``training_data.world_versions``, as for any log)."""
    import hashlib

    from history.sample import BUNDLED_SAMPLE_FILE, BUNDLED_SAMPLE_ROWS, BUNDLED_SAMPLE_SEED

    sample = resources.files("history").joinpath(BUNDLED_SAMPLE_FILE).read_bytes()
    return {
        "bundled_sample": {"file": f"history/{BUNDLED_SAMPLE_FILE}", "sha256": hashlib.sha256(sample).hexdigest(),
                           "rows": BUNDLED_SAMPLE_ROWS, "seed": BUNDLED_SAMPLE_SEED},
        "simulated_extension": {"rows": EXTENSION_ROWS, "seed": EXTENSION_SEED},
    }


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
    if history is None:
        bundle = _with_provenance(bundle)
    existed = (root / bundle.version).exists()
    path = registry.save(bundle, root)
    if history is None:  # a model of the default history is the default model
        write_pointer(root, bundle.version)
    return TrainResult(bundle=registry.load(path), path=path, reused=existed)


def build_default_model(root: Path, *, on_stage: Stage | None = None) -> Path:
    """Build the default model as it ships: default history, default parameters, bundled
    catalog, stamped with its newest log window rather than the wall clock, so that the
    same code and data give the same bytes. Returns ``<root>/<version>``."""
    catalog = load_catalog()
    if on_stage:
        on_stage("loading the default history")
    frame, source = default_history(catalog)
    created_at = pd.Timestamp(frame["observed_at"].max()).to_pydatetime()
    bundle = train(frame, catalog.offerings, catalog_version=catalog.version, source=source,
                   config=TrainConfig(), on_progress=on_stage, created_at=created_at)
    return registry.save(_with_provenance(bundle), root)


def _with_provenance(bundle: registry.ModelBundle) -> registry.ModelBundle:
    return dataclasses.replace(bundle, manifest={**bundle.manifest, "default_history": default_history_provenance()})


def shipped_model_root() -> Path:
    """The package folder holding the shipped default model (a real directory: roost is
    installed from a wheel or a checkout, never imported from a zip)."""
    folder = resources.files(SHIPPED_PACKAGE).joinpath(SHIPPED_FOLDER)
    return Path(str(folder))


def shipped_model_path() -> Path:
    """The shipped default model's directory; a missing or ambiguous one is an artifact error."""
    root = shipped_model_root()
    versions = sorted(p for p in root.glob("m-*") if p.is_dir()) if root.is_dir() else []
    if len(versions) != 1:
        found = ", ".join(p.name for p in versions) or "none"
        raise ModelArtifactError(f"{root}: expected one shipped default model, found {found}; "
                                 f"rebuild it with `{BUILD_COMMAND}` or train one with `roost train`")
    return versions[0]


def write_pointer(root: Path, version: str) -> None:
    """Make ``version`` the model in use (promotion and rollback move this pointer too)."""
    atomic_write_text(root / DEFAULT_POINTER, json.dumps({"version": version, **_current_code()}, indent=2) + "\n")


_write_pointer = write_pointer  # the name other modules and tests knew it by


def _current_code() -> dict:
    return {"trainer": TRAINER_VERSION, "features_schema": FEATURES_SCHEMA_VERSION,
            "lightgbm_major": lgb.__version__.split(".")[0]}


def default_model_path(*, root: Path | None = None) -> Path:
    """The default model's directory: the cached default a `roost train` wrote while it is
    this code's, else the shipped one."""
    cached = _cached_default(root or models_dir())
    return cached if cached is not None else shipped_model_path()


def model_path(version: str, *, root: Path | None = None) -> Path | None:
    """A model directory by version: the cache's, else the shipped default model's; None if neither."""
    cached = (root or models_dir()) / version
    if cached.is_dir():
        return cached
    try:
        shipped = shipped_model_path()
    except ModelArtifactError:
        return None
    return shipped if shipped.name == version else None


def default_model(*, root: Path | None = None, catalog_version: str | None = None) -> registry.ModelBundle:
    """The default model, verified; a shipped model another trainer built is refused."""
    path = default_model_path(root=root)
    bundle = registry.load(path, catalog_version=catalog_version, required=LearnedPredictor.required)
    trained_by = bundle.manifest.get("trainer_version")
    if trained_by != TRAINER_VERSION:
        raise ModelArtifactError(f"{path}: built by trainer {trained_by}, this roost trains with {TRAINER_VERSION}; "
                                 f"rebuild it with `{BUILD_COMMAND}` or train one with `roost train`")
    return bundle


def _cached_default(root: Path) -> Path | None:
    try:
        data = json.loads((root / DEFAULT_POINTER).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    if {k: data.get(k) for k in _current_code()} != _current_code():
        return None  # trained by another roost: the shipped model is this one's
    path = root / str(data.get("version"))
    # A damaged or edited cached model is an error to see (loading says so), not one to skip.
    return path if path.exists() else None


def learned_predictor(model_dir: str | Path | None = None, *, catalog_version: str | None = None,
                      on_stage: Stage | None = None) -> LearnedPredictor:
    """The predictor of a model directory, or of the default model."""
    if model_dir is not None:
        bundle = registry.load(model_dir, catalog_version=catalog_version, required=LearnedPredictor.required)
    else:
        if on_stage:
            on_stage("loading the default model")
        bundle = default_model(catalog_version=catalog_version)
    return LearnedPredictor(bundle)


def model_differences(built: Path, shipped: Path) -> list[str]:
    """Why two model directories are not byte-identical (empty when they are)."""
    if built.name != shipped.name:
        return [f"version {built.name} != {shipped.name}"]
    names = sorted({p.name for p in built.iterdir()} | {p.name for p in shipped.iterdir()})
    problems = []
    for name in names:
        a, b = built / name, shipped / name
        if not a.exists() or not b.exists():
            problems.append(f"{name}: only in {'the shipped' if b.exists() else 'the rebuilt'} model")
        elif a.read_bytes() != b.read_bytes():
            problems.append(f"{name}: bytes differ")
    return problems
