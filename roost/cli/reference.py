"""docs/cli.md, generated from the commands' own help so the reference cannot drift from it.

    python -m roost.cli.reference > docs/cli.md

tests/test_docs.py fails when the checked-in page differs from what this prints.
"""
from __future__ import annotations

import click

WIDTH = 100
HEADER = """# CLI reference

Generated from `--help` by `python -m roost.cli.reference > docs/cli.md`; a test keeps the two equal.
Exit codes for every command: 0 success, 1 a gate failed, 2 bad input, 3 engine error, 70 a bug.
"""


def _walk(command: click.Command, path: list[str], parent: click.Context | None):
    settings = {**command.context_settings, "terminal_width": WIDTH, "max_content_width": WIDTH}
    ctx = click.Context(command, info_name=path[-1], parent=parent, **settings)
    yield path, ctx
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from _walk(sub, [*path, name], ctx)


def render_reference() -> str:
    from roost.cli import main

    parts = [HEADER]
    for path, ctx in _walk(main, ["roost"], None):
        parts.append(f"\n## `{' '.join(path)}`\n\n```\n{ctx.get_help().rstrip()}\n```\n")
    return "".join(parts)


if __name__ == "__main__":
    click.echo(render_reference(), nl=False)
