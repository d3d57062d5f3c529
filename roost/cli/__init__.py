"""The ``roost`` command line: thin commands that parse, call the core and print.

Each command (or group) lives in its own module, named in ``COMMANDS`` below and imported only
when it runs or its help is shown, so `roost --help` does not pay for LightGBM, pandas or the
Pulumi SDKs. Command modules keep those imports inside their functions for the same reason.
Errors from the core are mapped to exit codes in one place (``RoostGroup.invoke``).
"""
from __future__ import annotations

import importlib
import logging
import os
import sys

import click

from placement.errors import RoostError
from roost import __version__
from roost.errors import to_click

# Command name -> (module, attribute) of the click command or group that implements it.
COMMANDS: dict[str, tuple[str, str]] = {
    "recommend": ("roost.cli.recommend", "recommend"),
    "catalog": ("roost.cli.catalog", "catalog"),
    "init": ("roost.cli.init", "init"),
    "preview": ("roost.cli.preview", "preview"),
    "history": ("roost.cli.history", "history"),
    "plan": ("roost.cli.stack", "plan"),
    "versions": ("roost.cli.stack", "versions"),
    "diff": ("roost.cli.stack", "diff"),
    "rollback": ("roost.cli.stack", "rollback"),
    "up": ("roost.cli.stack", "up"),
    "state": ("roost.cli.stack", "state"),
    "train": ("roost.cli.learn", "train_cmd"),
    "models": ("roost.cli.learn", "models"),
    "evaluate": ("roost.cli.learn", "evaluate_cmd"),
    "ci": ("roost.cli.ci", "ci"),
    "report": ("roost.cli.report", "report"),
    "calibrate": ("roost.cli.calibrate", "calibrate_cmd"),
    "drift": ("roost.cli.drift", "drift"),
}


class RoostGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target
        return getattr(importlib.import_module(module_name), attr)

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        # Pulumi's runtime logs unretrieved futures to asyncio's logger after any failure.
        logging.getLogger("asyncio").setLevel(logging.CRITICAL)
        try:
            return super().invoke(ctx)
        except RoostError as exc:
            raise to_click(exc) from None
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:  # a bug: say so in one line, traceback only on request
            if os.environ.get("ROOST_DEBUG"):
                raise
            click.echo(f"Error: internal error: {type(exc).__name__}: {exc} "
                       "(set ROOST_DEBUG=1 for the traceback, and please report it)", err=True)
            sys.exit(70)


@click.group(cls=RoostGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="roost")
def main() -> None:
    """Learned placement and Pulumi fleets for ML model serving.

    \b
    Typical flow:
      roost recommend fleet.yaml            see where each model should run and why
      roost plan fleet.yaml --stack prod    commit decisions into Pulumi.prod.yaml
      roost preview --stack prod --offline  every resource `pulumi up` would create
      pulumi up --stack prod                (or: roost up --stack prod)
    """


def run() -> None:
    """The `roost` console script: the command line, then a quick interpreter exit.

    After the Pulumi SDKs load, ~0.5 M long-lived objects make the interpreter's final garbage
    collections take seconds (measured for `roost ci`: 7 s of a 34 s run on a loaded machine,
    0.5 s frozen). Freezing them first skips that work; exit handlers still run. Only the
    process entry point does it: in-process callers (tests, CliRunner) call ``main``.
    """
    import gc

    try:
        main(prog_name="roost")
    finally:
        gc.freeze()
