"""Log schema v1: every kind of broken row is caught and located; files round-trip."""
from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from history.schema import ALL_COLUMNS, LOG_SCHEMA_VERSION, read_log, validate, write_log
from history.simulate import simulate
from placement.errors import InputError

NOW = datetime(2026, 11, 22, tzinfo=UTC)


@pytest.fixture(scope="module")
def good(catalog) -> pd.DataFrame:
    frame = simulate(400, seed=21, catalog=catalog)
    assert validate(frame, source="good.csv", catalog=catalog, now=NOW).ok
    return frame


def first(df: pd.DataFrame, condition) -> int:
    return int(df.index[condition(df)][0])


def serving(df):
    return df["outcome"].eq("ok") & df["purchase"].eq("on_demand")


def set_text(df: pd.DataFrame, column: str, row: int, value) -> None:
    df[column] = df[column].astype(object)
    df.loc[row, column] = value


# (kind, mutate(df) -> row, column, expected words in the reason)
def _wrong_number(df):
    r = first(df, serving)
    set_text(df, "offered_rps", r, "fast")
    return r, "offered_rps", "must be a number (got 'fast')"


def _fractional_replicas(df):
    r = first(df, serving)
    set_text(df, "replicas", r, 2.5)
    return r, "replicas", "whole number"


def _negative_params(df):
    r = first(df, serving)
    df.loc[r, "params_millions"] = -3.0
    return r, "params_millions", "must be > 0"


def _unknown_task(df):
    r = first(df, lambda d: d["task"].eq("llm-generation"))
    df.loc[r, "task"] = "llm-gen"
    return r, "task", 'unknown task \'llm-gen\'; expected one of'


def _unknown_precision(df):
    r = first(df, serving)
    df.loc[r, "precision"] = "fp64"
    return r, "precision", "unknown precision 'fp64'"


def _unknown_cloud(df):
    r = first(df, serving)
    df.loc[r, "cloud"] = "amazon"
    return r, "cloud", "unknown cloud 'amazon'"


def _unknown_region(df):
    r = first(df, lambda d: d["cloud"].eq("aws"))
    df.loc[r, "region"] = "us-east-9"
    return r, "region", 'unknown aws region \'us-east-9\' (did you mean "us-east-1"?)'


def _unknown_instance_type(df):
    r = first(df, lambda d: d["cloud"].eq("aws") & d["region"].eq("us-east-1"))
    df.loc[r, ["instance_type", "accelerator", "accelerator_count"]] = ["g5.xlarg", "A10G", 1.0]
    return r, "instance_type", 'unknown instance type \'g5.xlarg\' in aws/us-east-1 (did you mean "g5.xlarge"?)'


def _accelerator_mismatch(df):
    r = first(df, lambda d: d["cloud"].eq("aws") & d["region"].eq("us-east-1"))
    df.loc[r, ["instance_type", "accelerator", "accelerator_count", "purchase", "interruptions"]] = \
        ["g5.xlarge", "L4", 1.0, "on_demand", 0]
    if df.loc[r, "outcome"] == "interrupted":
        df.loc[r, "outcome"] = "ok" if df.loc[r, "slo_met"] else "slo_violation"
    return r, "accelerator", "L4×1 does not match the catalog offering aws/us-east-1/g5.xlarge (A10G×1)"


def _spot_without_spot_price(df):
    r = first(df, serving)
    df.loc[r, ["cloud", "region", "instance_type", "accelerator", "accelerator_count", "purchase"]] = \
        ["aws", "us-east-1", "m8i.large", None, 0.0, "spot"]
    return r, "purchase", "is spot, but aws/us-east-1/m8i.large has no spot price in the catalog"


def _oom_with_throughput(df):
    r = first(df, serving)
    df.loc[r, "outcome"] = "oom"
    return r, "achieved_rps_per_replica", "must be empty: an oom row has no throughput"


def _p99_below_p95(df):
    r = first(df, serving)
    df.loc[r, "p99_latency_ms"] = df.loc[r, "p95_latency_ms"] * 0.5
    return r, "p99_latency_ms", "must be ≥ p95_latency_ms"


def _p95_below_p50(df):
    r = first(df, serving)
    df.loc[r, "p50_latency_ms"] = df.loc[r, "p95_latency_ms"] * 1.5
    return r, "p95_latency_ms", "must be ≥ p50_latency_ms"


def _slo_met_but_p95_above(df):
    r = first(df, serving)
    df.loc[r, "p95_latency_ms"] = df.loc[r, "slo_p95_latency_ms"] * 1.1
    df.loc[r, "p99_latency_ms"] = df.loc[r, "slo_p95_latency_ms"] * 1.2
    return r, "slo_met", "is true but p95_latency_ms is above slo_p95_latency_ms"


def _duplicate_id(df):
    r = first(df, serving)
    other = int(df.index[-1])
    df.loc[other, "deployment_id"] = df.loc[r, "deployment_id"]
    return other, "deployment_id", f"(first at row {r + 2})"


def _zero_hours(df):
    r = first(df, serving)
    df.loc[r, "hours"] = 0.0
    return r, "hours", "must be > 0"


def _negative_cost(df):
    r = first(df, serving)
    df.loc[r, "cost_usd"] = -12.0
    return r, "cost_usd", "must be ≥ 0"


def _cost_in_cents(df):
    r = first(df, serving)
    df.loc[r, "cost_usd"] = df.loc[r, "cost_usd"] * 100
    return r, "cost_usd", "is it in cents or per month?"


def _utilisation_as_percentage(df):
    r = first(df, serving)
    df.loc[r, "cpu_utilization"] = 85.0
    return r, "cpu_utilization", "must be a fraction in [0, 1]"


def _interruptions_on_demand(df):
    r = first(df, serving)
    df.loc[r, "interruptions"] = 2
    return r, "interruptions", "must be 0 on on_demand rows"


def _unparseable_timestamp(df):
    r = first(df, serving)
    set_text(df, "observed_at", r, "yesterday")
    return r, "observed_at", "must be an ISO 8601 timestamp (got 'yesterday')"


def _future_timestamp(df):
    r = first(df, serving)
    df.loc[r, "observed_at"] = pd.Timestamp("2027-03-01T00:00:00Z")
    return r, "observed_at", "is in the future"


def _ok_but_slo_missed(df):
    r = first(df, lambda d: d["outcome"].eq("slo_violation") & d["purchase"].eq("on_demand"))
    df.loc[r, "outcome"] = "ok"
    return r, "outcome", "is ok but slo_met is false"


def _served_without_latency(df):
    r = first(df, serving)
    df.loc[r, "p95_latency_ms"] = None
    return r, "p95_latency_ms", "is required when the replicas served"


def _tokens_on_images(df):
    r = first(df, lambda d: d["task"].isin(["image-classification", "tabular", "object-detection"]))
    df["input_tokens"] = df["input_tokens"].astype("Int64")
    df.loc[r, "input_tokens"] = 512
    return r, "input_tokens", "only applies to text, speech and LLM tasks"


def _count_without_accelerator(df):
    r = first(df, lambda d: d["accelerator"].isna() & serving(d))
    df.loc[r, "accelerator_count"] = 1.0
    return r, "accelerator", "is required when accelerator_count > 0"


def _empty_required(df):
    r = first(df, serving)
    df.loc[r, "region"] = None
    return r, "region", "is required"


def _bad_boolean(df):
    r = first(df, serving)
    set_text(df, "slo_met", r, "maybe")
    return r, "slo_met", "must be true or false (got 'maybe')"


def _interrupted_on_demand(df):
    r = first(df, serving)
    df.loc[r, ["outcome", "interruptions"]] = ["interrupted", 0]
    return r, "outcome", "interrupted applies to spot rows only"


BROKEN = [_wrong_number, _fractional_replicas, _negative_params, _unknown_task, _unknown_precision,
          _unknown_cloud, _unknown_region, _unknown_instance_type, _accelerator_mismatch,
          _spot_without_spot_price, _oom_with_throughput, _p99_below_p95, _p95_below_p50,
          _slo_met_but_p95_above, _duplicate_id, _zero_hours, _negative_cost, _cost_in_cents,
          _utilisation_as_percentage, _interruptions_on_demand, _unparseable_timestamp, _future_timestamp,
          _ok_but_slo_missed, _served_without_latency, _tokens_on_images, _count_without_accelerator,
          _empty_required, _bad_boolean, _interrupted_on_demand]


@pytest.mark.parametrize("mutate", BROKEN, ids=lambda f: f.__name__.strip("_"))
def test_each_kind_of_broken_row_is_reported_with_row_column_and_reason(good, catalog, mutate):
    df = good.copy()
    row, column, words = mutate(df)
    report = validate(df, source="history.csv", catalog=catalog, now=NOW)
    assert not report.ok
    hits = [e for e in report.errors if e.row == row + 2 and e.column == column]
    assert hits, f"expected {column} on row {row + 2}, got {[str(e) for e in report.errors]}"
    assert any(words in e.reason for e in hits), [e.reason for e in hits]
    assert str(hits[0]).startswith(f"history.csv: row {row + 2}: {column}: ")
    # Only the broken row is invalid.
    assert report.invalid_rows == 1 and not report.valid_mask[row]


def test_at_least_fifteen_kinds_of_broken_rows_are_covered():
    assert len(BROKEN) >= 15


def test_a_missing_column_is_one_error_on_the_header_with_a_hint(good, catalog):
    df = good.drop(columns=["p95_latency_ms"]).rename(columns={"cost_usd": "cost_usdd"})
    report = validate(df, source="h.csv", catalog=catalog, now=NOW)
    header = [e for e in report.errors if e.row == 1]
    assert {e.column for e in header} == {"p95_latency_ms", "cost_usd"}
    assert any('did you mean "cost_usdd"' in e.reason for e in header)
    assert report.valid_rows == 0


def test_row_numbers_match_the_lines_a_spreadsheet_shows(good, catalog, tmp_path):
    df = good.copy()
    df.loc[10, "hours"] = -1.0
    path = tmp_path / "history.csv"
    write_log(df, path)
    report = validate(read_log(path), source=str(path), catalog=catalog, now=NOW)
    (error,) = report.errors
    lines = path.read_text().splitlines()
    assert error.row == 12
    assert lines[error.row - 1].startswith(df.loc[10, "deployment_id"] + ",")


def test_every_bad_row_is_reported_not_just_the_first(good, catalog):
    df = good.copy()
    bad_rows = [3, 50, 51, 300]
    df.loc[bad_rows, "hours"] = 0.0
    report = validate(df, source="h.csv", catalog=catalog, now=NOW)
    assert sorted(e.row for e in report.errors) == [r + 2 for r in bad_rows]
    assert report.invalid_rows == len(bad_rows)


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".parquet"])
def test_logs_round_trip_through_every_format(good, tmp_path, suffix):
    path = tmp_path / f"log{suffix}"
    write_log(good, path)
    back = read_log(path)
    assert list(back.columns) == list(ALL_COLUMNS)
    pd.testing.assert_frame_equal(back, good, check_exact=False, rtol=1e-5)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**31 - 1), rows=st.integers(1, 60), suffix=st.sampled_from([".csv", ".parquet"]))
def test_any_simulated_log_round_trips_and_validates(catalog, tmp_path_factory, seed, rows, suffix):
    frame = simulate(rows, seed=seed, catalog=catalog)
    path = tmp_path_factory.mktemp("rt") / f"log{suffix}"
    write_log(frame, path)
    back = read_log(path)
    pd.testing.assert_frame_equal(back, frame, check_exact=False, rtol=1e-5)
    assert validate(back, source=str(path), catalog=catalog, now=NOW).ok


def test_parquet_from_a_newer_schema_is_refused(good, tmp_path):
    path = tmp_path / "new.parquet"
    table = pa.Table.from_pandas(good.head(3), preserve_index=False)
    table = table.replace_schema_metadata({b"roost.log_schema_version": str(LOG_SCHEMA_VERSION + 1).encode()})
    pq.write_table(table, path)
    with pytest.raises(InputError, match="newer roost"):
        read_log(path)


def test_unreadable_inputs_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_log(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="unsupported log format"):
        read_log(tmp_path / "log.xlsx")
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really")
    with pytest.raises(InputError, match="cannot read"):
        read_log(broken)
