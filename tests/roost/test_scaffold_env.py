"""`roost init` writes a project whose Pulumi program runs in the environment Pulumi builds.

Pulumi creates the project's virtualenv and installs requirements.txt into it; the program then
imports roost's `stacks`. This test does the same with pip, offline: roost's own dependencies
come from the test's environment (a .pth line, standing in for a company mirror), roost itself
only from what requirements.txt names. Slow (builds a wheel of roost), so it runs once.
"""
from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest
from click.testing import CliRunner

from roost.cli import main

pytestmark = pytest.mark.slow


def requirement_lines(project: Path) -> list[str]:
    text = (project / "requirements.txt").read_text()
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_requirements_name_this_roost_by_its_source(tmp_path):
    result = CliRunner().invoke(main, ["init", str(tmp_path / "p")])
    assert result.exit_code == 0, result.output
    (line,) = requirement_lines(tmp_path / "p")
    assert line.startswith("roost @ ") or line.startswith("roost=="), line
    assert line != "roost"


def test_roost_source_flag_is_used_and_checked(tmp_path):
    wheel = tmp_path / "roost-9.9.9-py3-none-any.whl"
    result = CliRunner().invoke(main, ["init", str(tmp_path / "p"), "--roost-source", str(wheel)])
    assert result.exit_code == 0, result.output
    assert requirement_lines(tmp_path / "p") == [f"roost @ {wheel.as_uri()}"]
    bad = CliRunner().invoke(main, ["init", str(tmp_path / "q"), "--roost-source", "x\n--index-url evil"])
    assert bad.exit_code == 2 and "--roost-source" in bad.output
    assert not (tmp_path / "q").exists()


def test_the_program_imports_in_a_venv_built_from_requirements_only(tmp_path):
    project = tmp_path / "fleet-project"
    assert CliRunner().invoke(main, ["init", str(project)]).exit_code == 0
    env_dir = project / "venv"  # where Pulumi.yaml's runtime.options.virtualenv puts it
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    target_site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                 capture_output=True, text=True, check=True).stdout.strip()
    # Dependencies (pulumi, lightgbm, ...) from this test's environment, as a mirror would serve them.
    (Path(target_site) / "_deps_from_test_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    clean_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIP_INDEX_URL")}
    install = subprocess.run(
        [python, "-m", "pip", "install", "--no-index", "--no-build-isolation", "--disable-pip-version-check",
         "-q", "-r", "requirements.txt"], cwd=project, env=clean_env, capture_output=True, text=True)
    assert install.returncode == 0, install.stderr[-2000:]
    probe = ("import importlib.resources as r, stacks, stacks.program, templates; "
             "print(stacks.__file__); "
             "print(r.files('templates').joinpath('cloud-init/serve.sh.j2').is_file())")
    out = subprocess.run([python, "-c", probe], cwd=tmp_path, env=clean_env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    stacks_file, has_template = out.stdout.split()
    assert stacks_file.startswith(target_site), f"stacks came from {stacks_file}, not the project's venv"
    assert has_template == "True"
    assert sys.executable != str(python)
