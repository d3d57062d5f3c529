"""Challengers and promotion: train on the grown history, compare, promote, roll back.

The outcomes come from the project's ingested history (``roost history ingest``), or a log
file. Its model profiles are split once and for all by a hash of the profile: one in
``HOLDOUT_EVERY`` is the held-out set, which challengers never train on, so champion and
challenger are scored on the same outcomes neither has seen. The most recent outcomes are
the newest ``RECENT_SHARE`` of the held-out rows by ``observed_at`` (or a file given with
``--recent``). The model in use is the registry's pointer (``default.json``, see
``roost.training``); promotion and rollback move only that pointer in the user's registry
(ROOST_HOME/models), never a model's files, and each is an event in ``events.jsonl``.
"""
from __future__ import annotations

import getpass
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from placement.catalog import Catalog
from placement.errors import InputError, RoostError
from placement.learned import registry
from placement.learned.identity import profile_keys
from placement.learned.promotion import Comparison, compare
from placement.learned.train import TrainConfig, train
from roost import training
from roost.drift import model_bundle, read_outcomes
from roost.paths import models_dir

HOLDOUT_EVERY = 5          # one profile in five is held out
RECENT_SHARE = 0.25
MIN_SET_ROWS = 200         # what scoring needs (``train.MIN_ROWS``)


class PromotionRefused(RoostError):
    """The challenger is worse than the champion on a set (exit 1: the gate failed)."""

    exit_code = 1


def held_out_mask(frame: pd.DataFrame) -> np.ndarray:
    """Rows of held-out profiles: the same profiles whatever else the history holds."""
    return (profile_keys(frame) % np.uint64(HOLDOUT_EVERY)) == 0


def evaluation_sets(history: pd.DataFrame, recent: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """The held-out set and the most recent outcomes (newest held-out rows unless given)."""
    held = history.loc[held_out_mask(history)].reset_index(drop=True)
    if recent is None:
        order = pd.to_datetime(held["observed_at"], utc=True).sort_values(kind="stable").index
        recent = held.loc[order[-max(MIN_SET_ROWS, int(len(held) * RECENT_SHARE)):]].reset_index(drop=True)
    for name, frame in (("held-out", held), ("recent", recent)):
        if len(frame) < MIN_SET_ROWS:
            raise InputError(f"only {len(frame)} {name} outcome(s) to compare models on (need {MIN_SET_ROWS}); "
                             "ingest more history")
    return {"held_out": held, "recent": recent}


def user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user database entry (containers)
        return "unknown"


def champion_version(root: Path | None = None) -> str | None:
    return _pointer_version(root or models_dir())


def _pointer_version(root: Path) -> str | None:
    import json

    try:
        return json.loads((root / training.DEFAULT_POINTER).read_text()).get("version")
    except (FileNotFoundError, ValueError):
        return None


@dataclass(frozen=True)
class ChallengerResult:
    bundle: registry.ModelBundle
    path: Path
    event: dict
    training_rows: int
    held_out_rows: int


def train_challenger(logs: str | None, *, project_dir: Path, catalog: Catalog, config: TrainConfig,
                     on_stage=None) -> ChallengerResult:
    """Train on the grown history less its held-out profiles; save it; record the event. The model
    in use does not change."""
    history, source = read_outcomes(logs, project_dir=project_dir, catalog=catalog)
    held = held_out_mask(history)
    frame = history.loc[~held].reset_index(drop=True)
    bundle = train(frame, catalog.offerings, catalog_version=catalog.version,
                   source=f"{source} (held-out profiles excluded)", config=config, on_progress=on_stage)
    root = models_dir()
    path = registry.save(bundle, root)
    with registry.events_lock(root):
        event = registry.append_event(root, {"type": "challenger", "version": bundle.version, "by": user(),
                                             "history": source, "rows": int(len(frame)),
                                             "champion": champion_version(root)})
    return ChallengerResult(registry.load(path), path, event, int(len(frame)), int(held.sum()))


def latest_challenger(root: Path) -> str | None:
    return next((e["version"] for e in reversed(registry.read_events(root)) if e["type"] == "challenger"), None)


def compare_models(a: str | None, b: str | None, *, logs: str | None, recent: str | None, project_dir: Path,
                   catalog: Catalog) -> Comparison:
    """Champion (``a``, default: the model in use) against challenger (``b``, default: the newest)."""
    root = models_dir()
    b = b or latest_challenger(root)
    if b is None:
        raise InputError(f"no challenger in {root}; train one with `roost train --challenger`")
    champion, challenger = model_bundle(a, catalog), model_bundle(b, catalog)
    history, _ = read_outcomes(logs, project_dir=project_dir, catalog=catalog)
    recent_frame = read_outcomes(recent, project_dir=project_dir, catalog=catalog)[0] if recent else None
    return compare(champion, challenger, evaluation_sets(history, recent_frame), catalog.offerings)


def promote(version: str, *, logs: str | None, recent: str | None, project_dir: Path, catalog: Catalog,
            force: bool = False, reason: str | None = None) -> tuple[dict, Comparison]:
    """Make ``version`` the model in use when it is not worse than the champion on both sets
    (or ``force``, recorded with who and why)."""
    if force and not (reason and reason.strip()):
        raise InputError("--force needs --reason TEXT: a forced promotion is recorded with who and why")
    root = models_dir()
    challenger = model_bundle(version, catalog)  # exit 2 before anything changes if it does not exist
    if not (root / challenger.version).is_dir():
        raise InputError(f"{version}: only models in the registry ({root}) can be promoted; "
                         f"copy it there or train it with `roost train --challenger`")
    result = compare_models(None, challenger.version, logs=logs, recent=recent, project_dir=project_dir,
                            catalog=catalog)
    if not result.not_worse and not force:
        raise PromotionRefused(f"{challenger.version} was not promoted: worse than {result.champion} on "
                               f"{'; '.join(result.worse_on())}. `roost models compare` shows every figure; "
                               "--force --reason TEXT overrides")
    with registry.events_lock(root):
        previous = champion_version(root)
        event = registry.append_event(root, {
            "type": "promote", "version": challenger.version, "previous": previous, "by": user(),
            "forced": bool(force and not result.not_worse), "reason": reason, "comparison": result.to_dict()})
        training.write_pointer(root, challenger.version)
    return event, result


def rollback() -> dict:
    """Restore the champion the current one replaced (as the events record it)."""
    root = models_dir()
    with registry.events_lock(root):
        current = champion_version(root)
        stack = registry.champions(registry.read_events(root), current)
        if len(stack) < 2 or stack[-1] != current:
            raise InputError(f"nothing to roll back: no promotion in {root / registry.EVENTS} installed the "
                             f"model in use ({current or 'none'})")
        restored = stack[-2]
        if restored is not None:
            registry.load(root / restored)  # it must still be there, whole, before the pointer moves
        event = registry.append_event(root, {"type": "rollback", "version": restored, "previous": current,
                                             "by": user()})
        if restored is None:
            (root / training.DEFAULT_POINTER).unlink()
        else:
            training.write_pointer(root, restored)
    return event
