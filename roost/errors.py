"""The only place roost errors become exit codes: one ClickException subclass per code.

    exit 2  BadInput     the user's input (files, flags, names, constraints) is wrong
    exit 1  GateFailed   a check ran and failed (policy, cost gate, stale plan, quality)
    exit 3  EngineError  the Pulumi engine or a cloud failed or is not available
"""
from __future__ import annotations

import click

from placement.errors import RoostError


class _Multiline(click.ClickException):
    """Prefix every line with 'Error: ' so each problem stands alone in a CI log."""

    def show(self, file=None) -> None:  # type: ignore[override]
        for line in self.format_message().splitlines() or [""]:
            click.echo(f"Error: {line}", err=True)


class BadInput(_Multiline):
    exit_code = 2


class GateFailed(_Multiline):
    exit_code = 1


class EngineError(_Multiline):
    exit_code = 3


def to_click(exc: RoostError) -> click.ClickException:
    """Map a core error to the exception carrying its exit code and message."""
    message = str(exc)
    if exc.exit_code == 2:
        return BadInput(message)
    if exc.exit_code == 3:
        return EngineError(message)
    return GateFailed(message)
