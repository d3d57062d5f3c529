"""Validate a team's deployment log and append it to their history store.

The store is one Parquet file (default ``<project>/.roost/history/deployments.parquet``).
Ingest is all-or-nothing: the new rows are validated, deduplicated by ``deployment_id``
against the store (rows already stored win), and the union is written to a temporary file
that replaces the store in one rename, under a file lock so that concurrent ingests
serialize. An interrupted ingest leaves the store exactly as it was.

With ``skip_invalid`` the bad rows go to ``<log name>.rejected.csv`` beside the input, with
a ``reason`` column, and the good rows are ingested; without it any bad row stops the
ingest with every problem listed.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from filelock import FileLock, Timeout

from history.schema import ALL_COLUMNS, LINK_COLUMNS, ValidationReport, coerce, read_log, validate, write_log
from placement.catalog import Catalog
from placement.errors import InputError, RoostError

LOCK_TIMEOUT_S = 60.0
MAX_LISTED_ERRORS = 200


class InvalidLog(InputError):
    """A deployment log has bad rows; carries the full report."""

    def __init__(self, report: ValidationReport, *, limit: int = MAX_LISTED_ERRORS):
        self.report = report
        lines = [str(e) for e in report.errors[:limit]]
        if len(report.errors) > limit:
            lines.append(f"{report.source}: … and {len(report.errors) - limit} more problem(s)")
        lines.append(summary_line(report))
        super().__init__("\n".join(lines))


class StoreBusy(RoostError):
    exit_code = 1


def summary_line(report: ValidationReport) -> str:
    if report.ok:
        return f"{report.source}: {report.rows} row(s), all valid"
    return (f"{report.source}: {report.invalid_rows} of {report.rows} row(s) invalid "
            f"({len(report.errors)} problem(s)); fix them or use --skip-invalid to quarantine them")


@dataclass(frozen=True)
class CheckResult:
    report: ValidationReport
    rejected_path: Path | None   # where the bad rows went (skip_invalid only)
    valid: pd.DataFrame          # the good rows, typed

    def to_dict(self) -> dict:
        return {
            "file": self.report.source,
            "rows": self.report.rows,
            "valid_rows": self.report.valid_rows,
            "invalid_rows": self.report.invalid_rows,
            "ok": self.report.ok,
            "rejected_file": None if self.rejected_path is None else str(self.rejected_path),
            "problems_by_column": self.report.counts_by_column(),
            "errors": [e.to_dict() for e in self.report.errors],
        }


@dataclass(frozen=True)
class IngestResult:
    check: CheckResult
    store: Path
    duplicates_skipped: int
    rows_added: int
    rows_in_store: int

    def to_dict(self) -> dict:
        data = self.check.to_dict()
        data.update({"store": str(self.store), "duplicates_skipped": self.duplicates_skipped,
                     "rows_added": self.rows_added, "rows_in_store": self.rows_in_store})
        return data


def rejected_path_for(path: Path) -> Path:
    name = path.name
    for suffix in (".csv.gz", ".csv", ".parquet"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return path.with_name(f"{name}.rejected.csv")


def check_log(path: str | Path, *, catalog: Catalog, skip_invalid: bool = False) -> CheckResult:
    """Read and validate a log; with ``skip_invalid`` write the bad rows to the side file."""
    p = Path(path)
    frame = read_log(p)
    report = validate(frame, source=str(path), catalog=catalog)
    rejected = None
    if not report.ok and skip_invalid:
        rejected = rejected_path_for(p)
        bad = frame.loc[~report.valid_mask].copy()
        reasons = report.reasons_by_row()
        bad["row"] = np.flatnonzero(~report.valid_mask) + 2
        header = "; ".join(f"{e.column}: {e.reason}" for e in report.errors if e.row == 1)
        bad["reason"] = [reasons.get(r, header) or header for r in bad["row"]]
        write_log(bad, rejected)
    valid = coerce(frame.loc[report.valid_mask].reset_index(drop=True)) if report.valid_rows else _empty()
    return CheckResult(report=report, rejected_path=rejected, valid=valid)


def ingest(path: str | Path, *, store: str | Path, catalog: Catalog, skip_invalid: bool = False,
           lock_timeout_s: float = LOCK_TIMEOUT_S) -> IngestResult:
    """Validate ``path`` and append its new rows to ``store`` atomically, deduplicating by id."""
    check = check_log(path, catalog=catalog, skip_invalid=skip_invalid)
    if not check.report.ok and not skip_invalid:
        raise InvalidLog(check.report)
    target = Path(store)
    target.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(target) + ".lock")
    try:
        with lock.acquire(timeout=lock_timeout_s):
            existing = read_log(target) if target.exists() else _empty()
            incoming = check.valid
            known = set(existing["deployment_id"].astype(str)) if len(existing) else set()
            new_mask = ~incoming["deployment_id"].astype(str).isin(known).to_numpy()
            added = incoming.loc[new_mask]
            if len(added):
                combined = pd.concat([_typed(existing), _typed(added)], ignore_index=True) if len(existing) \
                    else _typed(added).reset_index(drop=True)
                write_log(combined, target)
                total = len(combined)
            else:
                total = len(existing)
    except Timeout:
        raise StoreBusy(f"{target}: another ingest holds the lock ({target}.lock) for over "
                        f"{lock_timeout_s:g} s; try again when it finishes") from None
    return IngestResult(check=check, store=target, duplicates_skipped=int((~new_mask).sum()),
                        rows_added=int(new_mask.sum()), rows_in_store=total)


def _empty() -> pd.DataFrame:
    from history.schema import empty_log

    return empty_log()


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Schema dtypes on every column, so that appended Parquet files keep one schema."""
    out = frame.copy()
    for column, dtype in {**ALL_COLUMNS, **LINK_COLUMNS}.items():
        if column in out.columns and str(out[column].dtype) != dtype:
            if dtype == "Int64":
                out[column] = pd.array(pd.to_numeric(out[column]), dtype="Int64")
            elif dtype.startswith("datetime"):
                out[column] = pd.to_datetime(out[column], utc=True).astype(dtype)
            else:
                out[column] = out[column].astype(dtype)
    return out
