"""Outcomes linked to the decisions that produced them.

A log row that carries ``stack`` and ``plan_version`` (optional columns of log schema v1)
names the version record whose decisions it ran. Linking finds, in that record's plan, the
deployment of the same model profile (task, framework, parameters, precision) on the same
offering (cloud, region, instance type, accelerator), and copies what roost predicted for
it beside what was observed:

    decision                    the deployment's name in the fleet
    decision_model_version      the model that made the prediction (None: the baseline)
    predicted_rps_per_replica   throughput per replica at the SLO it was sized for
    predicted_p95_latency_ms    p95 at the planned load
    planned_replicas            replicas it was sized with
    link                        linked | no version | no deployment | unreadable store | "" (no link)

A row is never dropped or changed by linking; an unknown stack or version is a finding
("no version"), not an error, since logs outlive stores. ``summarize`` gives the
observed-against-predicted figures per decision that ``roost drift`` reports.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from history.schema import LINK_COLUMNS
from history.versions import StackHistory, StoreCorruptedError, UnknownVersionError, VersionStore
from placement.errors import InputError
from placement.plan import Deployment

PREDICTED = ("decision", "decision_model_version", "predicted_rps_per_replica", "predicted_p95_latency_ms",
             "planned_replicas", "link")
LINKED, NO_VERSION, NO_DEPLOYMENT, UNREADABLE = "linked", "no version", "no deployment", "unreadable store"


def has_links(frame: pd.DataFrame) -> bool:
    return all(c in frame.columns for c in LINK_COLUMNS) and frame["stack"].notna().any()


def _row_key(row: Mapping) -> tuple:
    accel = row.get("accelerator")
    accel = "" if accel is None or (isinstance(accel, float) and np.isnan(accel)) else str(accel)
    return (str(row["task"]), str(row["framework"]), round(float(row["params_millions"]), 6), str(row["precision"]),
            str(row["cloud"]), str(row["region"]), str(row["instance_type"]), accel)


def _deployment_key(d: Deployment) -> tuple:
    c = d.choice
    return (d.task, d.framework, round(float(d.params_millions), 6), d.precision, c.cloud.value, c.region,
            c.instance_type, c.accelerator or "")


def link_outcomes(frame: pd.DataFrame, store: VersionStore) -> pd.DataFrame:
    """``frame`` with the ``PREDICTED`` columns added (empty where a row carries no link)."""
    out = frame.copy()
    n = len(out)
    cols: dict[str, np.ndarray] = {c: np.full(n, None, dtype=object) for c in PREDICTED}
    cols["link"][:] = ""
    if not has_links(out):
        return _attach(out, cols)
    histories: dict[str, StackHistory | str] = {}
    linked_rows = np.flatnonzero(out["stack"].notna().to_numpy())
    for stack, rows in pd.Series(linked_rows).groupby(out["stack"].to_numpy()[linked_rows]):
        history = histories.setdefault(stack, _read(store, str(stack)))
        for i in rows.to_numpy():
            cols["link"][i] = _link_row(out.iloc[i], history, cols, i)
    return _attach(out, cols)


def _read(store: VersionStore, stack: str) -> StackHistory | str:
    try:
        return store.read(stack)
    except (StoreCorruptedError, InputError):
        return UNREADABLE


def _link_row(row: pd.Series, history: StackHistory | str, cols: dict[str, np.ndarray], i: int) -> str:
    if isinstance(history, str):
        return history
    try:
        record = history.get(int(row["plan_version"]))
    except (UnknownVersionError, TypeError, ValueError):
        return NO_VERSION
    key = _row_key(row)
    match = next((d for d in record.plan.deployments if _deployment_key(d) == key), None)
    if match is None:
        return NO_DEPLOYMENT
    cols["decision"][i] = match.name
    cols["decision_model_version"][i] = record.plan.model_version
    cols["predicted_rps_per_replica"][i] = match.choice.predicted_rps_per_replica
    cols["predicted_p95_latency_ms"][i] = match.choice.predicted_p95_latency_ms
    cols["planned_replicas"][i] = match.choice.replicas
    return LINKED


def _attach(out: pd.DataFrame, cols: dict[str, np.ndarray]) -> pd.DataFrame:
    for name, values in cols.items():
        out[name] = pd.to_numeric(values, errors="coerce") if name.startswith(("predicted", "planned")) else values
    return out


def summarize(linked: pd.DataFrame) -> dict:
    """How the linked outcomes compare with their decisions' predictions, per decision."""
    links = linked["link"].value_counts().to_dict() if "link" in linked.columns else {}
    rows = linked.loc[linked.get("link", pd.Series(dtype=object)) == LINKED] if links else linked.iloc[:0]
    out: dict = {"rows_with_link": int(sum(v for k, v in links.items() if k)), "linked": int(links.get(LINKED, 0)),
                 "not_linked": {k: int(v) for k, v in links.items() if k and k != LINKED}, "decisions": {}}
    for (stack, version, name), part in rows.groupby(["stack", "plan_version", "decision"]):
        p95 = pd.to_numeric(part["p95_latency_ms"], errors="coerce") / part["predicted_p95_latency_ms"]
        load = (pd.to_numeric(part["offered_rps"], errors="coerce") / pd.to_numeric(part["replicas"], errors="coerce")
                / part["predicted_rps_per_replica"])
        out["decisions"][f"{stack}@{int(version)}/{name}"] = {
            "windows": int(len(part)), "model_version": part["decision_model_version"].iloc[0],
            "slo_met_share": float(part["slo_met"].astype(bool).mean()),
            "median_p95_observed_over_predicted": _median(p95),
            "median_load_over_predicted_rps": _median(load),
            "median_replicas_over_planned": _median(pd.to_numeric(part["replicas"], errors="coerce")
                                                    / part["planned_replicas"]),
        }
    return out


def _median(values: pd.Series) -> float | None:
    finite = values[np.isfinite(values.astype(float))]
    return float(finite.median()) if len(finite) else None
