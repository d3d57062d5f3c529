from __future__ import annotations

from pathlib import Path

import click

from roost.scaffold import scaffold_project


@click.command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--name", help="Pulumi project name (default: the directory's name).")
@click.option("--stack", default="dev", show_default=True, help="First stack to create config for.")
@click.option("--force", is_flag=True, help="Write into a non-empty directory (never overwrites existing files).")
@click.option("--roost-source", metavar="PATH|URL",
              help="Where the project's Pulumi virtualenv installs roost from: a checkout, wheel, or VCS URL "
                   "[default: where this roost was installed from].")
def init(directory: str, name: str | None, stack: str, force: bool, roost_source: str | None) -> None:
    """Scaffold a roost project in DIRECTORY: Pulumi.yaml, a commented fleet file, stack config, and a
    requirements.txt that installs this very roost into the virtualenv Pulumi builds."""
    written = scaffold_project(Path(directory), name=name, stack=stack, force=force, roost_source=roost_source)
    click.echo(f"Created roost project in {directory}:")
    for path in written:
        click.echo(f"  {path}")
    click.echo(f"\nNext:\n  cd {directory}\n  roost recommend fleet.yaml\n  roost plan fleet.yaml --stack {stack}\n"
               f"  roost preview --stack {stack} --offline")
