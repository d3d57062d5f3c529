"""`roost history …`: exit codes, one line per problem, --json for pipelines."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from history.schema import read_log, write_log
from history.simulate import simulate
from roost.cli import main


@pytest.fixture(scope="module")
def frame(catalog) -> pd.DataFrame:
    return simulate(300, seed=41, catalog=catalog)


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


def test_validate_a_clean_log_exits_0(runner, frame, tmp_path):
    path = tmp_path / "history.csv"
    write_log(frame, path)
    result = runner.invoke(main, ["history", "validate", str(path)])
    assert result.exit_code == 0, result.output
    assert "300 row(s), all valid" in result.output


def test_validate_prints_one_line_per_problem_and_exits_2(runner, frame, tmp_path):
    bad = frame.copy()
    bad.loc[15, "p95_latency_ms"] = bad.loc[15, "p50_latency_ms"] / 2 if bad.loc[15, "p50_latency_ms"] > 0 else -1
    bad.loc[20, "region"] = "us-east-9"
    path = tmp_path / "history.csv"
    write_log(bad, path)
    result = runner.invoke(main, ["history", "validate", str(path)])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert any(f"{path}: row 17: p95_latency_ms: must be ≥ p50_latency_ms" in line for line in lines) or \
        any(f"{path}: row 17: p95_latency_ms: must be > 0" in line for line in lines)
    assert any(f"{path}: row 22: region: unknown" in line for line in lines)
    assert "2 of 300 row(s) invalid" in result.output
    assert "Traceback" not in result.output


def test_validate_json_lists_every_error_and_keeps_the_exit_code(runner, frame, tmp_path):
    bad = frame.copy()
    bad.loc[[1, 2, 3], "hours"] = 0.0
    path = tmp_path / "history.parquet"
    write_log(bad, path)
    result = runner.invoke(main, ["history", "validate", str(path), "--json"])
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert data["ok"] is False and data["invalid_rows"] == 3
    assert [(e["row"], e["column"]) for e in data["errors"]] == [(3, "hours"), (4, "hours"), (5, "hours")]


def test_validate_skip_invalid_quarantines_and_exits_0(runner, frame, tmp_path):
    bad = frame.copy()
    bad.loc[7, "outcome"] = "exploded"
    path = tmp_path / "history.csv"
    write_log(bad, path)
    result = runner.invoke(main, ["history", "validate", str(path), "--skip-invalid"])
    assert result.exit_code == 0, result.output
    rejected = pd.read_csv(tmp_path / "history.rejected.csv")
    assert list(rejected["row"]) == [9]
    assert "unknown outcome 'exploded'" in rejected.loc[0, "reason"]


def test_ingest_into_the_project_store_by_default(runner, frame, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_log(frame, tmp_path / "export.csv")
    result = runner.invoke(main, ["history", "ingest", "export.csv", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["rows_added"] == 300 and data["duplicates_skipped"] == 0
    store = tmp_path / ".roost" / "history" / "deployments.parquet"
    assert data["store"] == str(store.relative_to(tmp_path)) and len(read_log(store)) == 300
    again = runner.invoke(main, ["history", "ingest", "export.csv"])
    assert again.exit_code == 0 and "duplicates skipped (already stored): 300" in again.output


def test_ingest_an_invalid_log_exits_2(runner, frame, tmp_path):
    bad = frame.copy()
    bad.loc[0, "replicas"] = 0
    write_log(bad, tmp_path / "export.csv")
    result = runner.invoke(main, ["history", "ingest", str(tmp_path / "export.csv"), "--into",
                                  str(tmp_path / "s.parquet")])
    assert result.exit_code == 2
    assert "row 2: replicas: must be ≥ 1" in result.output
    assert not (tmp_path / "s.parquet").exists()


def test_simulate_is_deterministic_through_the_cli(runner, tmp_path):
    for name in ("a.parquet", "b.parquet"):
        result = runner.invoke(main, ["history", "simulate", "--rows", "500", "--seed", "9", "-o",
                                      str(tmp_path / name), "--json"])
        assert result.exit_code == 0, result.output
    pd.testing.assert_frame_equal(read_log(tmp_path / "a.parquet"), read_log(tmp_path / "b.parquet"))
    summary = json.loads(result.stdout)
    assert summary["rows"] == 500 and summary["seed"] == 9


def test_show_summarises_a_file_or_the_bundled_sample(runner, frame, tmp_path, monkeypatch):
    write_log(frame, tmp_path / "h.csv")
    result = runner.invoke(main, ["history", "show", str(tmp_path / "h.csv"), "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["rows"] == 300 and abs(sum(data["outcomes"].values()) - 1) < 1e-3
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["history", "show", "--json"])
    assert json.loads(result.stdout)["source"] == "bundled sample"


def test_unknown_files_and_formats_are_input_errors(runner, tmp_path):
    result = runner.invoke(main, ["history", "validate", str(tmp_path / "missing.csv")])
    assert result.exit_code == 2 and "deployment log not found" in result.output
    (tmp_path / "h.json").write_text("{}")
    result = runner.invoke(main, ["history", "validate", str(tmp_path / "h.json")])
    assert result.exit_code == 2 and "unsupported log format" in result.output
