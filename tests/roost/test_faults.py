"""Fault tests in real processes: a writer killed mid-write, concurrent writers, a held lock."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from history.versions import VersionStore
from roost import lifecycle
from roost.cli import main

ROOST = [sys.executable, "-c", "from roost.cli import main; main()"]
# The same CLI, with a store whose writer pauses once its record is on disk but unpublished
# (the marker file says so), so that the test can SIGKILL it at exactly the worst moment.
PAUSING_ROOST = [sys.executable, "-c", """
import os, sys, time
from pathlib import Path
from history.store import Location
from history.versions import VersionStore
from roost.cli import main
from roost.cli.options import StackServices

marker = Path(sys.argv[1])

def pause(key):
    if not key.startswith("dev/versions/"):  # the rationale blob a plan writes before its record
        return
    marker.write_text(str(os.getpid()))
    time.sleep(60)

factory = lambda url, timeout: VersionStore(Location(url, before_publish=pause), lock_timeout=timeout)
sys.argv = sys.argv[1:]
main(obj=StackServices(store_factory=factory))
"""]


def plan_cmd(project: Path, fleet: Path, *extra: str) -> list[str]:
    return [*ROOST, "plan", str(fleet), "--stack", "dev", "--project-dir", str(project), "--predictor", "baseline",
            "--json", *extra]


def plan_in_process(project: Path) -> dict:
    result = CliRunner().invoke(main, plan_cmd(project, project / "fleet.yaml")[3:], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def store_of(project: Path) -> VersionStore:
    return VersionStore(lifecycle.store_url(project))


def test_writer_killed_mid_write_leaves_no_partial_version(project, fleet_texts, tmp_path):
    first = plan_in_process(project)
    (project / "fleet.yaml").write_text(fleet_texts[1])
    marker = tmp_path / "writer-paused"
    cmd = [*PAUSING_ROOST, str(marker), *plan_cmd(project, project / "fleet.yaml")[len(ROOST):]]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the writer never reached the publish step"
        time.sleep(0.05)
    # The record is fully written to its temp file and fsynced, not yet published: kill now.
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL

    versions_dir = Path(lifecycle.store_url(project)) / "dev" / "versions"
    assert list(versions_dir.glob(".*.tmp")), "the killed writer should have left its unpublished temp file"
    history = store_of(project).read("dev")  # verifies the chain
    assert [r.number for r in history.records] == [1]
    assert lifecycle.read_config_state(project, "dev").plan_version == 1  # config untouched
    listing = CliRunner().invoke(main, ["versions", "--stack", "dev", "--project-dir", str(project), "--json"])
    assert listing.exit_code == 0
    assert [v["version"] for v in json.loads(listing.stdout)["versions"]] == [1]

    # The lock died with the writer; the next plan records version 2 and sweeps the leftovers.
    second = plan_in_process(project)
    assert (second["version"], second["previous_version"]) == (2, 1)
    assert second["decisions_sha256"] != first["decisions_sha256"]
    assert not list(versions_dir.glob(".*.tmp"))
    assert store_of(project).check("dev") == []


@pytest.mark.parametrize("lock_timeout", ["30", "0"])
def test_concurrent_plans_never_lose_or_duplicate_a_version(project, fleet_texts, lock_timeout):
    fleets = []
    for i, text in enumerate(fleet_texts):
        path = project / f"fleet-{i}.yaml"
        path.write_text(text)
        fleets.append(path)
    procs = [subprocess.Popen(plan_cmd(project, f, "--lock-timeout", lock_timeout), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for f in fleets]
    results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    done = [json.loads(out) for code, out, _ in results if code == 0]
    refused = [err for code, _, err in results if code != 0]
    for err in refused:  # the only acceptable failure: one clear refusal, exit 1, no traceback
        assert "is locked by" in err and "Traceback" not in err, err
    assert all(code in (0, 1) for code, _, _ in results)
    assert len(done) >= 1 and len(done) + len(refused) == 2
    if lock_timeout == "30":
        assert len(done) == 2, refused

    history = store_of(project).read("dev")
    assert sorted(d["version"] for d in done) == [r.number for r in history.records] == list(range(1, len(done) + 1))
    assert {d["decisions_sha256"] for d in done} == {r.decisions_sha256 for r in history.records}
    # Whoever wrote last, the config names the latest version with its decisions.
    config = lifecycle.read_config_state(project, "dev")
    assert config.names(history.latest)


def test_a_held_lock_refuses_a_second_writer_with_a_clear_message(project):
    store = store_of(project)
    with store.writer("dev", command="roost up"):
        proc = subprocess.run(plan_cmd(project, project / "fleet.yaml", "--lock-timeout", "0.5"),
                              capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "version store of stack 'dev'" in proc.stderr and "(roost up)" in proc.stderr
    assert "gave up after waiting 0.5s" in proc.stderr and "Traceback" not in proc.stderr
    assert len(store.read("dev")) == 0
    assert not (project / "Pulumi.dev.yaml").exists()
