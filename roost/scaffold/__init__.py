"""`roost init`: a user's own project, laid out the way `pulumi new` lays one out."""
from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from placement.errors import InputError
from roost.stackfile import validate_stack_name

PROJECT_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
FILES = {
    "Pulumi.yaml.tmpl": "Pulumi.yaml",
    "program_main.py.tmpl": "program/__main__.py",
    "fleet.yaml.tmpl": "fleet.yaml",
    "stack.yaml.tmpl": "Pulumi.{stack}.yaml",
    "gitignore.tmpl": ".gitignore",
    "requirements.txt.tmpl": "requirements.txt",
}


def scaffold_project(directory: Path, *, name: str | None, stack: str, force: bool) -> list[str]:
    project = name or directory.resolve().name
    if not PROJECT_NAME.match(project):
        raise InputError(f"invalid project name {project!r}: use letters, digits, '-', '_' and '.'")
    validate_stack_name(stack)
    if directory.exists() and any(directory.iterdir()) and not force:
        raise InputError(f"{directory} is not empty; pass --force to add roost files next to what is there")
    targets = {src: directory / dst.format(stack=stack) for src, dst in FILES.items()}
    clashes = [str(t) for t in targets.values() if t.exists()]
    if clashes:
        raise InputError(f"refusing to overwrite existing file(s): {', '.join(clashes)}")
    written = []
    for src, target in targets.items():
        text = resources.files("roost.scaffold").joinpath(src).read_text()
        text = text.replace("{{project}}", project).replace("{{stack}}", stack)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        written.append(str(target.relative_to(directory)))
    return written
