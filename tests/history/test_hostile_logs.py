"""Hostile and careless deployment logs: each is a one-line refusal (exit 2) or a correct result."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from history.sample import bundled_history
from history.schema import read_log, write_log
from roost.cli import main


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return bundled_history().head(6).reset_index(drop=True)


def roost(*args: str):
    return CliRunner().invoke(main, list(args))


def refused(result, *words: str) -> str:
    assert result.exit_code == 2, result.output
    assert "internal error" not in result.output and "Traceback" not in result.output
    assert all(w in result.output for w in words), result.output
    return result.output


def test_a_timestamp_in_year_2999_is_a_row_error(tmp_path, rows):
    path = tmp_path / "log.csv"
    write_log(rows, path)
    lines = path.read_text().splitlines()
    cells = lines[1].split(",")
    cells[1] = "2999" + cells[1][4:]
    lines[1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    refused(roost("history", "validate", str(path)), "row 2: observed_at", "1678 and 2261")


@pytest.mark.parametrize("name", ["log.csv", "log.parquet"])
def test_a_file_with_a_header_and_no_rows_is_valid_and_adds_nothing(tmp_path, rows, name):
    path = tmp_path / name
    write_log(rows.head(0), path)
    assert roost("history", "validate", str(path)).exit_code == 0
    store = tmp_path / "store.parquet"
    result = roost("history", "ingest", str(path), "--into", str(store), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows_added"] == 0 and not store.exists()


def test_a_truncated_gzip_is_refused(tmp_path, rows):
    whole = tmp_path / "whole.csv.gz"
    write_log(rows, whole)
    cut = tmp_path / "cut.csv.gz"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    refused(roost("history", "validate", str(cut)), "cut.csv.gz", "cannot read")
    assert gzip.decompress(data)  # the whole one was fine


def test_parquet_ids_stored_as_bytes_are_decoded_not_mangled(tmp_path, rows):
    frame = rows.copy()
    frame["deployment_id"] = frame["deployment_id"].map(lambda s: s.encode())
    frame.loc[1, "deployment_id"] = b"\xff\xfe"
    path = tmp_path / "bytes.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    out = refused(roost("history", "validate", str(path)), "row 3: deployment_id: must be text")
    assert "row 2" not in out
    store = tmp_path / "store.parquet"
    assert roost("history", "ingest", str(path), "--into", str(store), "--skip-invalid").exit_code == 0
    assert read_log(store)["deployment_id"].tolist() == [rows.loc[i, "deployment_id"] for i in (0, 2, 3, 4, 5)]


def test_an_id_with_surrounding_whitespace_is_refused_not_stored_twice(tmp_path, rows):
    path = tmp_path / "log.csv"
    frame = rows.copy()
    frame.loc[2, "deployment_id"] = " " + frame.loc[0, "deployment_id"]
    write_log(frame, path)
    refused(roost("history", "validate", str(path)), "row 4: deployment_id: has leading or trailing whitespace")


def test_an_unknown_extra_column_is_refused_with_a_hint(tmp_path, rows):
    frame = rows.copy()
    frame["precison"] = "fp16"
    path = tmp_path / "log.parquet"
    write_log(frame, path)
    store = tmp_path / "store.parquet"
    out = refused(roost("history", "ingest", str(path), "--into", str(store)), "precison", "unknown column",
                  'did you mean "precision"')
    assert "row 1" in out and not store.exists()


def test_extra_columns_of_another_type_than_the_store_are_refused_not_a_crash(tmp_path, rows):
    store = tmp_path / "store.parquet"
    first, second = rows.head(3).copy(), rows.tail(3).copy()
    first["extra"], second["extra"] = 1.5, "text"
    for i, frame in enumerate((first, second)):
        path = tmp_path / f"log{i}.parquet"
        write_log(frame, path)
        refused(roost("history", "ingest", str(path), "--into", str(store)), "extra")
    assert not store.exists()


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_a_binary_catalog_is_refused(tmp_path, rows, suffix):
    log = tmp_path / "log.csv"
    write_log(rows, log)
    catalog = tmp_path / f"catalog{suffix}"
    catalog.write_bytes(bytes(range(128, 256)) * 3)
    refused(roost("history", "validate", str(log), "--catalog", str(catalog)), "binary")


@pytest.mark.parametrize("price", ["NaN", "Infinity", "-Infinity"])
def test_a_catalog_with_non_finite_prices_is_refused(tmp_path, price):
    bundled = json.loads((Path(__file__).resolve().parents[2] / "placement" / "data" / "catalog.json").read_text())
    bundled["offerings"][0]["price_hour_usd"] = price
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(bundled).replace(f'"{price}"', price))
    out = refused(roost("catalog", "show", "--catalog", str(path)), "offerings[0]", "finite")
    assert "inf" not in out.lower().replace("infinity", "")


@pytest.mark.parametrize("value", ["1e30", "inf", "-1e300"])
def test_a_whole_number_column_beyond_int64_is_a_row_error(tmp_path, rows, value):
    # Found by benchmarks/fuzz_campaign.py: the cast to int64 raised (exit 70).
    frame = rows.copy()
    frame["replicas"] = frame["replicas"].astype(object)
    frame.loc[1, "replicas"] = value
    path = tmp_path / "log.csv"
    frame.astype(str).to_csv(path, index=False)
    refused(roost("history", "validate", str(path)), "row 3: replicas")
