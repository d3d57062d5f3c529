"""Where roost keeps local state. Every location can be overridden by an environment variable.

    ROOST_HOME         roost's per-user data (trained models cache)   default ~/.cache/roost
    ROOST_STATE_DIR    a project's local state (version store)        default <project>/.roost
    ROOST_VERSION_STORE  the version store's URL                      default <state dir>/versions
"""
from __future__ import annotations

import os
from pathlib import Path

STORE_ENV = "ROOST_VERSION_STORE"


def roost_home() -> Path:
    return Path(os.environ.get("ROOST_HOME") or Path.home() / ".cache" / "roost")


def models_dir() -> Path:
    return roost_home() / "models"


def state_dir(project_dir: Path) -> Path:
    env = os.environ.get("ROOST_STATE_DIR")
    return Path(env) if env else project_dir / ".roost"


def history_store(project_dir: Path) -> Path:
    """A project's ingested deployment history: ``<state dir>/history/deployments.parquet``."""
    return state_dir(project_dir) / "history" / "deployments.parquet"
