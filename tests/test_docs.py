"""The README and docs/ keep their promises: links resolve, the CLI reference matches --help,
the README stays an entry page, and CI runs exactly the README's test command."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")
README_LIMIT_BYTES = 12 * 1024


def relative_links(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)  # links in code blocks are examples
    return [t for t in LINK.findall(text) if not re.match(r"^[a-z]+:", t) and not t.startswith("#")]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    missing = [t for t in relative_links(page) if not (page.parent / t.split("#")[0]).exists()]
    assert not missing, f"{page.relative_to(ROOT)} links to missing files: {missing}"


def test_readme_is_an_entry_page():
    size = len((ROOT / "README.md").read_bytes())
    assert size <= README_LIMIT_BYTES, f"README.md is {size} bytes; reference belongs in docs/"


def test_cli_reference_matches_help():
    from roost.cli.reference import render_reference

    assert (ROOT / "docs" / "cli.md").read_text() == render_reference(), \
        "docs/cli.md is stale: run `python -m roost.cli.reference > docs/cli.md`"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"```bash\n(pip install -e '\.\[dev\]'[^\n]*)\n```", readme)
    assert len(commands) == 1, "the README should show one test command"
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert commands[0] in ci_lines, f"{commands[0]!r} is not a line of .ci/run"
