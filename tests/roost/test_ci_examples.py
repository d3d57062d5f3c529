"""The pipeline examples in examples/ci/: they parse, call only roost commands and flags that
exist (looked up in the click command tree), and keep the shape the docs promise."""
from __future__ import annotations

import importlib.util
import re
import shlex
from pathlib import Path

import click
import pytest
import yaml

from roost.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "ci"
SHELL_OPERATORS = {"|", "||", "&&", ";", ">", ">>", "<", "2>", "2>&1", "&"}
FLAG = re.compile(r"(?<![\w-])--?[A-Za-z][A-Za-z0-9-]*")


def load(name: str) -> dict:
    return yaml.safe_load((EXAMPLES / name).read_text())


def github_scripts(doc: dict) -> list[str]:
    return [step["run"] for job in doc["jobs"].values() for step in job["steps"] if "run" in step]


def gitlab_scripts(doc: dict) -> list[str]:
    out = []
    for job in doc.values():
        if isinstance(job, dict):
            for key in ("before_script", "script", "after_script"):
                lines = job.get(key, [])
                # A plain YAML line holding ": " turns into a mapping, which GitLab rejects.
                assert all(isinstance(line, str) for line in lines), f"{key}: {lines}"
                out += lines
    return out


def roost_calls(script: str) -> list[list[str]]:
    """Every `roost …` invocation in a shell script, as tokens up to the next shell operator."""
    calls = []
    for line in script.replace("\\\n", " ").splitlines():
        try:
            tokens = shlex.split(line, comments=True)
        except ValueError:  # an unbalanced quote inside a heredoc body: not a command line
            continue
        for i, token in enumerate(tokens):
            if token == "roost" and (i == 0 or tokens[i - 1] in SHELL_OPERATORS or tokens[i - 1] == "then"):
                call = []
                for t in tokens[i + 1:]:
                    if t in SHELL_OPERATORS or t.startswith((">", "2>")):
                        break
                    call.append(t)
                calls.append(call)
    return calls


def resolve(tokens: list[str]) -> tuple[click.Command, list[str]]:
    """The command a call names (walking groups) and the flags it passes."""
    command: click.Command = main
    ctx = click.Context(main)
    rest = list(tokens)
    while isinstance(command, click.Group) and rest and not rest[0].startswith("-"):
        sub = command.get_command(ctx, rest.pop(0))
        assert sub is not None, f"roost has no command {tokens}"
        command = sub
    flags = [m.group(0) for t in rest for m in FLAG.finditer(t)]
    return command, flags


def option_names(command: click.Command) -> set[str]:
    names = {"--help", "-h"}
    for p in command.params:
        if isinstance(p, click.Option):
            names.update(p.opts)
            names.update(p.secondary_opts)
    return names


PROJECT_CI = EXAMPLES.parents[1] / ".ci" / "run"
CALLS = [(name, call) for name, scripts in (("github-actions.yml", github_scripts(load("github-actions.yml"))),
                                            ("gitlab-ci.yml", gitlab_scripts(load("gitlab-ci.yml"))),
                                            (".ci/run", [PROJECT_CI.read_text()]))
         for script in scripts for call in roost_calls(script)]


def test_the_examples_and_the_projects_own_ci_call_roost_ci():
    used = {(name, tuple(call[:1])) for name, call in CALLS}
    assert {("github-actions.yml", ("ci",)), ("gitlab-ci.yml", ("ci",)), (".ci/run", ("ci",)),
            (".ci/run", ("plan",)), (".ci/run", ("init",))} <= used


@pytest.mark.parametrize("name, call", CALLS, ids=[f"{n}:{' '.join(c)[:40]}" for n, c in CALLS])
def test_every_roost_command_and_flag_in_the_examples_exists(name, call):
    command, flags = resolve(call)
    unknown = sorted(set(flags) - option_names(command))
    assert not unknown, f"{name}: `roost {' '.join(call)}` uses flags roost {command.name} does not have: {unknown}"


def test_the_parser_notices_a_flag_that_does_not_exist():
    (call,) = roost_calls('roost ci --stack "$STACK" --max-increase-percent 5 > out.json')
    command, flags = resolve(call)
    assert set(flags) - option_names(command) == {"--max-increase-percent"}
    (call,) = roost_calls('x && roost ci ${base:+--base-version "$base"} --json')
    assert resolve(call)[1] == ["--base-version", "--json"]


def test_github_workflow_gates_pull_requests_and_deploys_main_with_pulumi_over_oidc():
    doc = load("github-actions.yml")
    triggers = doc.get("on") or doc.get(True)  # YAML 1.1 reads a bare `on` as true
    assert "pull_request" in triggers and triggers["push"]["branches"] == ["main"]
    gate, deploy = doc["jobs"]["gate"], doc["jobs"]["deploy"]
    assert "pull_request" in gate["if"] and "id-token" not in gate["permissions"]
    assert gate["permissions"]["pull-requests"] == "write"
    comment = next(s for s in gate["steps"] if s.get("uses", "").startswith("marocchino/sticky-pull-request-comment"))
    assert comment["with"]["path"] == "roost-ci.md" and comment["with"]["header"]
    assert "refs/heads/main" in deploy["if"]
    assert deploy["permissions"]["id-token"] == "write"
    assert "prod" in deploy["concurrency"]["group"] and deploy["concurrency"]["cancel-in-progress"] is False
    pulumi = next(s for s in deploy["steps"] if s.get("uses", "").startswith("pulumi/actions@"))
    assert pulumi["with"]["command"] == "up" and pulumi["with"]["stack-name"] == "prod"
    uses = [s.get("uses", "") for s in deploy["steps"]]
    assert any(u.startswith("aws-actions/configure-aws-credentials") for u in uses)
    assert any(u.startswith("google-github-actions/auth") for u in uses)
    assert any(u.startswith("azure/login") for u in uses)
    assert not any("secrets.AWS_SECRET_ACCESS_KEY" in str(s) for s in deploy["steps"])


def test_gitlab_pipeline_gates_merge_requests_and_deploys_the_default_branch_one_update_at_a_time():
    doc = load("gitlab-ci.yml")
    gate, deploy = doc["roost-ci"], doc["pulumi-up"]
    assert "merge_request_event" in gate["rules"][0]["if"]
    assert "CI_DEFAULT_BRANCH" in deploy["rules"][0]["if"]
    assert deploy["resource_group"] == "pulumi-prod"
    assert set(deploy["id_tokens"]) == {"AWS_ID_TOKEN", "GCP_ID_TOKEN", "AZURE_ID_TOKEN"}
    assert any("pulumi up" in line for line in deploy["script"])
    assert deploy["image"].startswith("pulumi/")
    assert any("gitlab_mr_note.py roost-ci.md" in line for line in gate["script"])


def _note_helper():
    spec = importlib.util.spec_from_file_location("gitlab_mr_note", EXAMPLES / "gitlab_mr_note.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gitlab_note_helper_replaces_its_own_note_and_creates_one_otherwise():
    helper = _note_helper()
    calls = []
    notes = [{"id": 7, "body": "LGTM"}, {"id": 9, "body": "<!-- roost-ci:prod -->\nold"}]

    def request(method, url, body):
        calls.append((method, url, body))
        return notes if method == "GET" else {}

    url = "https://gitlab.example/api/v4/projects/1/merge_requests/3/notes"
    assert helper.upsert_note(request, url, "<!-- roost-ci:prod -->", "new") == "updated"
    assert calls[-1] == ("PUT", f"{url}/9", {"body": "new"})
    assert helper.upsert_note(request, url, "<!-- roost-ci:staging -->", "other") == "created"
    assert calls[-1] == ("POST", url, {"body": "other"})
