"""The help screens stay light: no LightGBM, pandas or Pulumi SDK is imported to print help.

Checked in fresh interpreters (what a user's shell does), by module, not by the clock: timing
lives in benchmarks/bench_cli.py.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from roost.cli import COMMANDS

HEAVY = ("lightgbm", "pandas", "numpy", "pydantic", "pulumi", "pulumi_aws", "pulumi_gcp", "pulumi_azure_native", "matplotlib",
         "dask", "distributed", "sklearn", "scipy", "pyarrow")


def modules_after_help(*argv: str) -> set[str]:
    code = ("import sys, json\nfrom roost.cli import main\n"
            f"try:\n    main({list(argv) + ['--help']!r}, prog_name='roost')\n"
            "except SystemExit:\n    pass\n"
            "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("argv", [(), *[(name,) for name in sorted(COMMANDS)]], ids=lambda a: " ".join(a) or "roost")
def test_help_imports_nothing_heavy(argv):
    heavy = sorted(m for m in modules_after_help(*argv) if m.split(".")[0] in HEAVY)
    assert not heavy, f"`roost {' '.join(argv)} --help` imported {heavy[:5]}"


def test_every_listed_command_resolves_and_is_named_as_listed():
    from roost.cli import main

    for name in COMMANDS:
        command = main.get_command(None, name)  # type: ignore[arg-type]
        assert command is not None and command.name == name
