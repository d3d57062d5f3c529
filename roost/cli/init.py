from __future__ import annotations

from pathlib import Path

import click

from roost.scaffold import scaffold_project


@click.command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--name", help="Pulumi project name (default: the directory's name).")
@click.option("--stack", default="dev", show_default=True, help="First stack to create config for.")
@click.option("--force", is_flag=True, help="Write into a non-empty directory (never overwrites existing files).")
def init(directory: str, name: str | None, stack: str, force: bool) -> None:
    """Scaffold a roost project in DIRECTORY: Pulumi.yaml, a commented fleet file, stack config."""
    written = scaffold_project(Path(directory), name=name, stack=stack, force=force)
    click.echo(f"Created roost project in {directory}:")
    for path in written:
        click.echo(f"  {path}")
    click.echo(f"\nNext:\n  cd {directory}\n  roost recommend fleet.yaml\n  roost plan fleet.yaml --stack {stack}\n"
               f"  roost preview --stack {stack} --offline")
