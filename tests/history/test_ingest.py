"""Ingest: deduplicated, all-or-nothing, serialized; bad rows quarantined, never dropped silently."""
from __future__ import annotations

import pandas as pd
import pytest
from filelock import FileLock

import history.schema as schema
from history.ingest import InvalidLog, StoreBusy, ingest, rejected_path_for
from history.schema import read_log, write_log
from history.simulate import simulate


@pytest.fixture(scope="module")
def logs(catalog) -> tuple[pd.DataFrame, pd.DataFrame]:
    first = simulate(300, seed=31, catalog=catalog)
    second = simulate(200, seed=32, catalog=catalog)
    return first, second


def test_ingest_appends_and_skips_ids_already_stored(logs, catalog, tmp_path):
    first, second = logs
    store = tmp_path / ".roost" / "history" / "deployments.parquet"
    write_log(first, tmp_path / "a.csv")
    result = ingest(tmp_path / "a.csv", store=store, catalog=catalog)
    assert (result.rows_added, result.duplicates_skipped, result.rows_in_store) == (300, 0, 300)

    # The second export overlaps the first by 50 rows whose values changed: stored rows win.
    overlap = first.head(50).assign(cost_usd=first.head(50)["cost_usd"] * 2)
    write_log(pd.concat([overlap, second], ignore_index=True), tmp_path / "b.parquet")
    result = ingest(tmp_path / "b.parquet", store=store, catalog=catalog)
    assert (result.rows_added, result.duplicates_skipped, result.rows_in_store) == (200, 50, 500)
    stored = read_log(store)
    assert stored["deployment_id"].is_unique
    kept = stored.set_index("deployment_id").loc[first.head(50)["deployment_id"], "cost_usd"]
    assert kept.to_numpy() == pytest.approx(first.head(50)["cost_usd"].to_numpy())

    again = ingest(tmp_path / "b.parquet", store=store, catalog=catalog)
    assert (again.rows_added, again.duplicates_skipped, again.rows_in_store) == (0, 250, 500)


def test_an_invalid_log_is_refused_whole_and_the_store_is_untouched(logs, catalog, tmp_path):
    first, second = logs
    store = tmp_path / "store.parquet"
    write_log(first, tmp_path / "a.csv")
    ingest(tmp_path / "a.csv", store=store, catalog=catalog)
    before = store.read_bytes()
    bad = second.copy()
    bad.loc[5, "hours"] = -2.0
    write_log(bad, tmp_path / "bad.csv")
    with pytest.raises(InvalidLog) as info:
        ingest(tmp_path / "bad.csv", store=store, catalog=catalog)
    assert "bad.csv: row 7: hours: must be > 0" in str(info.value)
    assert store.read_bytes() == before
    assert not rejected_path_for(tmp_path / "bad.csv").exists()


def test_skip_invalid_quarantines_bad_rows_with_reasons_and_ingests_the_rest(logs, catalog, tmp_path):
    _, second = logs
    bad = second.copy()
    bad.loc[3, "cloud"] = "aws "
    bad.loc[9, "gpu_utilization"] = 75.0
    write_log(bad, tmp_path / "export.csv.gz")
    result = ingest(tmp_path / "export.csv.gz", store=tmp_path / "s.parquet", catalog=catalog, skip_invalid=True)
    assert result.rows_added == 198
    assert result.check.rejected_path == tmp_path / "export.rejected.csv"
    rejected = pd.read_csv(result.check.rejected_path)
    assert list(rejected["row"]) == [5, 11]
    assert "cloud: unknown cloud 'aws '" in rejected.loc[0, "reason"]
    assert "gpu_utilization: must be a fraction in [0, 1]" in rejected.loc[1, "reason"]
    assert set(rejected["deployment_id"]) == {bad.loc[3, "deployment_id"], bad.loc[9, "deployment_id"]}


def test_an_interrupted_ingest_leaves_the_history_as_it_was(logs, catalog, tmp_path, monkeypatch):
    first, second = logs
    store = tmp_path / "store.parquet"
    write_log(first, tmp_path / "a.csv")
    ingest(tmp_path / "a.csv", store=store, catalog=catalog)
    before = store.read_bytes()
    write_log(second, tmp_path / "b.csv")

    def crash_during_rename(src, dst):
        raise KeyboardInterrupt("power cut")

    # The new file is fully written, then the process dies before it replaces the store.
    monkeypatch.setattr("placement.atomic.os.replace", crash_during_rename)
    with pytest.raises(KeyboardInterrupt):
        ingest(tmp_path / "b.csv", store=store, catalog=catalog)
    monkeypatch.undo()
    assert store.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []

    def fail_serialising(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(schema.pq, "write_table", fail_serialising)
    with pytest.raises(OSError):
        ingest(tmp_path / "b.csv", store=store, catalog=catalog)
    assert store.read_bytes() == before
    assert len(read_log(store)) == len(first)


def test_concurrent_ingests_serialize_on_the_store_lock(logs, catalog, tmp_path):
    first, _ = logs
    store = tmp_path / "store.parquet"
    write_log(first, tmp_path / "a.csv")
    with FileLock(str(store) + ".lock"):
        with pytest.raises(StoreBusy, match="another ingest holds the lock"):
            ingest(tmp_path / "a.csv", store=store, catalog=catalog, lock_timeout_s=0.2)
    assert not store.exists()
    assert ingest(tmp_path / "a.csv", store=store, catalog=catalog).rows_added == len(first)


def test_rejected_file_names_sit_beside_the_input(tmp_path):
    assert rejected_path_for(tmp_path / "h.csv").name == "h.rejected.csv"
    assert rejected_path_for(tmp_path / "h.csv.gz").name == "h.rejected.csv"
    assert rejected_path_for(tmp_path / "h.parquet").name == "h.rejected.csv"
