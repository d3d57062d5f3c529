"""The version store on a local directory and on fsspec's in-memory object store."""
from __future__ import annotations

import dataclasses
import gzip
import json
import uuid
from datetime import UTC, datetime

import pytest

from history.store import Location, StoreBusyError
from history.versions import (
    REASON_APPLY,
    BlobRef,
    EngineRecord,
    NewerSchemaError,
    Provenance,
    StoreCorruptedError,
    UnknownVersionError,
    VersionDraft,
    VersionStore,
    record_hash,
    rollback_reason,
)
from placement.baseline import HeuristicPredictor
from placement.plan import DeploymentPlan
from roost.workflows import recommend_fleet

WHO = Provenance(author="Ada <ada@example.test>", roost_version="0.1.0", git_commit="abc123", git_dirty=False)


@pytest.fixture
def plans(tmp_path, catalog, fleet_texts) -> tuple[DeploymentPlan, DeploymentPlan]:
    out = []
    for i, text in enumerate(fleet_texts):
        path = tmp_path / f"fleet{i}.yaml"
        path.write_text(text)
        r = recommend_fleet(path, catalog, HeuristicPredictor())
        out.append(DeploymentPlan.from_recommendation(r.fleet, r.recommendation))
    assert out[0].decisions_sha256() != out[1].decisions_sha256()
    return out[0], out[1]


@pytest.fixture(params=["local", "memory"])
def store(request, tmp_path) -> VersionStore:
    if request.param == "local":
        return VersionStore(str(tmp_path / "store"), lock_timeout=0.2)
    url = f"memory://roost-test-{uuid.uuid4().hex}/versions"
    return VersionStore(url, lock_timeout=0.2)


def _append(store: VersionStore, stack: str, plan: DeploymentPlan, reason: str = "plan", **kw):
    with store.writer(stack) as w:
        return w.append(VersionDraft(reason=reason, plan=plan, provenance=WHO, **kw))


def _record_path(store: VersionStore, stack: str, n: int) -> str:
    return store.location.path(stack, "versions", f"{n:08d}.json")


def _rewrite(store: VersionStore, path: str, data: bytes) -> None:
    store.location.fs.pipe_file(path, data)


def test_append_numbers_chains_and_reads_back(store, plans):
    v1, v2 = plans
    r1 = _append(store, "prod", v1)
    r2 = _append(store, "prod", v2)
    r3 = _append(store, "prod", v1, reason=rollback_reason(1), restores=1)
    history = store.read("prod")
    assert [r.number for r in history.records] == [1, 2, 3]
    assert [r.parent for r in history.records] == [None, 1, 2]
    assert [r.reason for r in history.records] == ["plan", "plan", "rollback to 1"]
    assert r2.prev_hash == r1.hash and r3.prev_hash == r2.hash and r1.prev_hash is None
    assert history.get(3).decisions_sha256 == v1.decisions_sha256() == history.get(1).decisions_sha256
    assert history.get(2).plan.decisions_sha256() == v2.decisions_sha256()
    rec = history.get(1)
    assert rec.provenance == WHO and rec.plan_version == 1 and not rec.applied
    assert rec.cost["monthly_cost_usd"] == pytest.approx(v1.monthly_cost_usd, abs=0.01)
    assert set(rec.cost["by_team"]) == {"risk", "support"}
    assert store.stacks() == ["prod"]
    assert store.check("prod") == []


def test_records_are_canonical_json_with_schema_and_hash(store, plans):
    _append(store, "prod", plans[0])
    raw = store.location.fs.cat_file(_record_path(store, "prod", 1))
    data = json.loads(raw)
    assert data["schema_version"] == 1
    assert data["hash"] == record_hash(data)
    assert raw == json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def test_stacks_are_independent(store, plans):
    _append(store, "prod", plans[0])
    _append(store, "staging", plans[1])
    assert len(store.read("prod")) == 1 and len(store.read("staging")) == 1
    assert store.read("empty").latest is None


def test_unknown_version_names_the_range(store, plans):
    _append(store, "prod", plans[0])
    with pytest.raises(UnknownVersionError, match=r"no version 7 \(versions 1-1"):
        store.read("prod").get(7)


def test_flipped_byte_is_reported_with_its_version(store, plans):
    for p in (plans[0], plans[1], plans[0]):
        _append(store, "prod", p, reason="plan")
    path = _record_path(store, "prod", 2)
    raw = bytearray(store.location.fs.cat_file(path))
    at = raw.index(b'"replicas":') + len(b'"replicas":')
    raw[at] = ord("9") if raw[at] != ord("9") else ord("8")
    _rewrite(store, path, bytes(raw))
    with pytest.raises(StoreCorruptedError, match=r"version 2: contents do not match its hash"):
        store.read("prod")
    # A writer refuses to build on a broken chain.
    with pytest.raises(StoreCorruptedError):
        _append(store, "prod", plans[1])
    assert len(store.location.list("prod", "versions")) == 3


def test_replaced_record_breaks_the_chain(store, plans):
    _append(store, "prod", plans[0])
    _append(store, "prod", plans[1])
    # A self-consistent forgery of version 1 (valid hash) no longer links to version 2.
    data = json.loads(store.location.fs.cat_file(_record_path(store, "prod", 1)))
    data["reason"] = "rollback to 0"
    data["hash"] = record_hash(data)
    _rewrite(store, _record_path(store, "prod", 1), json.dumps(data).encode())
    problems = store.check("prod")
    assert any(p.startswith("version 2: does not follow version 1") for p in problems)


def test_cut_short_record_and_missing_record_are_reported(store, plans):
    for p in (plans[0], plans[1], plans[0]):
        _append(store, "prod", p)
    raw = store.location.fs.cat_file(_record_path(store, "prod", 3))
    _rewrite(store, _record_path(store, "prod", 3), raw[: len(raw) // 2])
    store.location.fs.rm_file(_record_path(store, "prod", 2))
    problems = store.check("prod")
    assert any(p.startswith("version 2 is missing") for p in problems)
    assert any(p.startswith("version 3: is not valid JSON") for p in problems)


def test_truncated_tail_is_detected_through_head(store, plans):
    for p in (plans[0], plans[1], plans[0]):
        _append(store, "prod", p)
    store.location.fs.rm_file(_record_path(store, "prod", 3))
    with pytest.raises(StoreCorruptedError, match=r"HEAD names version 3 but the newest record is 2"):
        store.read("prod")


def test_head_behind_the_records_is_harmless(store, plans):
    """A writer killed between the record and HEAD: the record counts, the next writer moves HEAD."""
    _append(store, "prod", plans[0])
    head = store.location.fs.cat_file(store.location.path("prod", "HEAD"))
    _append(store, "prod", plans[1])
    _rewrite(store, store.location.path("prod", "HEAD"), head)
    assert len(store.read("prod")) == 2
    _append(store, "prod", plans[0])
    assert json.loads(store.location.fs.cat_file(store.location.path("prod", "HEAD")))["number"] == 3


def test_newer_schema_is_refused_not_guessed(store, plans):
    _append(store, "prod", plans[0])
    data = json.loads(store.location.fs.cat_file(_record_path(store, "prod", 1)))
    data["schema_version"] = 2
    data["hash"] = record_hash(data)
    _rewrite(store, _record_path(store, "prod", 1), json.dumps(data).encode())
    with pytest.raises(NewerSchemaError, match="newer roost"):
        store.read("prod")


def test_second_writer_waits_then_refuses_clearly(store, plans):
    with store.writer("prod", command="roost plan"):
        with pytest.raises(StoreBusyError, match=r"stack 'prod'.*is locked by .*roost plan.*gave up after"):
            with store.writer("prod"):
                pass  # pragma: no cover
    # The lock is released afterwards.
    assert _append(store, "prod", plans[0]).number == 1


def test_exclusive_create_never_overwrites(store):
    assert store.location.create(b"first", "x", "key")
    assert not store.location.create(b"second", "x", "key")
    assert store.location.read("x", "key") == b"first"


def test_blobs_are_compressed_content_addressed_and_verified(store, plans):
    data = json.dumps({"version": 3, "deployment": {"resources": [{"urn": "u"}] * 50}}).encode()
    with store.writer("prod") as w:
        ref = w.put_blob(data)
        assert w.put_blob(data) == ref
        w.append(VersionDraft(reason=REASON_APPLY, plan=plans[0], provenance=WHO, plan_version=None,
                              engine=EngineRecord(update_version=4, result="succeeded", message="m", checkpoint=ref)))
    assert store.read_blob("prod", ref) == data
    stored = store.location.read("prod", *ref.key.split("/"))
    assert len(stored) < len(data) and gzip.decompress(stored) == data
    assert store.read("prod").get(1).engine.checkpoint == ref
    _rewrite(store, store.location.path("prod", *ref.key.split("/")), gzip.compress(data.replace(b"u", b"v")))
    with pytest.raises(StoreCorruptedError, match="does not match its hash"):
        store.read_blob("prod", ref)
    with pytest.raises(StoreCorruptedError, match="missing"):
        store.read_blob("prod", BlobRef(key="blobs/none.json.gz", sha256="0", size_bytes=1))


def test_created_at_is_utc_from_the_clock(tmp_path, plans):
    store = VersionStore(str(tmp_path / "s"), clock=lambda: datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert _append(store, "prod", plans[0]).created_at == "2030-01-02T03:04:05.000000Z"


@pytest.mark.parametrize("bad", ["..", ".hidden", "a/b", ""])
def test_stack_names_cannot_escape_the_store(store, bad):
    from placement.errors import InputError

    with pytest.raises(InputError, match="invalid stack name"):
        store.read(bad)


def test_unknown_protocol_is_a_clear_input_error():
    from history.store import StoreLocationError

    with pytest.raises(StoreLocationError, match="version store 'nosuchproto://b/x'"):
        Location("nosuchproto://b/x")


def test_plan_is_unchanged_by_a_round_trip_through_the_store(store, plans):
    rec = _append(store, "prod", plans[0])
    assert dataclasses.asdict(store.read("prod").get(1).plan) == dataclasses.asdict(rec.plan)
