"""The ``roost`` command line: thin commands that parse, call the core and print.

Each command group lives in its own module and registers itself in ``COMMANDS`` below.
Errors from the core are mapped to exit codes in one place (``RoostGroup.invoke``).
"""
from __future__ import annotations

import logging
import os
import sys

import click

from placement.errors import RoostError
from roost import __version__
from roost.errors import to_click

# Modules that each define a click command or group named in the tuple.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("roost.cli.recommend", "recommend"),
    ("roost.cli.catalog", "catalog"),
    ("roost.cli.init", "init"),
    ("roost.cli.preview", "preview"),
    ("roost.cli.history", "history"),
    ("roost.cli.stack", "plan"),
    ("roost.cli.stack", "versions"),
    ("roost.cli.stack", "diff"),
    ("roost.cli.stack", "rollback"),
    ("roost.cli.stack", "up"),
    ("roost.cli.stack", "state"),
    ("roost.cli.learn", "train_cmd"),
    ("roost.cli.learn", "models"),
    ("roost.cli.learn", "evaluate_cmd"),
)


class RoostGroup(click.Group):
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


def _register() -> None:
    import importlib

    for module_name, attr in COMMANDS:
        module = importlib.import_module(module_name)
        main.add_command(getattr(module, attr))


_register()
