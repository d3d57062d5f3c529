"""The version store: every placement a stack has had, append-only, numbered and hash-chained.

Layout under the store's root (a local directory or ``s3://``/``gs://``/``az://`` prefix)::

    <stack>/versions/00000001.json   one record per version, written once, never rewritten
    <stack>/HEAD                     {"number", "hash"} of the newest record: detects a cut-off tail
    <stack>/blobs/<sha256>.json.gz   exported Pulumi state checkpoints, content-addressed
    <stack>/.lock                    held while a writer reads the latest version and appends

A record is canonical JSON (sorted keys, no spaces). ``hash`` is the sha256 of the record
without its ``hash`` key and ``prev_hash`` is the hash of the record before it, so changing,
removing or reordering any record breaks the chain at a version number that reading reports.
HEAD is written after the record: a writer killed in between leaves HEAD one behind, which is
harmless (the next writer moves it on); a HEAD ahead of the records means records were lost.

Schema changes bump ``SCHEMA_VERSION``; a reader meeting a newer schema refuses instead of
guessing, and ``_MIGRATIONS`` upgrades older records in memory (hashes are always checked on
the bytes as stored).
"""
from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from history.store import Location, StoreBusyError
from placement.costs import summarize
from placement.errors import InputError, RoostError
from placement.plan import DeploymentPlan

SCHEMA_VERSION = 1
REASON_PLAN = "plan"
REASON_APPLY = "apply"
ROLLBACK_REASON = re.compile(r"^rollback to (\d+)$")
RECORD_NAME = re.compile(r"^(\d{8})\.json$")
STACK_DIR_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")

# Upgrades from schema N to N+1, applied in order to records read from an older roost.
_MIGRATIONS: dict[int, Callable[[dict], dict]] = {}


def rollback_reason(version: int) -> str:
    return f"rollback to {version}"


class StoreCorruptedError(RoostError):
    """A record was modified, removed or cut short: the integrity check failed (exit 1)."""

    exit_code = 1

    def __init__(self, where: str, problems: list[str]):
        self.problems = problems
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        super().__init__(f"version store {where} failed its integrity check: {problems[0]}{more}. "
                         "Nothing was changed; restore the named file(s) from a backup of the store")


class UnknownVersionError(InputError):
    pass


class NewerSchemaError(InputError):
    pass


def canonical_bytes(data: Mapping[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def record_hash(data: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_bytes({k: v for k, v in data.items() if k != "hash"})).hexdigest()


@dataclass(frozen=True, kw_only=True)
class FleetSource:
    """The fleet file a plan was made from, verbatim, so any version can be re-planned."""

    path: str
    sha256: str
    content: str

    def to_dict(self) -> dict:
        return {"path": self.path, "sha256": self.sha256, "content": self.content}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FleetSource:
        return cls(path=d["path"], sha256=d["sha256"], content=d["content"])


@dataclass(frozen=True, kw_only=True)
class Provenance:
    author: str
    roost_version: str
    git_commit: str | None = None
    git_dirty: bool | None = None

    def to_dict(self) -> dict:
        return {"author": self.author, "roost_version": self.roost_version, "git_commit": self.git_commit,
                "git_dirty": self.git_dirty}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Provenance:
        return cls(author=d["author"], roost_version=d["roost_version"], git_commit=d.get("git_commit"),
                   git_dirty=d.get("git_dirty"))


@dataclass(frozen=True, kw_only=True)
class BlobRef:
    """A stored blob: ``sha256`` is of the uncompressed bytes, checked on every read."""

    key: str
    sha256: str
    size_bytes: int

    def to_dict(self) -> dict:
        return {"key": self.key, "sha256": self.sha256, "size_bytes": self.size_bytes}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> BlobRef:
        return cls(key=d["key"], sha256=d["sha256"], size_bytes=int(d["size_bytes"]))


@dataclass(frozen=True, kw_only=True)
class EngineRecord:
    """What the Pulumi engine reported for an update roost ran. Outputs arrive redacted."""

    update_version: int | None
    result: str
    message: str
    outputs: Mapping[str, Any] = field(default_factory=dict)
    resource_changes: Mapping[str, int] = field(default_factory=dict)
    checkpoint: BlobRef | None = None
    redacted_secrets: int = 0

    def to_dict(self) -> dict:
        return {
            "update_version": self.update_version,
            "result": self.result,
            "message": self.message,
            "outputs": dict(self.outputs),
            "resource_changes": dict(self.resource_changes),
            "checkpoint": None if self.checkpoint is None else self.checkpoint.to_dict(),
            "redacted_secrets": self.redacted_secrets,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> EngineRecord:
        return cls(update_version=d.get("update_version"), result=d["result"], message=d.get("message", ""),
                   outputs=d.get("outputs") or {}, resource_changes=d.get("resource_changes") or {},
                   checkpoint=BlobRef.from_dict(d["checkpoint"]) if d.get("checkpoint") else None,
                   redacted_secrets=int(d.get("redacted_secrets", 0)))


@dataclass(frozen=True, kw_only=True)
class VersionDraft:
    """Everything a writer decides; the store adds number, parent, time and the chain.

    ``plan_version`` is the version whose decisions the stack config names (``roost:planVersion``):
    None means the new record itself (plans and rollbacks); an ``apply`` names what it applied.
    """

    reason: str
    plan: DeploymentPlan
    provenance: Provenance
    fleet: FleetSource | None = None
    plan_version: int | None = None
    restores: int | None = None
    engine: EngineRecord | None = None
    # Why each model was placed as it is (runners-up, explanation, confidence), kept beside the
    # decisions for cost reports. Stored as a blob: it is large and only reports read it.
    rationale: Mapping[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class VersionRecord:
    stack: str
    number: int
    parent: int | None
    reason: str
    created_at: str
    provenance: Provenance
    fleet: FleetSource | None
    plan: DeploymentPlan
    decisions_sha256: str
    plan_version: int
    restores: int | None
    cost: Mapping[str, Any]
    engine: EngineRecord | None
    prev_hash: str | None
    hash: str
    rationale: BlobRef | None = None

    @property
    def applied(self) -> bool:
        return self.engine is not None

    @property
    def monthly_cost_usd(self) -> float:
        return float(self.cost.get("monthly_cost_usd", self.plan.monthly_cost_usd))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> VersionRecord:
        return cls(
            stack=d["stack"], number=int(d["number"]), parent=d.get("parent"), reason=d["reason"],
            created_at=d["created_at"], provenance=Provenance.from_dict(d["provenance"]),
            fleet=FleetSource.from_dict(d["fleet"]) if d.get("fleet") else None,
            plan=DeploymentPlan.from_dict(d["plan"]), decisions_sha256=d["decisions_sha256"],
            plan_version=int(d["plan_version"]), restores=d.get("restores"), cost=d.get("cost") or {},
            engine=EngineRecord.from_dict(d["engine"]) if d.get("engine") else None,
            prev_hash=d.get("prev_hash"), hash=d["hash"],
            rationale=BlobRef.from_dict(d["rationale"]) if d.get("rationale") else None,
        )


@dataclass(frozen=True)
class StackHistory:
    """A stack's verified versions, oldest first."""

    stack: str
    records: tuple[VersionRecord, ...]

    @property
    def latest(self) -> VersionRecord | None:
        return self.records[-1] if self.records else None

    def __len__(self) -> int:
        return len(self.records)

    def get(self, number: int) -> VersionRecord:
        if 1 <= number <= len(self.records):
            return self.records[number - 1]
        have = f"versions 1-{len(self.records)}" if self.records else "no versions yet"
        raise UnknownVersionError(f"stack {self.stack!r} has no version {number} ({have}; see "
                                  f"`roost versions --stack {self.stack}`)")

    def applied_by(self, number: int) -> int | None:
        """The first ``apply`` record that deployed version ``number``'s decisions, if any."""
        for r in self.records[number:]:
            if r.reason == REASON_APPLY and r.plan_version == number:
                return r.number
        return None

    def last_applied(self) -> VersionRecord | None:
        return next((r for r in reversed(self.records) if r.applied), None)


class VersionStore:
    """Numbered, hash-chained versions per stack on a local directory or an object store."""

    def __init__(self, location: Location | str, *, lock_timeout: float = 30.0,
                 clock: Callable[[], datetime] | None = None):
        self.location = location if isinstance(location, Location) else Location(location)
        self.lock_timeout = lock_timeout
        self._clock = clock or (lambda: datetime.now(UTC))

    @property
    def url(self) -> str:
        return self.location.url

    def where(self, stack: str) -> str:
        return self.location.display(_stack_dir(stack))

    def stacks(self) -> list[str]:
        return [name for name in self.location.list() if STACK_DIR_NAME.match(name)
                and self.location.exists(name, "versions")]

    # -- reading -------------------------------------------------------------------------------
    def read(self, stack: str) -> StackHistory:
        """Every version of ``stack``, verified; StoreCorruptedError names the first bad one."""
        records, problems = self._load(stack)
        if problems:
            raise StoreCorruptedError(f"{self.where(stack)} (stack {stack!r})", problems)
        return StackHistory(stack=stack, records=tuple(records))

    def check(self, stack: str) -> list[str]:
        """Integrity problems of ``stack``'s records, [] when the chain is whole."""
        return self._load(stack)[1]

    def _load(self, stack: str) -> tuple[list[VersionRecord], list[str]]:
        base = _stack_dir(stack)
        numbers = sorted(int(m.group(1)) for name in self.location.list(base, "versions")
                         if (m := RECORD_NAME.match(name)))
        problems: list[str] = []
        records: list[VersionRecord] = []
        prev: VersionRecord | None = None
        top = numbers[-1] if numbers else 0
        present = set(numbers)
        for number in range(1, top + 1):
            name = f"versions/{number:08d}.json"
            if number not in present:
                problems.append(f"version {number} is missing ({name})")
                prev = None
                continue
            raw = self.location.read(base, "versions", f"{number:08d}.json")
            record, problem = _parse_record(raw, number=number, stack=stack, prev=prev,
                                            prev_missing=number > 1 and prev is None)
            if problem:
                problems.append(f"version {number}: {problem} ({name})")
            if record is not None:
                records.append(record)
            prev = record
        problems += self._check_head(base, records, top)
        return records, problems

    def _check_head(self, base: str, records: list[VersionRecord], top: int) -> list[str]:
        raw = self.location.read(base, "HEAD")
        if raw is None:
            return []  # no anchor yet: a first writer died before writing it, or an empty stack
        try:
            head = json.loads(raw)
            number, digest = int(head["number"]), str(head["hash"])
        except (ValueError, KeyError, TypeError):
            return ["HEAD is unreadable"]
        if number > top:
            return [f"HEAD names version {number} but the newest record is {top or 'none'}: "
                    f"version(s) {top + 1}-{number} were removed (truncated store)"]
        match = next((r for r in records if r.number == number), None)
        if match is not None and match.hash != digest:
            return [f"HEAD names version {number} with a different hash than its record"]
        return []

    def read_blob(self, stack: str, ref: BlobRef) -> bytes:
        raw = self.location.read(_stack_dir(stack), *ref.key.split("/"))
        if raw is None:
            raise StoreCorruptedError(self.where(stack), [f"blob {ref.key} is missing"])
        try:
            data = gzip.decompress(raw)
        except (OSError, EOFError):
            raise StoreCorruptedError(self.where(stack), [f"blob {ref.key} is not valid gzip"]) from None
        if hashlib.sha256(data).hexdigest() != ref.sha256:
            raise StoreCorruptedError(self.where(stack), [f"blob {ref.key} does not match its hash"])
        return data

    # -- writing -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def writer(self, stack: str, *, command: str = "roost") -> Iterator[StackWriter]:
        """Lock the stack, read and verify its history, and yield a writer that appends to it.

        A second writer waits up to ``lock_timeout`` seconds, then gets StoreBusyError.
        """
        base = _stack_dir(stack)
        with self.location.lock(base, ".lock", timeout=self.lock_timeout, command=command,
                                what=f"the version store of stack {stack!r} ({self.where(stack)})"):
            # Under the lock, temp files can only be left by writers that died.
            self.location.sweep_temp_files(base, "versions")
            self.location.sweep_temp_files(base, "blobs")
            yield StackWriter(self, stack, self.read(stack))


class StackWriter:
    """Appends to one stack while its lock is held (obtained from ``VersionStore.writer``)."""

    def __init__(self, store: VersionStore, stack: str, history: StackHistory):
        self._store = store
        self.stack = stack
        self.history = history

    def append(self, draft: VersionDraft) -> VersionRecord:
        latest = self.history.latest
        number = (latest.number if latest else 0) + 1
        decisions = draft.plan.decisions_sha256()
        data: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "stack": self.stack,
            "number": number,
            "parent": latest.number if latest else None,
            "reason": draft.reason,
            "created_at": self._store._clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "provenance": draft.provenance.to_dict(),
            "fleet": None if draft.fleet is None else draft.fleet.to_dict(),
            "catalog_version": draft.plan.catalog_version,
            "model_version": draft.plan.model_version,
            "plan": draft.plan.to_dict(),
            "decisions_sha256": decisions,
            "plan_version": draft.plan_version if draft.plan_version is not None else number,
            "restores": draft.restores,
            "cost": summarize(draft.plan.deployments).to_dict(),
            "applied": draft.engine is not None,
            "engine": None if draft.engine is None else draft.engine.to_dict(),
            "prev_hash": latest.hash if latest else None,
        }
        if draft.rationale is not None:  # absent, not null, so records without one hash as before
            data["rationale"] = self.put_blob(canonical_bytes(draft.rationale)).to_dict()
        _check_reason(draft.reason, number)
        data["hash"] = record_hash(data)
        body = canonical_bytes(data)
        base = _stack_dir(self.stack)
        location = self._store.location
        if not location.create(body, base, "versions", f"{number:08d}.json"):
            # Only possible when the lock did not hold (an object store without conditional writes).
            raise StoreBusyError(f"version {number} of stack {self.stack!r} was written by another process at the "
                                 "same time; this command recorded nothing. Re-run it")
        location.write_atomic(canonical_bytes({"number": number, "hash": data["hash"]}), base, "HEAD")
        record = VersionRecord.from_dict(data)
        self.history = StackHistory(stack=self.stack, records=(*self.history.records, record))
        return record

    def put_blob(self, data: bytes) -> BlobRef:
        digest = hashlib.sha256(data).hexdigest()
        key = f"blobs/{digest}.json.gz"
        # Content-addressed: an existing blob with this name holds these very bytes.
        self._store.location.create(gzip.compress(data, mtime=0), _stack_dir(self.stack), *key.split("/"))
        return BlobRef(key=key, sha256=digest, size_bytes=len(data))


def _stack_dir(stack: str) -> str:
    if not STACK_DIR_NAME.match(stack):
        raise InputError(f"invalid stack name {stack!r}: use letters, digits, '-', '_' and '.', "
                         "not starting with '.' or '-' (at most 100)")
    return stack


def _check_reason(reason: str, number: int) -> None:
    m = ROLLBACK_REASON.match(reason)
    if reason in (REASON_PLAN, REASON_APPLY) or (m and int(m.group(1)) < number):
        return
    raise ValueError(f"not a version reason: {reason!r}")


def _parse_record(raw: bytes | None, *, number: int, stack: str, prev: VersionRecord | None,
                  prev_missing: bool) -> tuple[VersionRecord | None, str | None]:
    if raw is None:
        return None, "vanished while reading"
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None, "is not valid JSON (cut short or overwritten)"
    if not isinstance(data, dict):
        return None, "is not a JSON object"
    # The hash first: a record edited to claim a newer schema is a broken chain, not a reason to upgrade.
    if data.get("hash") != record_hash(data):
        return None, "contents do not match its hash (modified after it was written)"
    schema = data.get("schema_version")
    if type(schema) is int and schema > SCHEMA_VERSION:
        raise NewerSchemaError(f"version {number} of stack {stack!r} was written by a newer roost (record schema "
                               f"{schema}, this roost reads up to {SCHEMA_VERSION}): upgrade roost")
    if data.get("number") != number or data.get("stack") != stack:
        return None, f"holds version {data.get('number')} of stack {data.get('stack')!r}, not this one"
    expected_prev = prev.hash if prev is not None else None
    if not prev_missing and data.get("prev_hash") != expected_prev:
        return None, f"does not follow version {number - 1} (hash chain broken)"
    while isinstance(schema, int) and schema < SCHEMA_VERSION and schema in _MIGRATIONS:
        data = _MIGRATIONS[schema](data)
        schema = data.get("schema_version")
    if schema != SCHEMA_VERSION:
        return None, f"has unknown schema_version {schema!r}"
    try:
        return VersionRecord.from_dict(data), None
    except (KeyError, TypeError, ValueError, AttributeError, InputError) as exc:
        return None, f"is malformed ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
