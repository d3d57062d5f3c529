"""Work done in chunks to bound training memory gives exactly the figures of one pass."""
from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd

from placement.learned import curve, identity
from placement.learned.train import LATENCY, SATURATION, curve_throughput, prepare


def test_the_log_hash_does_not_depend_on_the_chunk_size(small_log, monkeypatch):
    cols = list(small_log.columns)
    whole = hashlib.sha256(json.dumps(cols).encode())
    whole.update(pd.util.hash_pandas_object(small_log[cols].astype(str), index=False).to_numpy().tobytes())
    monkeypatch.setattr(identity, "HASH_CHUNK_ROWS", 777)
    assert identity.data_sha256(small_log) == whole.hexdigest()
    assert identity.data_sha256(small_log.iloc[:-1]) != whole.hexdigest()


def test_utilization_at_the_slo_does_not_depend_on_the_chunk_size(small_log, catalog, tiny_bundle, monkeypatch):
    spec = tiny_bundle.spec
    data = prepare(small_log, catalog.offerings, spec)
    rows = np.arange(0, data.rows, 3)
    boosters = tiny_bundle.boosters

    def read() -> np.ndarray:
        return curve_throughput(boosters[SATURATION], boosters[LATENCY], data.features, rows, spec, 1)[1]

    whole = read()
    monkeypatch.setattr(curve, "CHUNK_ROWS", 97)
    chunked = read()
    assert len(rows) > 10 * 97 and (whole > 0).any()
    np.testing.assert_array_equal(chunked, whole)
