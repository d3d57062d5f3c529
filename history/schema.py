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

Optional columns linking an outcome to the decision behind it (``history.outcomes``), both
or neither; the simulator does not write them:

    stack                      the Pulumi stack the deployment belongs to
    plan_version               the version (``roost versions``) whose decisions it ran; ≥ 1

Files: ``.csv``, ``.csv.gz`` and ``.parquet`` (zstd); Parquet files carry the schema
version in their metadata (``roost.log_schema_version``) and a newer one is refused.
"""
from __future__ import annotations

import io
import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from placement.atomic import atomic_write_bytes
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
# The decision link (see the docstring): known columns, but not ones every log carries.
LINK_COLUMNS: dict[str, str] = {"stack": "str", "plan_version": "Int64"}
STACK_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}"
NUMERIC = tuple(c for c, t in ALL_COLUMNS.items() if t in ("float64", "int64", "Int64"))
INTEGER = tuple(c for c, t in ALL_COLUMNS.items() if t in ("int64", "Int64"))
# A recorded cost above this multiple of list price × replicas × hours is a unit mistake
# (cents, per-month figures), not a negotiated or egress-inflated price.
COST_LIST_PRICE_TOLERANCE = 10.0
FUTURE_TOLERANCE = timedelta(minutes=10)
_EARLIEST = pd.Timestamp("1678-01-01", tz="UTC")
_LATEST = pd.Timestamp("2261-12-31", tz="UTC")


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
    except (OSError, EOFError, ValueError, pa.ArrowException, zlib.error) as exc:
        # OSError covers a truncated or corrupt .gz; EOFError a .gz cut off at a block boundary.
        raise InputError(f"{p}: cannot read deployment log: {_one_line(exc)}") from None
    return coerce(frame)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


def coerce(frame: pd.DataFrame) -> pd.DataFrame:
    """Give every schema column its dtype where all its values parse; leave others as text."""
    out = frame.copy()
    for column, dtype in {**ALL_COLUMNS, **LINK_COLUMNS}.items():
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
        return _parse_text(raw, empty)
    if dtype == "datetime64[ns, UTC]":
        if isinstance(raw.dtype, pd.DatetimeTZDtype):
            values = raw.dt.tz_convert("UTC")
        elif pd.api.types.is_datetime64_any_dtype(raw.dtype):
            values = raw.dt.tz_localize("UTC")
        else:
            values = pd.to_datetime(raw, utc=True, errors="coerce", format="ISO8601")
        if not isinstance(values.dtype, pd.DatetimeTZDtype):  # e.g. an object column of naive timestamps
            values = pd.to_datetime(values, utc=True, errors="coerce")
        # Nanosecond timestamps span 1677-2262; a year 2999 typo is an error, not an overflow.
        outside = ((values < _EARLIEST) | (values > _LATEST)).fillna(False).to_numpy(dtype=bool)
        values = values.where(~outside).astype("datetime64[ns, UTC]")
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
        # Beyond 2**53 a float is no exact whole number, and inf or 1e30 cannot be an int64 at all.
        huge = (numbers.abs() > 2**53).to_numpy(dtype=bool)
        if huge.any():
            bad = bad | huge
            numbers = numbers.where(~huge)
        whole = numbers.isna() | (numbers == np.floor(numbers))
        if whole.all() and not numbers.isna().any() and dtype == "int64":
            return numbers.astype("int64"), bad
        return numbers.round().astype("Int64").where(whole, pd.NA), bad
    return numbers, bad


def _parse_text(raw: pd.Series, empty: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    """Text as str; bytes (a Parquet binary column) are decoded as UTF-8, else the cell is bad."""
    bad = np.zeros(len(raw), dtype=bool)
    if raw.dtype == object:
        is_bytes = raw.map(lambda v: isinstance(v, (bytes, bytearray))).to_numpy(dtype=bool)
        if is_bytes.any():
            def decode(v: object) -> object:
                try:
                    return v.decode("utf-8") if isinstance(v, (bytes, bytearray)) else v
                except UnicodeDecodeError:
                    return None
            decoded = raw.map(decode)
            bad = is_bytes & decoded.isna().to_numpy()
            raw = decoded
    values = raw.astype("str").where(~(empty | bad), None).astype("str")
    return values, bad


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
            blank = raw.map(lambda v: isinstance(v, str) and not v.strip())
            empty = empty | blank.to_numpy(dtype=bool)
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
    marks rows with no problem. A missing or unknown column is one error on the header row
    and makes every row invalid (an unknown column would otherwise be stored forever).
    """
    col = _Collector(len(df))
    header_ok = _check_header(col, df)
    rows = _parse_columns(col, df)
    if rows.n == 0:  # a header-only file: nothing more to check (and empty arrays lose their dtypes)
        return ValidationReport(source=source, rows=0, errors=col.errors(source), valid_mask=header_ok)
    _check_enums(col, rows)
    _check_ranges(col, rows)
    _check_time(col, rows, now or datetime.now(UTC))
    met = _check_latency_and_slo(col, rows)
    _check_outcome(col, rows, met)
    _check_purchase(col, rows)
    _check_tokens(col, rows)
    _check_work(col, rows)
    _check_accelerator(col, rows)
    _check_catalog(col, catalog, rows)
    _check_duplicates(col, rows)
    _check_links(col, df)
    valid = ~col.bad_mask() & header_ok
    return ValidationReport(source=source, rows=rows.n, errors=col.errors(source), valid_mask=valid)


def _bad_cell(reason: str, value: object) -> str:
    if reason.endswith("ISO 8601 timestamp"):
        try:
            pd.Timestamp(str(value))
            return f"must be between the years 1678 and 2261 (got {value!r})"
        except (ValueError, OverflowError, TypeError):
            pass
    return f"{reason} (got {value!r})"


class _Rows:
    """The parsed columns of one file, with NaN/'' where a column is missing or a cell is empty."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.typed: dict[str, pd.Series] = {}
        self.empty: dict[str, np.ndarray] = {}

    def has(self, c: str) -> bool:
        return c in self.typed

    def num(self, c: str) -> np.ndarray:
        if c not in self.typed:
            return np.full(self.n, np.nan)
        return self.typed[c].astype("float64").to_numpy(dtype=float, na_value=np.nan)

    def txt(self, c: str) -> np.ndarray:
        if c not in self.typed:
            return np.full(self.n, "", dtype=object)
        return self.typed[c].fillna("").astype(str).to_numpy(dtype=object)


def _check_header(col: _Collector, df: pd.DataFrame) -> np.ndarray:
    """Missing and unknown columns (row 1); returns the rows still valid after them."""
    extra = [str(c) for c in df.columns if c not in ALL_COLUMNS and c not in LINK_COLUMNS]
    missing = [c for c in COLUMNS if c not in df.columns]
    for column in missing:
        col.header.append((column, f"missing column{did_you_mean(column, extra)}"))
    for column in extra:
        if did_you_mean(column, missing):  # already named as the likely misspelling of a missing one
            continue
        col.header.append((column, f"unknown column{did_you_mean(column, ALL_COLUMNS)}: log schema "
                                   f"v{LOG_SCHEMA_VERSION} has no such column; rename or remove it"))
    return np.full(len(df), not col.header, dtype=bool)


def _parse_columns(col: _Collector, df: pd.DataFrame) -> _Rows:
    rows = _Rows(len(df))
    what = {"bool": "must be true or false",
            "datetime64[ns, UTC]": "must be an ISO 8601 timestamp"}
    for column, dtype in ALL_COLUMNS.items():
        if column not in df.columns:
            continue
        raw = df[column].reset_index(drop=True)
        values, bad = _parse(raw, dtype)
        rows.typed[column] = values
        rows.empty[column] = _empty(raw)
        if bad.any():
            reason = what.get(dtype, "must be a whole number" if column in INTEGER else
                              "must be text" if dtype == "str" else "must be a number")
            shown = raw.to_numpy(dtype=object)
            col.add(bad, column, lambda idx, r=reason, v=shown: [_bad_cell(r, v[i]) for i in idx])
        if column in INTEGER:
            numbers = pd.to_numeric(raw, errors="coerce") if not pd.api.types.is_numeric_dtype(raw.dtype) else raw
            frac = (numbers.notna() & (numbers.astype("float64") % 1 != 0)).to_numpy()
            col.add(frac & ~bad, column, "must be a whole number")
        if column not in OPTIONAL and column not in EXTRA_COLUMNS:
            col.add(rows.empty[column], column, "is required")
    return rows


def _check_enums(col: _Collector, rows: _Rows) -> None:
    """Enumerations, with a did-you-mean for each distinct unknown value."""
    for column, allowed in ENUMS.items():
        if not rows.has(column):
            continue
        values = rows.txt(column)
        unknown = ~np.isin(values, allowed) & ~rows.empty[column]
        if unknown.any():
            hints = {v: f"unknown {column} {v!r}; expected one of {', '.join(allowed)}{did_you_mean(v, allowed)}"
                     for v in pd.unique(values[unknown])}
            col.add(unknown, column, lambda idx, h=hints, v=values: [h[v[i]] for i in idx])


def _check_ranges(col: _Collector, rows: _Rows) -> None:
    """Ranges, units and the shape of text fields."""
    num = rows.num
    for c in NUMERIC:
        col.add(np.isinf(num(c)), c, "must be a finite number")
    positive = ("params_millions", "memory_gib", "slo_p95_latency_ms", "hours",
                "p50_latency_ms", "p95_latency_ms", "p99_latency_ms")
    for c in positive:
        col.add(num(c) <= 0, c, "must be > 0" + (" (window length in hours)" if c == "hours" else ""))
    for c in ("offered_rps", "achieved_rps_per_replica", "cost_usd", "accelerator_count", "interruptions"):
        col.add(num(c) < 0, c, "must be ≥ 0")
    for c in ("input_tokens", "output_tokens"):
        col.add(num(c) <= 0, c, "must be > 0")
    col.add(num("replicas") < 1, "replicas", "must be ≥ 1")
    for c in ("gpu_utilization", "cpu_utilization"):
        v = num(c)
        col.add((v < 0) | (v > 1), c, "must be a fraction in [0, 1] (not a percentage)")
    if rows.has("framework"):
        fw = pd.Series(rows.txt("framework"))
        ok = fw.str.fullmatch(r"[a-z][a-z0-9_.-]{0,39}").fillna(False).to_numpy(dtype=bool)
        col.add(~rows.empty["framework"] & ~ok, "framework",
                "must be a lowercase framework name such as pytorch, onnx or vllm")
    if rows.has("deployment_id"):
        ids = pd.Series(rows.txt("deployment_id"))
        # " a1" and "a1" would be stored as two windows; the id is a key, not free text.
        padded = (ids != ids.str.strip()).to_numpy(dtype=bool) & ~rows.empty["deployment_id"]
        col.add(padded, "deployment_id", "has leading or trailing whitespace")


def _check_time(col: _Collector, rows: _Rows, now: datetime) -> None:
    if rows.has("observed_at"):
        future = (rows.typed["observed_at"] > pd.Timestamp(now) + FUTURE_TOLERANCE).fillna(False)
        col.add(future.to_numpy(dtype=bool), "observed_at", f"is in the future (now is {now:%Y-%m-%dT%H:%M}Z)")


def _check_latency_and_slo(col: _Collector, rows: _Rows) -> np.ndarray:
    """Latency order and SLO consistency; returns slo_met as booleans (False where unknown)."""
    p50, p95, p99, slo = (rows.num(c) for c in ("p50_latency_ms", "p95_latency_ms", "p99_latency_ms",
                                                 "slo_p95_latency_ms"))
    col.add(p95 < p50, "p95_latency_ms", "must be ≥ p50_latency_ms")
    col.add(p99 < p95, "p99_latency_ms", "must be ≥ p95_latency_ms")
    if not rows.has("slo_met"):
        return np.zeros(rows.n, dtype=bool)
    met = rows.typed["slo_met"].astype("boolean").to_numpy(dtype=object, na_value=None)
    known = np.array([m is not None for m in met], dtype=bool) & ~np.isnan(p95) & ~np.isnan(slo)
    met_b = np.array([bool(m) if m is not None else False for m in met], dtype=bool)
    col.add(known & met_b & (p95 > slo), "slo_met", "is true but p95_latency_ms is above slo_p95_latency_ms")
    col.add(known & ~met_b & (p95 <= slo), "slo_met", "is false but p95_latency_ms is within slo_p95_latency_ms")
    return met_b


def _check_outcome(col: _Collector, rows: _Rows, met: np.ndarray) -> None:
    outcome = rows.txt("outcome")
    not_serving = np.isin(outcome, NOT_SERVING)
    serving = np.isin(outcome, ("ok", "slo_violation", "interrupted"))
    achieved = rows.num("achieved_rps_per_replica")
    col.add(not_serving & (achieved > 0), "achieved_rps_per_replica",
            lambda idx: [f"must be empty: an {outcome[i]} row has no throughput" for i in idx])
    required = "is required when the replicas served (outcome ok, slo_violation, interrupted)"
    col.add(serving & np.isnan(achieved) & ~_has_error(col, "achieved_rps_per_replica", rows.n),
            "achieved_rps_per_replica", required)
    for c in ("p50_latency_ms", "p95_latency_ms", "p99_latency_ms"):
        col.add(serving & np.isnan(rows.num(c)) & ~_has_error(col, c, rows.n), c, required)
    if rows.has("slo_met"):
        col.add((outcome == "ok") & ~met, "outcome", "is ok but slo_met is false (use slo_violation)")
        col.add((outcome == "slo_violation") & met, "outcome", "is slo_violation but slo_met is true")


def _check_purchase(col: _Collector, rows: _Rows) -> None:
    purchase, outcome, interruptions = rows.txt("purchase"), rows.txt("outcome"), rows.num("interruptions")
    on_demand = purchase == Purchase.ON_DEMAND.value
    col.add(on_demand & (interruptions > 0), "interruptions",
            "must be 0 on on_demand rows (only spot capacity is interrupted)")
    col.add(on_demand & (outcome == "interrupted"), "outcome", "interrupted applies to spot rows only")
    col.add((outcome == "interrupted") & (interruptions == 0), "interruptions",
            "must be ≥ 1 when outcome is interrupted")


def _check_tokens(col: _Collector, rows: _Rows) -> None:
    """Tokens only where they mean something."""
    task = rows.txt("task")
    for c in ("input_tokens", "output_tokens"):
        if rows.has(c):
            col.add(~np.isin(task, list(TOKEN_TASKS)) & ~rows.empty[c] & np.isin(task, ENUMS["task"]), c,
                    lambda idx: [f"only applies to text, speech and LLM tasks, not {task[i]}" for i in idx])


def _check_work(col: _Collector, rows: _Rows) -> None:
    """The work of a request, where the row states it."""
    task, num = rows.txt("task"), rows.num
    for c in ("image_height", "image_width", "steps", "active_params_millions", "gflops_per_request"):
        col.add(num(c) <= 0, c, "must be > 0")
    known_task = np.isin(task, ENUMS["task"])
    for c in ("image_height", "image_width"):
        if rows.has(c):
            col.add(known_task & ~np.isin(task, list(IMAGE_TASKS)) & ~rows.empty[c], c,
                    lambda idx: [f"only applies to image tasks, not {task[i]}" for i in idx])
    if rows.has("steps"):
        col.add(known_task & (task != Task.TEXT_TO_IMAGE.value) & ~rows.empty["steps"], "steps",
                lambda idx: [f"only applies to text-to-image, not {task[i]}" for i in idx])
    col.add(num("active_params_millions") > num("params_millions"), "active_params_millions",
            "must be ≤ params_millions")


def _check_accelerator(col: _Collector, rows: _Rows) -> None:
    """Accelerator fields agree with each other."""
    accel, count = rows.txt("accelerator"), rows.num("accelerator_count")
    col.add((accel != "") & (count <= 0), "accelerator_count", "must be > 0 when accelerator is set")
    col.add((accel == "") & (count > 0), "accelerator", "is required when accelerator_count > 0")


def _check_links(col: _Collector, df: pd.DataFrame) -> None:
    """The optional decision link: a stack name and a whole version ≥ 1, both or neither."""
    if not any(c in df.columns for c in LINK_COLUMNS):
        return
    n = len(df)
    empty = {c: _empty(df[c].reset_index(drop=True)) if c in df.columns else np.ones(n, dtype=bool)
             for c in LINK_COLUMNS}
    if "stack" in df.columns:
        name = df["stack"].reset_index(drop=True).astype(str).str.fullmatch(STACK_NAME).fillna(False).to_numpy()
        col.add(~empty["stack"] & ~name, "stack", "must be a stack name (letters, digits, '-', '_', '.')")
    if "plan_version" in df.columns:
        version, bad = _parse(df["plan_version"].reset_index(drop=True), "Int64")
        number = version.astype("float64").to_numpy(dtype=float, na_value=np.nan)
        col.add(bad | (~empty["plan_version"] & ~(number >= 1)), "plan_version", "must be a whole version number ≥ 1")
    both = "(stack and plan_version link an outcome to a decision together)"
    col.add(empty["stack"] & ~empty["plan_version"], "stack", f"is required when plan_version is set {both}")
    col.add(~empty["stack"] & empty["plan_version"], "plan_version", f"is required when stack is set {both}")


def _check_duplicates(col: _Collector, rows: _Rows) -> None:
    """Duplicates within the file."""
    if not rows.has("deployment_id"):
        return
    ids = rows.typed["deployment_id"]
    dup = ids.duplicated(keep="first").to_numpy(dtype=bool) & ~rows.empty["deployment_id"]
    if dup.any():
        first = pd.Series(np.arange(rows.n)).groupby(ids.to_numpy()).transform("min").to_numpy()
        id_values = ids.to_numpy(dtype=object)
        col.add(dup, "deployment_id",
                lambda idx: [f"duplicate deployment_id {id_values[i]!r} (first at row {first[i] + 2})" for i in idx])


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


def _check_catalog(col: _Collector, catalog: Catalog, rows: _Rows) -> None:
    """Against the catalog: region, instance type, accelerator, spot price, cost."""
    if not all(rows.has(c) for c in ("cloud", "region", "instance_type")):
        return
    cloud, region, instance_type = rows.txt("cloud"), rows.txt("region"), rows.txt("instance_type")
    accel, count, purchase = rows.txt("accelerator"), rows.num("accelerator_count"), rows.txt("purchase")
    replicas, hours, cost = rows.num("replicas"), rows.num("hours"), rows.num("cost_usd")
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
