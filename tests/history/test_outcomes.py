"""Outcomes linked to decisions: optional stack/plan_version columns, matched to version records."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from history.ingest import ingest
from history.outcomes import LINKED, NO_DEPLOYMENT, NO_VERSION, link_outcomes, summarize
from history.schema import read_log, validate, write_log
from history.simulate import simulate
from history.versions import Provenance, VersionDraft, VersionStore

WHO = Provenance(author="Ada <ada@example.test>", roost_version="test")


@pytest.fixture(scope="module")
def log(catalog):
    return simulate(60, seed=17, catalog=catalog)


@pytest.fixture
def store(tmp_path, example_plan):
    store = VersionStore(str(tmp_path / "versions"))
    with store.writer("prod") as w:
        w.append(VersionDraft(reason="plan", plan=example_plan, provenance=WHO))
    return store


def ran(frame: pd.DataFrame, rows, deployment, *, stack="prod", version=1) -> pd.DataFrame:
    """Rows of ``frame`` rewritten as windows of ``deployment`` (its profile on its offering)."""
    out = frame.copy()
    if "stack" not in out.columns:
        out["stack"], out["plan_version"] = None, pd.array([pd.NA] * len(out), dtype="Int64")
    c = deployment.choice
    for i in rows:
        out.loc[i, ["task", "framework", "params_millions", "precision", "cloud", "region", "instance_type"]] = [
            deployment.task, deployment.framework, deployment.params_millions, deployment.precision, c.cloud.value,
            c.region, c.instance_type]
        out.loc[i, "accelerator"] = c.accelerator
        out.loc[i, "accelerator_count"] = c.accelerator_count if c.accelerator else 0.0
        out.loc[i, ["input_tokens", "output_tokens"]] = pd.NA  # an image model has none
        out.loc[i, "cost_usd"] = 1.0  # priced for another instance before; any plausible bill will do
        out.loc[i, "stack"], out.loc[i, "plan_version"] = stack, version
    return out


def test_rows_are_linked_to_what_their_decision_predicted(log, store, example_plan):
    d = store.read("prod").get(1).plan.deployments[1]  # as recorded (figures are stored rounded)
    frame = ran(log, [0, 1, 2], d)
    frame.loc[2, "plan_version"] = 9                                  # a version the store never had
    frame = ran(frame, [3], example_plan.deployments[0])
    frame.loc[3, "instance_type"] = "c7i.48xlarge"                    # not what the decision placed
    linked = link_outcomes(frame, store)
    assert list(linked["link"][:5]) == [LINKED, LINKED, NO_VERSION, NO_DEPLOYMENT, ""]
    assert linked.loc[0, "decision"] == d.name
    assert linked.loc[0, "predicted_rps_per_replica"] == d.choice.predicted_rps_per_replica
    assert linked.loc[1, "predicted_p95_latency_ms"] == d.choice.predicted_p95_latency_ms
    assert linked.loc[1, "planned_replicas"] == d.choice.replicas
    assert np.isnan(linked.loc[4, "predicted_rps_per_replica"])
    assert len(linked) == len(log) and linked[log.columns].equals(frame[log.columns])  # nothing else touched
    summary = summarize(linked)
    assert summary["linked"] == 2 and summary["not_linked"] == {NO_VERSION: 1, NO_DEPLOYMENT: 1}
    assert summary["decisions"][f"prod@1/{d.name}"]["windows"] == 2


def test_logs_without_link_columns_stay_valid_and_unlinked(log, store, catalog):
    assert validate(log, source="log", catalog=catalog).ok
    assert set(link_outcomes(log, store)["link"]) == {""}


def test_link_columns_are_validated(log, catalog, example_plan):
    frame = ran(log, [0, 1, 2, 3], example_plan.deployments[1]).astype({"plan_version": object})
    frame.loc[1, "stack"] = "prod stack!"
    frame.loc[2, "plan_version"] = 0
    frame.loc[3, "stack"] = None
    report = validate(frame, source="log.csv", catalog=catalog)
    problems = {(e.row, e.column) for e in report.errors}
    assert {(3, "stack"), (4, "plan_version"), (5, "stack")} <= problems
    assert (2, "stack") not in problems and (2, "plan_version") not in problems


def test_ingest_keeps_the_links(log, tmp_path, example_plan, catalog):
    frame = ran(log, [0, 1], example_plan.deployments[1])
    path = tmp_path / "linked.csv"
    write_log(frame, path)
    result = ingest(path, store=tmp_path / "store.parquet", catalog=catalog)
    stored = read_log(result.store)
    kept = stored.set_index("deployment_id").loc[frame.loc[[0, 1], "deployment_id"]]
    assert list(kept["stack"]) == ["prod", "prod"] and list(kept["plan_version"]) == [1, 1]
