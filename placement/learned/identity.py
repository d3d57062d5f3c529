"""Identity in deployment logs: which model profile a row is, and which log a frame is.

Training groups rows by profile (no split may straddle one) and records the log's content
hash in every model manifest; `roost evaluate` uses the same two to hold out the profiles
a model saw and to check that a model was trained on the log it is given. One definition
serves both, so they cannot drift apart.
"""
from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd

from placement import features as F

PROFILE_KEY = ("task", "framework", "params_millions", "precision", "memory_gib", "input_tokens", "output_tokens")
# Rows hashed per step: the text form of a whole large log would cost gigabytes at once.
HASH_CHUNK_ROWS = 50_000


def data_sha256(log: pd.DataFrame) -> str:
    """Content hash of a log (column names and values as text): same rows, same hash."""
    cols = [c for c in log.columns]
    digest = hashlib.sha256(json.dumps(cols).encode())
    # Row hashes are independent of each other, so hashing in chunks gives the same bytes.
    for start in range(0, len(log), HASH_CHUNK_ROWS):
        chunk = log.iloc[start:start + HASH_CHUNK_ROWS]
        digest.update(pd.util.hash_pandas_object(chunk[cols].astype(str), index=False).to_numpy().tobytes())
    return digest.hexdigest()


def profile_keys(frame: pd.DataFrame) -> np.ndarray:
    """A 64-bit key per row identifying its model profile (``PROFILE_KEY`` and the request's work
    columns), independent of column dtypes."""
    norm = pd.DataFrame({
        "task": frame["task"].astype(str).to_numpy(),
        "framework": frame["framework"].astype(str).to_numpy(),
        "params_millions": np.round(pd.to_numeric(frame["params_millions"], errors="coerce").to_numpy(float), 6),
        "precision": frame["precision"].astype(str).to_numpy(),
        "memory_gib": np.round(pd.to_numeric(frame["memory_gib"], errors="coerce").to_numpy(float), 6),
        "input_tokens": pd.to_numeric(frame["input_tokens"], errors="coerce").fillna(-1).to_numpy(float),
        "output_tokens": pd.to_numeric(frame["output_tokens"], errors="coerce").fillna(-1).to_numpy(float),
        # How much work a request is: profiles that differ only in image size or steps differ.
        **{name: np.nan_to_num(values, nan=-1.0) for name, values in F.work_columns(frame).items()},
    })
    return pd.util.hash_pandas_object(norm, index=False).to_numpy()


def profile_groups(frame: pd.DataFrame) -> np.ndarray:
    """Dense id of each row's model profile (the unit that must never straddle a split)."""
    codes, _ = pd.factorize(profile_keys(frame), sort=True)
    return codes.astype(np.int64)
