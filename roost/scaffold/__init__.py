"""`roost init`: a user's own project, laid out the way `pulumi new` lays one out.

The project's Pulumi program imports roost's ``stacks`` package, and Pulumi runs it in a
virtualenv it builds from the project's ``requirements.txt``. That file therefore names the very
roost that wrote it, by its source: the checkout or wheel it was installed from (PEP 610's
``direct_url.json``), or the exact version when it came from a package index. Naming a bare
``roost`` would make Pulumi install whatever a public index serves under that name.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path

from placement.errors import InputError
from roost import __version__
from roost.stackfile import validate_stack_name

PROJECT_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
FILES = {
    "Pulumi.yaml.tmpl": "Pulumi.yaml",
    "program_main.py.tmpl": "program/__main__.py",
    "fleet.yaml": "fleet.yaml",
    "stack.yaml.tmpl": "Pulumi.{stack}.yaml",
    "gitignore.tmpl": ".gitignore",
    "requirements.txt.tmpl": "requirements.txt",
}
# A requirement line may carry a PEP 508 URL; nothing that could start a second line or an option.
_SOURCE = re.compile(r"^[A-Za-z0-9+.:/@_~%=#&?,-][^\s;]*$")


@dataclass(frozen=True)
class RoostRequirement:
    line: str  # what requirements.txt says
    note: str  # where it came from, for the file's comment


def installed_roost_requirement(source: str | None = None) -> RoostRequirement:
    """The requirement that installs this roost: ``source`` if given, else how it was installed."""
    if source:
        if not _SOURCE.match(source):
            raise InputError(f"--roost-source {source!r}: expected a path, file:// URL, VCS URL or wheel URL")
        return RoostRequirement(f"roost @ {_as_url(source)}", f"the source given to `roost init` ({source})")
    url = _direct_url()
    if url:
        return RoostRequirement(f"roost @ {url}", f"roost {__version__}, installed from {url}")
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file():  # running from a source tree that was never installed
        return RoostRequirement(f"roost @ {checkout.as_uri()}", f"roost {__version__}, the checkout at {checkout}")
    return RoostRequirement(f"roost=={__version__}", f"roost {__version__} from your package index")


def _as_url(source: str) -> str:
    if "://" in source or source.startswith("git+"):
        return source
    return Path(source).expanduser().resolve().as_uri()


def _direct_url() -> str | None:
    try:
        text = metadata.distribution("roost").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return None
    if not text:
        return None
    info = json.loads(text)
    url = info.get("url")
    if url and "vcs_info" in info:
        vcs = info["vcs_info"]
        return f"{vcs.get('vcs', 'git')}+{url}@{vcs.get('commit_id', '')}".rstrip("@")
    return url


def scaffold_project(directory: Path, *, name: str | None, stack: str, force: bool,
                     roost_source: str | None = None) -> list[str]:
    project = name or directory.resolve().name
    if not PROJECT_NAME.match(project):
        raise InputError(f"invalid project name {project!r}: use letters, digits, '-', '_' and '.'")
    validate_stack_name(stack)
    requirement = installed_roost_requirement(roost_source)
    if directory.exists() and any(directory.iterdir()) and not force:
        raise InputError(f"{directory} is not empty; pass --force to add roost files next to what is there")
    targets = {src: directory / dst.format(stack=stack) for src, dst in FILES.items()}
    clashes = [str(t) for t in targets.values() if t.exists()]
    if clashes:
        raise InputError(f"refusing to overwrite existing file(s): {', '.join(clashes)}")
    values = {"project": project, "stack": stack, "roost_requirement": requirement.line,
              "roost_note": requirement.note}
    written = []
    for src, target in targets.items():
        text = resources.files("roost.scaffold").joinpath(src).read_text()
        for key, value in values.items():
            text = text.replace("{{" + key + "}}", value)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        written.append(str(target.relative_to(directory)))
    return written
