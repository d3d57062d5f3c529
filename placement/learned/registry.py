"""The model registry: versioned, verified directories of LightGBM text models.

Layout of ``<root>/<version>/``::

    manifest.json      what was trained on what, with which parameters, how well it scored,
                       and the sha256 of every other file in the directory
    features.json      the feature lists and fixed category lists (``FeatureSpec``)
    <name>.txt         one LightGBM model per name, in LightGBM's own text format

No pickle anywhere: a model directory is text a person can read and diff. A directory is
written under a temporary name and renamed into place, so readers see all of it or none.

Beside the model directories, ``<root>/events.jsonl`` is the registry's history: one JSON
object per line, numbered, for every challenger trained, promotion (forced ones with who
and why) and rollback. Writers hold ``<root>/.events.lock`` and replace the file whole
(temporary file, fsync, rename), so a reader sees every event or the file as it was. A
promotion writes its event before it moves the pointer to the model in use: a crash in
between leaves an event for a move that did not happen, never a move without an event.

The version id is a hash of what determines the model (training-data hash, parameters,
feature spec, LightGBM and catalog versions), so the same inputs give the same id and a
cache can be looked up before training. Loading re-hashes every file and refuses a
directory whose files, manifest or feature lists do not match: the check is integrity
against accidents and edits, not authenticity against someone who rewrites the manifest.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import filelock
import lightgbm as lgb

from placement.atomic import atomic_write_bytes
from placement.errors import ModelArtifactError
from placement.features import FeatureSpec

MODEL_FORMAT = "roost-model"
MODEL_SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
FEATURES = "features.json"
EVENTS = "events.jsonl"
EVENTS_LOCK = ".events.lock"
EVENT_TYPES = ("challenger", "promote", "rollback")


def version_id(inputs: Mapping) -> str:
    """Deterministic version id from what determines a model."""
    body = json.dumps(inputs, sort_keys=True, separators=(",", ":"), default=str)
    return "m-" + hashlib.sha256(body.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class ModelBundle:
    """Trained boosters plus everything needed to use and audit them."""

    version: str
    boosters: Mapping[str, lgb.Booster]
    # Which feature group of ``spec`` each booster reads ("performance", "latency", "risk").
    feature_groups: Mapping[str, str]
    spec: FeatureSpec
    manifest: Mapping
    path: Path | None = None
    warnings: tuple[str, ...] = field(default=())

    @property
    def catalog_version(self) -> str:
        return str(self.manifest.get("catalog_version", ""))

    @property
    def throughput_margin(self) -> float:
        return float(self.manifest.get("throughput_margin", 1.0))

    @property
    def throughput_margins_by_task(self) -> dict[str, float]:
        """Per-task sizing margins (models trained before they existed have none)."""
        return {str(k): float(v) for k, v in self.manifest.get("throughput_margin_by_task", {}).items()}

    @property
    def metrics(self) -> Mapping:
        return self.manifest.get("metrics", {})


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _dump(data: object) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, default=str) + "\n").encode()


def save(bundle: ModelBundle, root: str | Path) -> Path:
    """Write ``bundle`` to ``<root>/<version>/`` atomically; an existing identical version is kept."""
    root = Path(root)
    final = root / bundle.version
    if final.exists():
        load(final)  # raises if what is there is damaged; then the caller must remove it
        return final
    root.mkdir(parents=True, exist_ok=True)
    files: dict[str, bytes] = {FEATURES: _dump(bundle.spec.to_dict())}
    models = {}
    for name, booster in sorted(bundle.boosters.items()):
        filename = f"{name}.txt"
        files[filename] = booster.model_to_string(num_iteration=-1).encode()
        models[name] = {"file": filename, "features": bundle.feature_groups[name]}
    manifest = {
        **bundle.manifest,
        "format": MODEL_FORMAT,
        "schema_version": MODEL_SCHEMA_VERSION,
        "version": bundle.version,
        "lightgbm_version": lgb.__version__,
        "models": models,
        "files": {name: _sha256(data) for name, data in sorted(files.items())},
    }
    tmp = Path(tempfile.mkdtemp(prefix=f".{bundle.version}.", suffix=".tmp", dir=root))
    try:
        for name, data in {**files, MANIFEST: _dump(manifest)}.items():
            with open(tmp / name, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        try:
            os.rename(tmp, final)
        except OSError:
            if not final.exists():
                raise
            # Another process published the same version first: identical inputs, keep theirs.
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def read_manifest(path: str | Path) -> dict:
    path = Path(path)
    where = path / MANIFEST
    try:
        manifest = json.loads(where.read_text())
    except FileNotFoundError:
        raise ModelArtifactError(f"{path}: not a roost model directory (no {MANIFEST})") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelArtifactError(f"{where}: unreadable manifest ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MODEL_FORMAT:
        raise ModelArtifactError(f"{where}: not a roost model manifest (expected \"format\": \"{MODEL_FORMAT}\")")
    if manifest.get("schema_version") != MODEL_SCHEMA_VERSION:
        raise ModelArtifactError(f"{where}: model schema_version {manifest.get('schema_version')!r} is not "
                                 f"supported (this roost reads {MODEL_SCHEMA_VERSION}); retrain with `roost train`")
    return manifest


def load(path: str | Path, *, catalog_version: str | None = None,
         required: tuple[str, ...] = ()) -> ModelBundle:
    """Load and verify a model directory; raise ModelArtifactError on any mismatch.

    A model trained for another catalog version still loads (hardware figures carry over,
    prices are not what it predicts) but says so in ``warnings``.
    """
    path = Path(path)
    manifest = read_manifest(path)
    version = manifest.get("version")
    if version != path.name:
        raise ModelArtifactError(f"{path}: manifest names version {version!r}, but the directory is "
                                 f"{path.name!r}; a model directory must not be renamed")
    digests = manifest.get("files")
    models = manifest.get("models")
    if not isinstance(digests, dict) or not isinstance(models, dict) or FEATURES not in digests:
        raise ModelArtifactError(f"{path / MANIFEST}: missing \"files\" or \"models\"")
    contents: dict[str, bytes] = {}
    for name, expected in sorted(digests.items()):
        if "/" in name or name.startswith("."):
            raise ModelArtifactError(f"{path / MANIFEST}: file name {name!r} is not allowed")
        try:
            data = (path / name).read_bytes()
        except FileNotFoundError:
            raise ModelArtifactError(f"{path / name}: missing (listed in the manifest)") from None
        if _sha256(data) != expected:
            raise ModelArtifactError(f"{path / name}: sha256 does not match the manifest; the model was "
                                     "modified after training — retrain with `roost train` or restore the file")
        contents[name] = data
    try:
        spec = FeatureSpec.from_dict(json.loads(contents[FEATURES]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelArtifactError(f"{path / FEATURES}: malformed feature spec ({exc})") from None
    problem = spec.mismatch()
    if problem:
        raise ModelArtifactError(f"{path}: trained with a different feature set: {problem}; "
                                 "retrain with `roost train`")
    missing = [m for m in required if m not in models]
    if missing:
        raise ModelArtifactError(f"{path}: has no {', '.join(missing)} model; retrain with `roost train`")
    boosters, groups = {}, {}
    for name, entry in sorted(models.items()):
        filename = entry.get("file") if isinstance(entry, dict) else None
        group = entry.get("features") if isinstance(entry, dict) else None
        if filename not in contents or group not in spec.groups:
            raise ModelArtifactError(f"{path / MANIFEST}: model {name!r} has no verified file or feature group")
        try:
            boosters[name] = lgb.Booster(model_str=contents[filename].decode())
        except (lgb.basic.LightGBMError, UnicodeDecodeError) as exc:
            raise ModelArtifactError(f"{path / filename}: not a LightGBM model ({exc})") from None
        if boosters[name].feature_name() != list(spec.names(group)):
            raise ModelArtifactError(f"{path / filename}: its features differ from the {group} list in {FEATURES}")
        groups[name] = group
    warnings = []
    trained_major = str(manifest.get("lightgbm_version", "")).split(".")[0]
    if trained_major and trained_major != lgb.__version__.split(".")[0]:
        raise ModelArtifactError(f"{path}: trained with LightGBM {manifest.get('lightgbm_version')}, "
                                 f"running {lgb.__version__}; retrain with `roost train`")
    trained_catalog = manifest.get("catalog_version")
    if catalog_version and trained_catalog and _base(catalog_version) != _base(str(trained_catalog)):
        warnings.append(f"model {version} was trained against catalog {trained_catalog}; "
                        f"predicting for catalog {catalog_version}")
    return ModelBundle(version=str(version), boosters=boosters, feature_groups=groups, spec=spec,
                       manifest=manifest, path=path, warnings=tuple(warnings))


def _base(catalog_version: str) -> str:
    # Discounts re-price a catalog ("…+disc(aws-10)") without changing its hardware.
    return catalog_version.split("+", 1)[0]


@dataclass(frozen=True)
class Entry:
    version: str
    path: Path
    manifest: Mapping | None
    problem: str | None = None


def list_models(root: str | Path) -> list[Entry]:
    """Every model directory under ``root``, newest first; damaged ones carry ``problem``."""
    root = Path(root)
    if not root.is_dir():
        return []
    entries = []
    for child in root.iterdir():
        if not child.is_dir() or child.name.startswith("."):
            continue
        try:
            entries.append(Entry(child.name, child, read_manifest(child)))
        except ModelArtifactError as exc:
            entries.append(Entry(child.name, child, None, str(exc)))
    return sorted(entries, key=lambda e: (str((e.manifest or {}).get("created_at", "")), e.version), reverse=True)


# ---------------------------------------------------------------------------------------
# Events: the registry's history of challengers, promotions and rollbacks

def read_events(root: str | Path) -> list[dict]:
    """Every event, oldest first; a damaged line is an error, never skipped."""
    path = Path(root) / EVENTS
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return []
    events = []
    for number, line in enumerate(lines, 1):
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            raise ModelArtifactError(f"{path}: line {number} is not JSON; restore the file from a backup") from None
        if not isinstance(event, dict) or event.get("type") not in EVENT_TYPES:
            raise ModelArtifactError(f"{path}: line {number} is not a registry event")
        events.append(event)
    return events


@contextlib.contextmanager
def events_lock(root: str | Path, timeout: float = 30.0) -> Iterator[None]:
    """One writer of the events (and of the pointer they describe) at a time."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    try:
        with filelock.FileLock(str(root / EVENTS_LOCK), timeout=timeout):
            yield
    except filelock.Timeout:
        raise ModelArtifactError(f"{root}: another roost is changing the model registry (lock "
                                 f"{root / EVENTS_LOCK} held for {timeout:g} s); retry when it has finished") from None


def append_event(root: str | Path, event: Mapping, *, now: datetime | None = None) -> dict:
    """Add ``event`` (numbered and timestamped here); the caller holds ``events_lock``."""
    if event.get("type") not in EVENT_TYPES:
        raise ValueError(f"not a registry event type: {event.get('type')!r}")
    root = Path(root)
    events = read_events(root)
    stamped = {"n": len(events) + 1, "at": (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"), **event}
    body = "".join(json.dumps(e, sort_keys=True, default=str) + "\n" for e in [*events, stamped])
    atomic_write_bytes(root / EVENTS, body.encode())
    return stamped


def champions(events: Sequence[Mapping], initial: str | None) -> list[str | None]:
    """The stack of champions the events leave: promotions push, rollbacks pop.

    ``initial`` is the model in use before the first promotion (None: the default model).
    """
    stack: list[str | None] = [initial]
    for e in events:
        if e["type"] == "promote":
            if len(stack) == 1 and stack[0] != e.get("previous"):
                stack = [e.get("previous")]
            stack.append(e["version"])
        elif e["type"] == "rollback" and len(stack) > 1:
            stack.pop()
    return stack
