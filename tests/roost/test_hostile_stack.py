"""Stack files, version stores and engines in states a careless or hostile user leaves them in."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from roost import lifecycle
from roost.cli import main
from roost.engine import EngineUnavailableError, PulumiAutomationRunner


def roost(project: Path, *args: str):
    return CliRunner().invoke(main, [*args, "--stack", "dev", "--project-dir", str(project)])


def plan(project: Path):
    return roost(project, "plan", str(project / "fleet.yaml"), "--predictor", "baseline")


def one_line_error(result, code: int, *words: str) -> None:
    assert result.exit_code == code, result.output
    assert "internal error" not in result.output and "Traceback" not in result.output
    assert all(w in result.output for w in words), result.output


def test_a_binary_stack_file_is_refused(project):
    (project / "Pulumi.dev.yaml").write_bytes(bytes(range(128, 256)))
    for args in (("versions",), ("preview", "--offline")):
        one_line_error(roost(project, *args), 2, "Pulumi.dev.yaml", "not UTF-8")


def test_a_stack_file_that_is_a_directory_is_refused_and_nothing_is_recorded(project):
    (project / "Pulumi.dev.yaml").mkdir()
    one_line_error(plan(project), 2, "Pulumi.dev.yaml", "directory")
    one_line_error(roost(project, "versions"), 2, "directory")
    assert not (Path(lifecycle.store_url(project)) / "dev" / "versions").exists()


def test_a_lock_that_is_a_directory_is_refused(project):
    lock = Path(lifecycle.store_url(project)) / "dev" / ".lock"
    lock.mkdir(parents=True)
    one_line_error(plan(project), 2, ".lock")


def test_a_record_that_is_a_directory_is_refused(project):
    assert plan(project).exit_code == 0
    record = Path(lifecycle.store_url(project)) / "dev" / "versions" / "00000001.json"
    record.unlink()
    record.mkdir()
    one_line_error(roost(project, "versions"), 2, "00000001.json")


def test_a_pulumi_whose_version_command_fails_is_an_engine_error(project, tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "pulumi"
    fake.write_text("#!/bin/sh\necho broken >&2\nexit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    runner = PulumiAutomationRunner(project, "dev", on_output=None, policy_packs=[])
    with pytest.raises(EngineUnavailableError, match="`pulumi version` failed with exit status 1"):
        runner.check_available()
