"""The simulator: deterministic, schema-valid, observational, and faithful to its world."""
from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from history.population import FAMILIES, sample_specs
from history.schema import COLUMNS, validate
from history.simulate import simulate
from history.world import World
from placement.sizing import INTERRUPTION_RATE_BY_BUCKET
from placement.types import HOURS_PER_MONTH, Cloud, SpotPolicy

NOW = datetime(2026, 11, 22, tzinfo=UTC)


@pytest.fixture(scope="module")
def log(catalog) -> pd.DataFrame:
    return simulate(30_000, seed=7, catalog=catalog)


def test_same_seed_same_rows_other_seed_other_rows(catalog):
    a = simulate(3_000, seed=5, catalog=catalog)
    b = simulate(3_000, seed=5, catalog=catalog)
    pd.testing.assert_frame_equal(a, b)
    c = simulate(3_000, seed=6, catalog=catalog)
    assert not a["offered_rps"].equals(c["offered_rps"])
    assert set(a["deployment_id"]).isdisjoint(c["deployment_id"])


def test_rows_follow_schema_v1_and_validate(log, catalog):
    assert list(log.columns)[:len(COLUMNS)] == list(COLUMNS)
    assert validate(log, source="sim", catalog=catalog, now=NOW).ok
    assert log["deployment_id"].is_unique
    assert log["observed_at"].max() <= pd.Timestamp("2026-11-01T00:00:00Z")


def test_every_outcome_appears_and_most_windows_are_healthy(log):
    shares = log["outcome"].value_counts(normalize=True)
    assert set(shares.index) == {"ok", "oom", "capacity_unavailable", "slo_violation", "crash_loop", "interrupted"}
    assert shares["ok"] > 0.6
    assert shares["slo_violation"] < 0.3


def test_logging_policy_is_biased_like_real_teams(log, catalog):
    # Mostly on-demand, over-provisioned, on popular hardware; yet wide enough to learn from.
    assert (log["purchase"] == "on_demand").mean() > 0.7
    ok = log[log["outcome"] == "ok"]
    assert ok["gpu_utilization"].dropna().median() < 0.4
    gpus = log["accelerator"].value_counts(normalize=True)
    assert gpus[["A10G", "L4", "T4"]].sum() > 0.4
    assert gpus.get("B300", 0.0) < 0.01
    keys = log[["cloud", "region", "instance_type", "accelerator"]].astype(str).drop_duplicates()
    assert len(keys) > 0.6 * len(catalog)


def test_rows_without_service_have_no_throughput_or_latency(log):
    down = log[log["outcome"].isin(["oom", "capacity_unavailable", "crash_loop"])]
    assert len(down) > 100
    assert down["achieved_rps_per_replica"].isna().all()
    assert down["p95_latency_ms"].isna().all()
    assert (log.loc[log["outcome"] == "capacity_unavailable", "cost_usd"] == 0).all()


def test_oom_rows_are_exactly_the_ones_the_world_says_do_not_fit(log, catalog):
    world = World(catalog)
    truth = world.truth_frame(log)
    running = log["outcome"].isin(["ok", "slo_violation", "interrupted"])
    assert not truth.loc[log["outcome"] == "oom", "fits"].any()
    assert truth.loc[running, "fits"].all()


def test_achieved_throughput_is_a_lower_bound_when_the_slo_held_and_capacity_when_it_did_not(log, catalog):
    world = World(catalog)
    truth = world.truth_frame(log)
    per_replica = log["offered_rps"] / log["replicas"]
    ok = log["outcome"] == "ok"
    assert np.allclose(log.loc[ok, "achieved_rps_per_replica"], per_replica[ok], rtol=1e-4)
    missed = (log["outcome"] == "slo_violation") & (truth["capacity_rps"] > 0)
    assert (log.loc[missed, "achieved_rps_per_replica"] <= per_replica[missed] * (1 + 1e-4)).all()
    # Under noise (σ ≈ 8 %) the sustained throughput tracks the world's capacity.
    saturated = missed & (per_replica > 1.3 * truth["capacity_rps"])
    ratio = log.loc[saturated, "achieved_rps_per_replica"] / truth.loc[saturated, "capacity_rps"]
    assert len(ratio) > 50
    assert 0.85 < ratio.median() < 1.15


def test_latencies_are_ordered_in_every_row(log):
    has = log["p95_latency_ms"].notna()
    assert (log.loc[has, "p50_latency_ms"] <= log.loc[has, "p95_latency_ms"]).all()
    assert (log.loc[has, "p95_latency_ms"] <= log.loc[has, "p99_latency_ms"]).all()
    assert (log["slo_met"] == (log["p95_latency_ms"] <= log["slo_p95_latency_ms"])).all()


def test_spot_rows_are_interrupted_at_the_advised_rates(catalog):
    """Pooled over AWS spot rows per Spot Advisor bucket: interruptions / instance-months ≈ rate."""
    specs = [dataclasses.replace(s, spot=SpotPolicy.PREFER, clouds=(Cloud.AWS,), regions=None)
             for s in sample_specs(500, seed=12)]
    frame = simulate(60_000, seed=12, catalog=catalog, specs=specs)
    buckets = {(o.region, o.instance_type): o.spot_interruption_bucket for o in catalog if o.cloud is Cloud.AWS}
    spot = frame[(frame["purchase"] == "spot") & frame["outcome"].isin(["ok", "slo_violation", "interrupted"])]
    bucket = [buckets.get((r, t)) for r, t in zip(spot["region"], spot["instance_type"])]
    spot = spot.assign(bucket=bucket, instance_months=spot["replicas"] * spot["hours"] / HOURS_PER_MONTH)
    checked = 0
    for name, rate in INTERRUPTION_RATE_BY_BUCKET.items():
        rows = spot[spot["bucket"] == name]
        expected = rate * rows["instance_months"].sum()
        if expected < 30:
            continue
        observed = rows["interruptions"].sum()
        # Poisson: within 4 standard deviations and 25 % of the advised rate.
        assert abs(observed - expected) < max(4 * np.sqrt(expected), 0.0) + 1e-9, (name, observed, expected)
        assert abs(observed / expected - 1) < 0.25, (name, observed, expected)
        checked += 1
    assert checked >= 3
    assert (frame.loc[frame["purchase"] == "on_demand", "interruptions"] == 0).all()


def test_specs_constraints_are_honoured(catalog):
    specs = [dataclasses.replace(s, clouds=(Cloud.GCP,), regions=("europe-west4",), spot=SpotPolicy.NEVER)
             for s in sample_specs(30, seed=2)]
    frame = simulate(2_000, seed=2, catalog=catalog, specs=specs)
    assert set(frame["cloud"]) == {"gcp"} and set(frame["region"]) == {"europe-west4"}
    assert (frame["purchase"] == "on_demand").all()


def test_progress_is_reported_up_to_the_total(catalog):
    seen = []
    simulate(500, seed=1, catalog=catalog, on_progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (500, 500)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_population_is_varied_and_deterministic():
    a = sample_specs(400, seed=9)
    assert a == sample_specs(400, seed=9)
    assert len({s.task for s in a}) == len({f.task for f in FAMILIES})
    params = np.array([s.params_millions for s in a])
    assert params.min() < 5 and params.max() > 100_000          # small tabular models to 100B+ LLMs
    assert len({s.name for s in a}) == len(a)
    unconstrained = sum(s.clouds is None and s.regions is None for s in a) / len(a)
    assert unconstrained > 0.6
