"""Deployment log schema v1: one row per observed deployment window.

A row says: this model profile ran on this offering, bought this way, with this many
replicas, for ``hours``, under ``offered_rps`` of peak load, and this is what happened.
Teams export their own serving metrics into it; the simulator writes it too.

Columns (ordered; units in the names or below):

    deployment_id              text, unique per row (one deployment window)
    observed_at                ISO 8601 timestamp, UTC (end of the window); never in the future
    task … output_tokens       the model profile, as in the fleet file (tokens only for text,
                               speech and LLM tasks, else empty)
    cloud, region, instance_type, accelerator, accelerator_count
                               the offering, as in the catalog (GCP N1: machine type +
                               attached accelerator); empty accelerator and 0 for CPU-only
    purchase                   on_demand | spot
    replicas                   ≥ 1, replicas serving during the window
    offered_rps                peak offered load over all replicas, requests/s
    achieved_rps_per_replica   sustained throughput per replica at the SLO, requests/s.
                               When the window met the SLO it is the peak load a replica
                               served (offered_rps / replicas): a LOWER BOUND on capacity.
                               When the SLO was missed under load, it is the throughput the
                               replica sustained at the SLO: its capacity. Empty (no
                               throughput) for oom, crash_loop and capacity_unavailable.
    p50/p95/p99_latency_ms     request latency quantiles at peak load (p50 ≤ p95 ≤ p99)
    slo_p95_latency_ms         the SLO the deployment ran under
    slo_met                    p95_latency_ms ≤ slo_p95_latency_ms
    gpu_utilization            mean busy fraction of the GPUs in [0, 1]; empty on CPU offerings
    cpu_utilization            mean busy fraction of the vCPUs in [0, 1]
    interruptions              spot interruptions during the window (0 on-demand)
    outcome                    ok | oom | capacity_unavailable | slo_violation | crash_loop | interrupted
    hours                      window length, > 0
    cost_usd                   what the window cost (instances × hours × price), ≥ 0

Optional columns (a log may leave them out entirely; logs written before they existed
still validate, and empty cells mean "the task's default"):

    image_height, image_width  input image (output image for text-to-image) in pixels; image
                               tasks only (fleet key load.image_size)
    steps                      denoising steps; text-to-image only (load.steps)
    active_params_millions     parameters active per token (mixture of experts); ≤ params_millions
    gflops_per_request         explicit work per request, overriding every derivation
    world_version              the calibrated world a simulated row was drawn from; empty in
                               real logs (history.calibration)

Files: ``.csv``, ``.csv.gz`` and ``.parquet`` (zstd); Parquet files carry the schema
version in their metadata (``roost.log_schema_version``) and a newer one is refused.
"""
from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from history.atomic import atomic_write_bytes
from placement.catalog import Catalog
from placement.errors import InputError, did_you_mean
from placement.types import Cloud, Precision, Purchase, Task
from placement.workload import IMAGE_TASKS as WORKLOAD_IMAGE_TASKS
from placement.workload import TEXT_TASKS

LOG_SCHEMA_VERSION = 1
PARQUET_VERSION_KEY = b"roost.log_schema_version"

OUTCOMES = ("ok", "oom", "capacity_unavailable", "slo_violation", "crash_loop", "interrupted")
# Outcomes where the replicas never served: no throughput and no latencies.
NOT_SERVING = ("oom", "capacity_unavailable", "crash_loop")
TOKEN_TASKS = frozenset(t.value for t in TEXT_TASKS | {Task.SPEECH_RECOGNITION})

# Ordered column name -> dtype (pandas dtype name; "str" is text, nullable ints are "Int64").
COLUMNS: dict[str, str] = {
    "deployment_id": "str",
    "observed_at": "datetime64[ns, UTC]",
    "task": "str",
    "framework": "str",
    "params_millions": "float64",
    "precision": "str",
    "memory_gib": "float64",
    "input_tokens": "Int64",
    "output_tokens": "Int64",
    "cloud": "str",
    "region": "str",
    "instance_type": "str",
    "accelerator": "str",
    "accelerator_count": "float64",
    "purchase": "str",
    "replicas": "int64",
    "offered_rps": "float64",
    "achieved_rps_per_replica": "float64",
    "p50_latency_ms": "float64",
    "p95_latency_ms": "float64",
    "p99_latency_ms": "float64",
    "slo_p95_latency_ms": "float64",
    "slo_met": "bool",
    "gpu_utilization": "float64",
    "cpu_utilization": "float64",
    "interruptions": "int64",
    "outcome": "str",
    "hours": "float64",
    "cost_usd": "float64",
}
# Columns a log may omit (see the docstring); the simulator always writes them.
EXTRA_COLUMNS: dict[str, str] = {
    "image_height": "Int64",
    "image_width": "Int64",
    "steps": "Int64",
    "active_params_millions": "float64",
    "gflops_per_request": "float64",
    "world_version": "str",
}
IMAGE_TASKS = frozenset(t.value for t in WORKLOAD_IMAGE_TASKS)
# Columns that may be empty in a valid row (the rules below say when).
OPTIONAL = frozenset({"input_tokens", "output_tokens", "accelerator", "achieved_rps_per_replica",
                      "p50_latency_ms", "p95_latency_ms", "p99_latency_ms", "gpu_utilization",
                      "cpu_utilization"})
ENUMS: dict[str, tuple[str, ...]] = {
    "task": tuple(t.value for t in Task),
    "precision": tuple(p.value for p in Precision),
    "cloud": tuple(c.value for c in Cloud),
    "purchase": tuple(p.value for p in Purchase),
    "outcome": OUTCOMES,
}
ALL_COLUMNS: dict[str, str] = {**COLUMNS, **EXTRA_COLUMNS}
NUMERIC = tuple(c for c, t in ALL_COLUMNS.items() if t in ("float64", "int64", "Int64"))
INTEGER = tuple(c for c, t in ALL_COLUMNS.items() if t in ("int64", "Int64"))
# A recorded cost above this multiple of list price × replicas × hours is a unit mistake
# (cents, per-month figures), not a negotiated or egress-inflated price.
COST_LIST_PRICE_TOLERANCE = 10.0
FUTURE_TOLERANCE = timedelta(minutes=10)


@dataclass(frozen=True)
class RowError:
    """One problem: ``row`` is the spreadsheet row (header = 1, first data row = 2)."""

    file: str
    row: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: row {self.row}: {self.column}: {self.reason}"

    def to_dict(self) -> dict:
        return {"file": self.file, "row": self.row, "column": self.column, "reason": self.reason}


@dataclass(frozen=True)
class ValidationReport:
    source: str
    rows: int
    errors: list[RowError]
    valid_mask: np.ndarray = field(repr=False)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def valid_rows(self) -> int:
        return int(self.valid_mask.sum())

    @property
    def invalid_rows(self) -> int:
        return self.rows - self.valid_rows

    def reasons_by_row(self) -> dict[int, str]:
        """Spreadsheet row -> '; '-joined 'column: reason' of every error in that row."""
        out: dict[int, list[str]] = {}
        for e in self.errors:
            out.setdefault(e.row, []).append(f"{e.column}: {e.reason}")
        return {row: "; ".join(items) for row, items in out.items()}

    def counts_by_column(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for e in self.errors:
            counts[e.column] = counts.get(e.column, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


# --- reading and writing ----------------------------------------------------------------------
def _format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith(".csv") or name.endswith(".csv.gz"):
        return "csv"
    raise InputError(f"{path}: unsupported log format (use .csv, .csv.gz or .parquet)")


def read_log(path: str | Path) -> pd.DataFrame:
    """Read a deployment log. Columns that parse cleanly get their schema dtype; a column
    with any unparseable value is left as text so ``validate`` can point at the cell."""
    p = Path(path)
    kind = _format(p)
    if not p.is_file():
        raise InputError(f"{p}: deployment log not found")
    try:
        if kind == "parquet":
            meta = pq.read_schema(p).metadata or {}
            version = meta.get(PARQUET_VERSION_KEY)
            if version is not None and int(version) > LOG_SCHEMA_VERSION:
                raise InputError(f"{p}: written with log schema v{int(version)} by a newer roost "
                                 f"(this roost reads v{LOG_SCHEMA_VERSION}); upgrade roost")
            frame = pd.read_parquet(p)
        else:
            frame = pd.read_csv(p, dtype=str, keep_default_na=False, na_values=[""],
                                compression="infer", engine="pyarrow")
    except InputError:
        raise
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise InputError(f"{p}: cannot read deployment log: {exc}") from None
    return coerce(frame)


def coerce(frame: pd.DataFrame) -> pd.DataFrame:
    """Give every schema column its dtype where all its values parse; leave others as text."""
    out = frame.copy()
    for column, dtype in ALL_COLUMNS.items():
        if column not in out.columns:
            continue
        parsed, bad = _parse(out[column], dtype)
        if not bad.any():
            out[column] = parsed
    return out


def _parse(raw: pd.Series, dtype: str) -> tuple[pd.Series, np.ndarray]:
    """(typed values with NA where empty or unparseable, mask of unparseable non-empty cells)."""
    empty = _empty(raw)
    if dtype == "str":
        values = raw.astype("str").where(~empty, None).astype("str")
        return values, np.zeros(len(raw), dtype=bool)
    if dtype == "datetime64[ns, UTC]":
        if isinstance(raw.dtype, pd.DatetimeTZDtype):
            values = raw.dt.tz_convert("UTC")
        elif pd.api.types.is_datetime64_any_dtype(raw.dtype):
            values = raw.dt.tz_localize("UTC")
        else:
            values = pd.to_datetime(raw, utc=True, errors="coerce", format="ISO8601")
        values = values.astype("datetime64[ns, UTC]")
        return values, (values.isna().to_numpy() & ~empty)
    if dtype == "bool":
        if pd.api.types.is_bool_dtype(raw.dtype) and not raw.isna().any():
            return raw.astype(bool), np.zeros(len(raw), dtype=bool)
        text = raw.astype("str").str.strip().str.lower()
        mapped = text.map({"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False,
                           "1.0": True, "0.0": False})
        bad = mapped.isna().to_numpy() & ~empty
        values = mapped.astype("boolean") if (bad | empty).any() else mapped.astype(bool)
        return values, bad
    if pd.api.types.is_numeric_dtype(raw.dtype):
        numbers = raw.astype("float64")
    else:
        numbers = _fast_float(raw)
        if numbers is None:  # some cell is not a plain number: find which, cell by cell
            numbers = pd.to_numeric(raw, errors="coerce").astype("float64")
    bad = numbers.isna().to_numpy() & ~empty
    if dtype in ("int64", "Int64"):
        whole = numbers.isna() | (numbers == np.floor(numbers))
        if whole.all() and not numbers.isna().any() and dtype == "int64":
            return numbers.astype("int64"), bad
        return numbers.round().astype("Int64").where(whole, pd.NA), bad
    return numbers, bad


def _fast_float(raw: pd.Series) -> pd.Series | None:
    """Arrow's parser for a column of clean numbers (5× pandas'); None if any cell is not one."""
    try:
        parsed = pc.cast(pa.array(raw, from_pandas=True), pa.float64())
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    return pd.Series(parsed.to_numpy(zero_copy_only=False), index=raw.index, dtype="float64")


def _empty(raw: pd.Series) -> np.ndarray:
    empty = raw.isna().to_numpy()
    if raw.dtype == object or pd.api.types.is_string_dtype(raw.dtype):
        try:
            text = pa.array(raw, from_pandas=True, type=pa.large_string())
            blank = pc.equal(pc.utf8_trim_whitespace(text), "")
            empty = empty | pc.fill_null(blank, True).to_numpy(zero_copy_only=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            empty = empty | (raw.astype("str").str.strip() == "").fillna(True).to_numpy()
    return empty


def write_log(df: pd.DataFrame, path: str | Path) -> None:
    """Write atomically (readers see the old file or the new one); format from the suffix.

    Schema columns come first in schema order; extra columns follow unchanged.
    """
    p = Path(path)
    kind = _format(p)
    ordered = [c for c in ALL_COLUMNS if c in df.columns] + [c for c in df.columns if c not in ALL_COLUMNS]
    frame = df[ordered]
    buffer = io.BytesIO()
    if kind == "parquet":
        table = pa.Table.from_pandas(frame, preserve_index=False)
        meta = dict(table.schema.metadata or {})
        meta[PARQUET_VERSION_KEY] = str(LOG_SCHEMA_VERSION).encode()
        table = table.replace_schema_metadata(meta)
        pq.write_table(table, buffer, compression="zstd", compression_level=9)
    else:
        out = frame.copy()
        if "observed_at" in out.columns and isinstance(out["observed_at"].dtype, pd.DatetimeTZDtype):
            out["observed_at"] = out["observed_at"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        compression = {"method": "gzip", "mtime": 0} if p.name.lower().endswith(".gz") else None
        out.to_csv(buffer, index=False, compression=compression, lineterminator="\n")
    atomic_write_bytes(p, buffer.getvalue())
    # The temp file behind the atomic write is private (0600); a log is an ordinary file.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(p, 0o666 & ~umask)


def empty_log() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t if t != "str" else "str") for c, t in COLUMNS.items()})


# --- validation -------------------------------------------------------------------------------
class _Collector:
    def __init__(self, n: int) -> None:
        self.n = n
        self.rows: list[np.ndarray] = []
        self.columns: list[str] = []
        self.reasons: list[np.ndarray | str] = []  # one reason, or one per flagged row
        self.header: list[tuple[str, str]] = []

    def add(self, mask: np.ndarray, column: str, reason: str | Callable[[np.ndarray], list[str]]) -> None:
        """Flag rows; ``reason`` is one text, or a function of the flagged row indices giving
        one text per row (built only for flagged rows, so clean files cost nothing)."""
        mask = np.asarray(mask, dtype=bool)
        idx = np.flatnonzero(mask)
        if not len(idx):
            return
        self.rows.append(idx)
        self.columns.append(column)
        self.reasons.append(reason if isinstance(reason, str) else np.asarray(list(reason(idx)), dtype=object))

    def bad_mask(self) -> np.ndarray:
        bad = np.zeros(self.n, dtype=bool)
        for idx in self.rows:
            bad[idx] = True
        return bad

    def errors(self, source: str) -> list[RowError]:
        out = [RowError(source, 1, column, reason) for column, reason in self.header]
        items: list[tuple[int, int, RowError]] = []
        for order, (idx, column, reason) in enumerate(zip(self.rows, self.columns, self.reasons)):
            if isinstance(reason, str):
                items.extend((int(i), order, RowError(source, int(i) + 2, column, reason)) for i in idx)
            else:
                items.extend((int(i), order, RowError(source, int(i) + 2, column, str(r)))
                             for i, r in zip(idx, reason))
        items.sort(key=lambda t: (t[0], t[1]))
        return out + [e for _, _, e in items]


def validate(df: pd.DataFrame, *, source: str, catalog: Catalog,
             now: datetime | None = None) -> ValidationReport:
    """Check types, units, ranges and cross-field rules of every row, vectorised.

    Every problem is reported as ``RowError(file, row, column, reason)``; ``valid_mask``
    marks rows with no problem. A missing column is one error on the header row and makes
    every row invalid.
    """
    n = len(df)
    col = _Collector(n)
    now = now or datetime.now(UTC)
    present = set(df.columns)
    all_bad = np.zeros(n, dtype=bool)
    for column in COLUMNS:
        if column not in present:
            hint = did_you_mean(column, [c for c in df.columns if c not in ALL_COLUMNS])
            col.header.append((column, f"missing column{hint}"))
            all_bad[:] = True

    typed: dict[str, pd.Series] = {}
    empty: dict[str, np.ndarray] = {}
    for column, dtype in ALL_COLUMNS.items():
        if column not in present:
            continue
        raw = df[column].reset_index(drop=True)
        values, bad = _parse(raw, dtype)
        typed[column] = values
        empty[column] = _empty(raw)
        if bad.any():
            what = {"bool": "must be true or false", "datetime64[ns, UTC]": "must be an ISO 8601 timestamp"}
            reason = what.get(dtype, "must be a whole number" if column in INTEGER else "must be a number")
            shown = raw.to_numpy(dtype=object)
            col.add(bad, column, lambda idx, r=reason, v=shown: [f"{r} (got {v[i]!r})" for i in idx])
        if column in INTEGER:
            numbers = pd.to_numeric(raw, errors="coerce") if not pd.api.types.is_numeric_dtype(raw.dtype) else raw
            frac = (numbers.notna() & (numbers.astype("float64") % 1 != 0)).to_numpy()
            col.add(frac & ~bad, column, "must be a whole number")
        if column not in OPTIONAL and column not in EXTRA_COLUMNS:
            col.add(empty[column], column, "is required")

    def num(c: str) -> np.ndarray:
        return typed[c].astype("float64").to_numpy(dtype=float, na_value=np.nan) if c in typed else np.full(n, np.nan)

    def txt(c: str) -> np.ndarray:
        if c not in typed:
            return np.full(n, "", dtype=object)
        return typed[c].fillna("").astype(str).to_numpy(dtype=object)

    def has(c: str) -> bool:
        return c in typed

    # Enumerations, with a did-you-mean for each distinct unknown value.
    for column, allowed in ENUMS.items():
        if not has(column):
            continue
        values = txt(column)
        unknown = ~np.isin(values, allowed) & ~empty[column]
        if unknown.any():
            hints = {v: f"unknown {column} {v!r}; expected one of {', '.join(allowed)}{did_you_mean(v, allowed)}"
                     for v in pd.unique(values[unknown])}
            col.add(unknown, column, lambda idx, h=hints, v=values: [h[v[i]] for i in idx])

    # Ranges and units.
    for c in NUMERIC:
        col.add(np.isinf(num(c)), c, "must be a finite number")
    positive = ("params_millions", "memory_gib", "slo_p95_latency_ms", "hours",
                "p50_latency_ms", "p95_latency_ms", "p99_latency_ms")
    for c in positive:
        v = num(c)
        col.add(v <= 0, c, "must be > 0" + (" (window length in hours)" if c == "hours" else ""))
    for c in ("offered_rps", "achieved_rps_per_replica", "cost_usd", "accelerator_count", "interruptions"):
        col.add(num(c) < 0, c, "must be ≥ 0")
    for c in ("input_tokens", "output_tokens"):
        col.add(num(c) <= 0, c, "must be > 0")
    col.add(num("replicas") < 1, "replicas", "must be ≥ 1")
    for c in ("gpu_utilization", "cpu_utilization"):
        v = num(c)
        col.add((v < 0) | (v > 1), c, "must be a fraction in [0, 1] (not a percentage)")
    if has("framework"):
        fw = txt("framework")
        bad_fw = ~empty["framework"] & ~pd.Series(fw).str.fullmatch(r"[a-z][a-z0-9_.-]{0,39}").fillna(False).to_numpy()
        col.add(bad_fw, "framework", "must be a lowercase framework name such as pytorch, onnx or vllm")

    # Time.
    if has("observed_at"):
        ts = typed["observed_at"]
        future = (ts > pd.Timestamp(now) + FUTURE_TOLERANCE).fillna(False).to_numpy(dtype=bool)
        col.add(future, "observed_at", f"is in the future (now is {now:%Y-%m-%dT%H:%M}Z)")

    # Latency order and SLO consistency.
    p50, p95, p99, slo = num("p50_latency_ms"), num("p95_latency_ms"), num("p99_latency_ms"), num("slo_p95_latency_ms")
    col.add(p95 < p50, "p95_latency_ms", "must be ≥ p50_latency_ms")
    col.add(p99 < p95, "p99_latency_ms", "must be ≥ p95_latency_ms")
    if has("slo_met"):
        met = typed["slo_met"].astype("boolean").to_numpy(dtype=object, na_value=None)
        known = np.array([m is not None for m in met]) & ~np.isnan(p95) & ~np.isnan(slo)
        met_b = np.array([bool(m) if m is not None else False for m in met])
        col.add(known & met_b & (p95 > slo), "slo_met",
                "is true but p95_latency_ms is above slo_p95_latency_ms")
        col.add(known & ~met_b & (p95 <= slo), "slo_met",
                "is false but p95_latency_ms is within slo_p95_latency_ms")
    else:
        met_b = np.zeros(n, dtype=bool)

    # Outcome rules.
    outcome = txt("outcome")
    not_serving = np.isin(outcome, NOT_SERVING)
    serving = np.isin(outcome, ("ok", "slo_violation", "interrupted"))
    achieved = num("achieved_rps_per_replica")
    col.add(not_serving & (achieved > 0), "achieved_rps_per_replica",
            lambda idx: [f"must be empty: an {outcome[i]} row has no throughput" for i in idx])
    col.add(serving & np.isnan(achieved) & ~_has_error(col, "achieved_rps_per_replica", n),
            "achieved_rps_per_replica", "is required when the replicas served (outcome ok, slo_violation, interrupted)")
    for c in ("p50_latency_ms", "p95_latency_ms", "p99_latency_ms"):
        col.add(serving & np.isnan(num(c)) & ~_has_error(col, c, n), c,
                "is required when the replicas served (outcome ok, slo_violation, interrupted)")
    if has("slo_met"):
        col.add((outcome == "ok") & ~met_b, "outcome", "is ok but slo_met is false (use slo_violation)")
        col.add((outcome == "slo_violation") & met_b, "outcome", "is slo_violation but slo_met is true")

    # Purchase rules.
    purchase = txt("purchase")
    interruptions = num("interruptions")
    col.add((purchase == Purchase.ON_DEMAND.value) & (interruptions > 0), "interruptions",
            "must be 0 on on_demand rows (only spot capacity is interrupted)")
    col.add((purchase == Purchase.ON_DEMAND.value) & (outcome == "interrupted"), "outcome",
            "interrupted applies to spot rows only")
    col.add((outcome == "interrupted") & (interruptions == 0), "interruptions",
            "must be ≥ 1 when outcome is interrupted")

    # Tokens only where they mean something.
    task = txt("task")
    for c in ("input_tokens", "output_tokens"):
        if has(c):
            col.add(~np.isin(task, list(TOKEN_TASKS)) & ~empty[c] & np.isin(task, ENUMS["task"]), c,
                    lambda idx: [f"only applies to text, speech and LLM tasks, not {task[i]}" for i in idx])

    # The work of a request, where the row states it.
    for c in ("image_height", "image_width", "steps", "active_params_millions", "gflops_per_request"):
        col.add(num(c) <= 0, c, "must be > 0")
    known_task = np.isin(task, ENUMS["task"])
    for c in ("image_height", "image_width"):
        if has(c):
            col.add(known_task & ~np.isin(task, list(IMAGE_TASKS)) & ~empty[c], c,
                    lambda idx: [f"only applies to image tasks, not {task[i]}" for i in idx])
    if has("steps"):
        col.add(known_task & (task != Task.TEXT_TO_IMAGE.value) & ~empty["steps"], "steps",
                lambda idx: [f"only applies to text-to-image, not {task[i]}" for i in idx])
    col.add(num("active_params_millions") > num("params_millions"), "active_params_millions",
            "must be ≤ params_millions")

    # Accelerator fields agree with each other.
    accel = txt("accelerator")
    count = num("accelerator_count")
    col.add((accel != "") & (count <= 0), "accelerator_count", "must be > 0 when accelerator is set")
    col.add((accel == "") & (count > 0), "accelerator", "is required when accelerator_count > 0")

    # Against the catalog: region, instance type, accelerator, spot price, cost.
    _check_catalog(col, catalog, txt("cloud"), txt("region"), txt("instance_type"), accel, count,
                   purchase, num("replicas"), num("hours"), num("cost_usd"),
                   all(has(c) for c in ("cloud", "region", "instance_type")))

    # Duplicates within the file.
    if has("deployment_id"):
        ids = typed["deployment_id"]
        dup = ids.duplicated(keep="first").to_numpy() & ~empty["deployment_id"]
        if dup.any():
            first = pd.Series(np.arange(n)).groupby(ids.to_numpy()).transform("min").to_numpy()
            id_values = ids.to_numpy(dtype=object)
            col.add(dup, "deployment_id",
                    lambda idx: [f"duplicate deployment_id {id_values[i]!r} (first at row {first[i] + 2})" for i in idx])

    valid = ~(col.bad_mask() | all_bad)
    return ValidationReport(source=source, rows=n, errors=col.errors(source), valid_mask=valid)


def _has_error(col: _Collector, column: str, n: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    for idx, c in zip(col.rows, col.columns):
        if c == column:
            mask[idx] = True
    return mask


def _catalog_frame(catalog: Catalog) -> pd.DataFrame:
    return pd.DataFrame({
        "cloud": [o.cloud.value for o in catalog],
        "region": [o.region for o in catalog],
        "instance_type": [o.instance_type for o in catalog],
        "accelerator": [o.accelerator or "" for o in catalog],
        "accelerator_count": [float(o.accelerator_count) if o.accelerator else 0.0 for o in catalog],
        "price": [o.price_hour_usd for o in catalog],
        "spot_price": [np.nan if o.spot_price_hour_usd is None else o.spot_price_hour_usd for o in catalog],
    })


def _check_catalog(col: _Collector, catalog: Catalog, cloud: np.ndarray, region: np.ndarray,
                   instance_type: np.ndarray, accel: np.ndarray, count: np.ndarray, purchase: np.ndarray,
                   replicas: np.ndarray, hours: np.ndarray, cost: np.ndarray, have_keys: bool) -> None:
    if not have_keys:
        return
    cat = _catalog_frame(catalog)
    known_cloud = np.isin(cloud, ENUMS["cloud"])
    regions_of = cat.groupby("cloud")["region"].unique().to_dict()
    cloud_region = pd.Series(cloud).astype(str) + "/" + pd.Series(region).astype(str)
    known_cr = set((cat["cloud"] + "/" + cat["region"]).unique())
    bad_region = known_cloud & (region != "") & ~cloud_region.isin(known_cr).to_numpy()
    if bad_region.any():
        hints = {}
        for c, r in set(zip(cloud[bad_region], region[bad_region])):
            choices = sorted(regions_of.get(c, []))
            hints[(c, r)] = f"unknown {c} region {r!r}{did_you_mean(r, choices)}"
        col.add(bad_region, "region", lambda idx: [hints[(cloud[i], region[i])] for i in idx])

    cri = cloud_region + "/" + pd.Series(instance_type).astype(str)
    cat_cri = cat["cloud"] + "/" + cat["region"] + "/" + cat["instance_type"]
    known_type = cri.isin(set(cat_cri)).to_numpy()
    bad_type = known_cloud & ~bad_region & (region != "") & (instance_type != "") & ~known_type
    if bad_type.any():
        types_of = cat.assign(cr=cat["cloud"] + "/" + cat["region"]).groupby("cr")["instance_type"].unique().to_dict()
        hints = {}
        for cr, t in set(zip(cloud_region[bad_type], np.asarray(instance_type)[bad_type])):
            hints[(cr, t)] = f"unknown instance type {t!r} in {cr}{did_you_mean(t, list(types_of.get(cr, [])))}"
        cr_values = cloud_region.to_numpy(dtype=object)
        col.add(bad_type, "instance_type", lambda idx: [hints[(cr_values[i], instance_type[i])] for i in idx])

    count_key = pd.Series(np.where(np.isnan(count), -1.0, count)).map("{:g}".format)
    full = cri + "/" + pd.Series(accel).astype(str) + "/" + count_key
    cat_full = cat_cri + "/" + cat["accelerator"] + "/" + cat["accelerator_count"].map("{:g}".format)
    pos = pd.Index(cat_full).get_indexer(full)
    mismatch = known_type & (pos < 0) & ~np.isnan(count)
    if mismatch.any():
        offered = (cat.assign(cri=cat_cri, label=np.where(cat["accelerator"] == "", "no GPU",
                                                          cat["accelerator"] + "×" + cat["accelerator_count"].map("{:g}".format)))
                   .groupby("cri")["label"].agg(lambda s: ", ".join(sorted(s))).to_dict())
        cri_values = cri.to_numpy(dtype=object)
        col.add(mismatch, "accelerator", lambda idx: [
            f"{accel[i] or 'no GPU'}{'×' + format(count[i], 'g') if accel[i] else ''} does not match the "
            f"catalog offering {cri_values[i]} ({offered.get(cri_values[i], '?')})" for i in idx])
    found = pos >= 0
    price = np.where(found, cat["price"].to_numpy()[np.maximum(pos, 0)], np.nan)
    spot_price = np.where(found, cat["spot_price"].to_numpy()[np.maximum(pos, 0)], np.nan)
    no_spot = found & (purchase == Purchase.SPOT.value) & np.isnan(spot_price)
    cri_all = cri.to_numpy(dtype=object)
    col.add(no_spot, "purchase", lambda idx: [f"is spot, but {cri_all[i]} has no spot price in the catalog" for i in idx])
    hourly = np.where(purchase == Purchase.SPOT.value, np.where(np.isnan(spot_price), price, spot_price), price)
    ceiling = price * replicas * hours * COST_LIST_PRICE_TOLERANCE
    implausible = found & (hours > 0) & (replicas >= 1) & (cost > ceiling)  # bad hours/replicas are reported already
    col.add(implausible, "cost_usd", lambda idx: [
        f"{cost[i]:,.2f} is over {COST_LIST_PRICE_TOLERANCE:g}× the list price of {replicas[i]:g} replicas × "
        f"{hours[i]:g} h (${hourly[i] * replicas[i] * hours[i]:,.2f}); is it in cents or per month?" for i in idx])


def schema_summary() -> str:
    """The schema as JSON (for docs and `roost history schema`)."""
    return json.dumps({"log_schema_version": LOG_SCHEMA_VERSION, "columns": COLUMNS,
                       "optional_columns": EXTRA_COLUMNS}, indent=2)
