"""Terminal output: readable tables for people, plain JSON for pipelines.

Colour only on a terminal and never when NO_COLOR is set; JSON is always uncoloured and
goes to stdout alone so that ``roost … --json | jq`` works.
"""
from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table


def in_ci() -> bool:
    """CI services set CI (to "true", "1", "yes", …); "false" or "0" means a person set it off."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def console(stderr: bool = False) -> Console:
    no_color = bool(os.environ.get("NO_COLOR")) or in_ci()
    return Console(stderr=stderr, no_color=no_color, highlight=False, soft_wrap=False,
                   width=None if sys.stdout.isatty() else 160)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]],
          *, right: Iterable[str] = ()) -> Table:
    t = Table(title=title, title_justify="left", show_edge=False, pad_edge=False, box=None,
              header_style="bold")
    right_set = set(right)
    for col in columns:
        t.add_column(col, justify="right" if col in right_set else "left", overflow="fold")
    for row in rows:
        t.add_row(*["" if v is None else str(v) for v in row])
    return t


def money(value: float) -> str:
    return f"${value:,.2f}" if abs(value) < 100 else f"${value:,.0f}"


def signed_money(value: float) -> str:
    return ("+" if value >= 0 else "-") + money(abs(value))


class Progress:
    """A one-line progress indicator on stderr for a person; silent for pipelines."""

    def __init__(self, label: str, enabled: bool | None = None):
        self.label = label
        self.enabled = sys.stderr.isatty() if enabled is None else enabled

    def __call__(self, done: int, total: int) -> None:
        if self.enabled:
            sys.stderr.write(f"\r{self.label}: {done}/{total}")
            if done >= total:
                sys.stderr.write("\n")
            sys.stderr.flush()
