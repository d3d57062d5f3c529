"""`roost drift`: injected drift is found and named, same-world outcomes pass, bad input exits 2.

The tiny session model was trained on 5,000 rows of 50 profiles (seed 3); new outcomes are
fresh windows of the same fleet, from the same world or a shifted one.
"""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from history.population import sample_specs
from history.schema import write_log
from history.simulate import simulate
from history.world import World, WorldShift
from roost.cli import main


def outcomes(catalog, seed: int, shift: WorldShift | None = None, rows: int = 3000):
    world = World(catalog, shift=shift) if shift else None
    return simulate(rows, seed=seed, catalog=catalog, specs=sample_specs(50, seed=3), world=world)


def drift(path, model, *extra):
    result = CliRunner().invoke(main, ["drift", "--logs", str(path), "--model", str(model), "--json", *extra])
    return result, (json.loads(result.output) if result.output.startswith("{") else None)


@pytest.fixture(scope="module")
def same_world(catalog, tmp_path_factory):
    path = tmp_path_factory.mktemp("drift") / "same.parquet"
    write_log(outcomes(catalog, seed=11), path)
    return path


def test_same_world_outcomes_pass(same_world, saved_model):
    result, report = drift(same_world, saved_model)
    assert result.exit_code == 0, result.output
    assert report["verdict"] == "no_drift" and report["findings"] == []
    # Every figure is there for pipelines.
    cap = report["prediction_error"]["capacity"]
    assert cap["overall"]["deployments"] > 100 and "A10G" in cap["by"]["accelerator"]
    assert {"median_abs_pct_error", "p90_abs_pct_error", "bias_pct"} <= set(cap["overall"])
    assert report["data_drift"]["available"] and "params_millions" in report["data_drift"]["features"]
    assert report["catalog_drift"]["prices_as_of"] == "2026-08"


def test_slower_gpus_are_drift_named_by_accelerator(catalog, saved_model, tmp_path):
    path = tmp_path / "slow.parquet"
    write_log(outcomes(catalog, seed=21, shift=WorldShift(gpu_speed=0.6)), path)
    result, report = drift(path, saved_model)
    assert result.exit_code == 1, result.output
    capacity = [f for f in report["findings"] if f["metric"] == "capacity"]
    assert any(f["group"] == "all" and f["value"] < -15 for f in capacity)
    named = {f["name"] for f in capacity if f["group"] == "accelerator"}
    assert named and named <= set(catalog.accelerators)  # GPUs, never the CPU-only offerings
    assert "none" not in named


def test_one_slower_accelerator_is_the_one_named(catalog, saved_model, tmp_path):
    path = tmp_path / "slow-a10g.parquet"
    write_log(outcomes(catalog, seed=21, shift=WorldShift(gpu_speed=0.6, accelerator="A10G")), path)
    result, report = drift(path, saved_model)
    assert result.exit_code == 1
    accelerators = {f["name"] for f in report["findings"] if f["group"] == "accelerator"}
    assert accelerators == {"A10G"}


def test_a_price_cut_is_catalog_drift_named_by_cloud(catalog, saved_model, tmp_path):
    path = tmp_path / "cut.parquet"
    write_log(outcomes(catalog, seed=11, shift=WorldShift(price_factor=0.7, cloud="gcp")), path)
    result, report = drift(path, saved_model)
    assert result.exit_code == 1
    prices = [f for f in report["findings"] if f["metric"] == "billed_price"]
    assert [f["name"] for f in prices] == ["gcp"] and -35 < prices[0]["value"] < -25
    assert "gcp: billed 30% below" in CliRunner().invoke(main, ["drift", "--logs", str(path), "--model",
                                                                 str(saved_model)]).output


def test_stale_prices_and_missing_offerings_are_catalog_drift(catalog, saved_model, same_world, tmp_path):
    result, report = drift(same_world, saved_model, "--max-price-age-days", "30")
    assert result.exit_code == 1 and [f["metric"] for f in report["findings"]] == ["price_age"]
    frame = outcomes(catalog, seed=11)
    frame.loc[:9, "instance_type"] = "g9.retired"
    path = tmp_path / "retired.csv"
    write_log(frame, path)
    result, report = drift(path, saved_model)
    assert result.exit_code == 1
    missing = report["catalog_drift"]["missing_offerings"]
    assert missing["rows"] == 10 and all("g9.retired" in o for o in missing["offerings"])


def test_bad_input_is_one_line_and_exit_2(saved_model, same_world, tmp_path):
    other = tmp_path / "other.csv"
    other.write_text("when,what\n2026-01-01,something\n")
    for args in (["--logs", str(other), "--model", str(saved_model)],
                 ["--logs", str(same_world), "--model", "m-doesnotexist"],
                 ["--project", str(tmp_path), "--model", str(saved_model)]):
        result = CliRunner().invoke(main, ["drift", *args])
        assert result.exit_code == 2, result.output
        assert result.output.count("\n") == 1 and result.output.startswith("Error: "), result.output


def test_outcomes_that_name_their_decision_are_compared_with_it(catalog, saved_model, example_plan, tmp_path):
    import pandas as pd

    from history.versions import Provenance, VersionDraft, VersionStore

    store = VersionStore(str(tmp_path / "versions"))
    with store.writer("prod") as w:
        w.append(VersionDraft(reason="plan", plan=example_plan, provenance=Provenance(author="ci", roost_version="t")))
    d = example_plan.deployments[1]
    frame = outcomes(catalog, seed=11)
    frame["stack"], frame["plan_version"] = None, pd.array([pd.NA] * len(frame), dtype="Int64")
    rows = frame.index[frame["outcome"] == "ok"][:5]
    c = d.choice
    frame.loc[rows, ["task", "framework", "params_millions", "precision", "cloud", "region", "instance_type",
                     "accelerator", "accelerator_count", "stack", "plan_version"]] = [
        d.task, d.framework, d.params_millions, d.precision, c.cloud.value, c.region, c.instance_type,
        c.accelerator, c.accelerator_count, "prod", 1]
    frame.loc[rows, ["input_tokens", "output_tokens"]] = pd.NA
    frame.loc[rows, "cost_usd"] = 1.0  # billed for another instance before; any plausible bill will do
    path = tmp_path / "linked.parquet"
    write_log(frame, path)
    result, report = drift(path, saved_model, "--store", str(tmp_path / "versions"))
    assert result.exit_code in (0, 1), result.output
    assert report["decisions"]["linked"] == 5
    assert report["decisions"]["decisions"][f"prod@1/{d.name}"]["windows"] == 5
