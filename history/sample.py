"""The bundled deployment history: a simulated sample shipped with roost.

Training and the main job use it when a team has no history of its own. It was generated
with the command below and is loaded on call, never at import:

    roost history simulate --rows 40000 --seed 20261101 -o history/data/sample.parquet
"""
from __future__ import annotations

from importlib import resources

import pandas as pd

BUNDLED_SAMPLE_SEED = 20261101
BUNDLED_SAMPLE_ROWS = 40_000
BUNDLED_SAMPLE_FILE = "data/sample.parquet"


def bundled_history() -> pd.DataFrame:
    """The shipped sample as schema-v1 rows (a fresh frame on every call)."""
    from history.schema import read_log

    with resources.as_file(resources.files("history").joinpath(BUNDLED_SAMPLE_FILE)) as path:
        return read_log(path)


def regenerate(path: str | None = None) -> pd.DataFrame:
    """Simulate the sample again (same seed, bundled catalog) and optionally write it."""
    from history.schema import write_log
    from history.simulate import simulate
    from placement.catalog import load_catalog

    frame = simulate(BUNDLED_SAMPLE_ROWS, seed=BUNDLED_SAMPLE_SEED, catalog=load_catalog())
    if path:
        write_log(frame, path)
    return frame
