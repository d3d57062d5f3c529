"""Keep one merge-request note per stack with `roost ci`'s Markdown (GitLab's "sticky comment").

    python3 gitlab_mr_note.py roost-ci.md roost-ci:prod

Finds the note whose body holds ``<!-- roost-ci:prod -->`` (roost ci writes that marker on
the first line) and replaces its body, or creates the note. Reads GitLab's predefined CI
variables and a project access token (api scope) from ROOST_CI_GITLAB_TOKEN. Standard
library only, so it runs in any image with Python.
"""
from __future__ import annotations

import json
import os
import sys
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

Request = Callable[[str, str, dict | None], object]


def _http(token: str) -> Request:
    def request(method: str, url: str, body: dict | None) -> object:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method,
                                     headers={"PRIVATE-TOKEN": token, "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:  # the GitLab API URL from CI
            return json.loads(resp.read() or b"null")
    return request


def upsert_note(request: Request, notes_url: str, marker: str, body: str) -> str:
    """Update the note carrying ``marker`` (first page of 100 notes, newest first) or create one."""
    notes = request("GET", f"{notes_url}?per_page=100&sort=desc&order_by=updated_at", None)
    for note in notes if isinstance(notes, list) else []:
        if marker in str(note.get("body", "")):
            request("PUT", f"{notes_url}/{note['id']}", {"body": body})
            return "updated"
    request("POST", notes_url, {"body": body})
    return "created"


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    body = Path(argv[1]).read_text()
    marker = f"<!-- {argv[2]} -->"
    project = urllib.parse.quote(os.environ["CI_PROJECT_ID"], safe="")
    notes_url = (f"{os.environ['CI_API_V4_URL']}/projects/{project}/merge_requests/"
                 f"{os.environ['CI_MERGE_REQUEST_IID']}/notes")
    print(f"roost ci note {upsert_note(_http(os.environ['ROOST_CI_GITLAB_TOKEN']), notes_url, marker, body)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
