"""The Automation API adapter, checked by the calls it makes on a stand-in for pulumi.automation."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner
from pulumi import automation as auto
from pulumi.automation._cmd import CommandResult

from placement.errors import InputError
from roost.engine import (
    SECRET_MASK,
    SECRET_SIGNATURE,
    SECRET_SIGNATURE_KEY,
    EngineFailedError,
    EngineUnavailableError,
    PulumiAutomationRunner,
    deployment_from_document,
    redact_outputs,
    strip_plaintext_secrets,
)


class FakeCommand:
    def __init__(self, stdout: str):
        self.stdout = stdout
        self.runs: list[tuple[list[str], str, dict]] = []

    def run(self, args, cwd, env, on_output=None, on_error=None):
        self.runs.append((list(args), cwd, dict(env)))
        return CommandResult(stdout=self.stdout, stderr="", code=0)


class FakeStack:
    def __init__(self, *, plan_version: str = "4", fail: Exception | None = None):
        self.calls: list[tuple[str, dict]] = []
        self.plan_version = plan_version
        self.fail = fail
        export = {"version": 3, "deployment": {"resources": [{"urn": "u", "outputs": {"pw": {
            SECRET_SIGNATURE_KEY: SECRET_SIGNATURE, "ciphertext": "v1:xyz"}}}]}}
        self.workspace = SimpleNamespace(pulumi_command=FakeCommand(json.dumps(export)), work_dir="/proj",
                                         env_vars={"PULUMI_SKIP_UPDATE_CHECK": "true"}, pulumi_home=None)

    def _do(self, op: str, **kw: Any) -> None:
        self.calls.append((op, kw))
        if self.fail is not None:
            raise self.fail

    def get_config(self, key):
        self.calls.append(("get_config", {"key": key}))
        return auto.ConfigValue(value=self.plan_version)

    def up(self, **kw):
        self._do("up", **kw)
        summary = SimpleNamespace(result="succeeded", version=17,
                                  resource_changes={auto.OpType.CREATE: 3, auto.OpType.SAME: 2})
        return SimpleNamespace(summary=summary, outputs={
            "endpoint": auto.OutputValue(value="https://x.test", secret=False),
            "api_key": auto.OutputValue(value="hunter2", secret=True)})

    def preview(self, **kw):
        self._do("preview", **kw)
        return SimpleNamespace(change_summary={auto.OpType.CREATE: 5})

    def refresh(self, **kw):
        self._do("refresh", **kw)
        return SimpleNamespace(summary=SimpleNamespace(result="succeeded", version=16, resource_changes=None))

    def import_stack(self, deployment):
        self._do("import_stack", deployment=deployment)


def fake_auto(stack: FakeStack, selected: list[dict]) -> SimpleNamespace:
    def create_or_select_stack(**kw):
        selected.append(kw)
        return stack

    names = ["LocalWorkspaceOptions", "Deployment", "CommandError", "ConcurrentUpdateError", "InvalidVersionError"]
    return SimpleNamespace(create_or_select_stack=create_or_select_stack, **{n: getattr(auto, n) for n in names})


def make(tmp_path: Path, stack: FakeStack, **kw) -> tuple[PulumiAutomationRunner, list[dict]]:
    selected: list[dict] = []
    runner = PulumiAutomationRunner(tmp_path, "prod", auto=fake_auto(stack, selected),
                                    which=lambda _: "/usr/local/bin/pulumi", on_output=None, **kw)
    return runner, selected


def test_up_uses_the_project_program_message_policy_packs_and_redacts(tmp_path):
    stack = FakeStack(plan_version="4")
    runner, selected = make(tmp_path, stack, policy_packs=["/packs/roost"])
    outcome = runner.up(message="roost plan v4 decisions=abc", plan_version=4)
    assert selected[0]["stack_name"] == "prod" and selected[0]["work_dir"] == str(tmp_path)
    assert "program" not in selected[0]  # the project's own program, as `pulumi up` runs it
    assert selected[0]["opts"].work_dir == str(tmp_path)
    assert [op for op, _ in stack.calls] == ["get_config", "up"]
    assert stack.calls[0][1] == {"key": "roost:planVersion"}
    up_kw = stack.calls[1][1]
    assert up_kw["message"] == "roost plan v4 decisions=abc" and up_kw["policy_packs"] == ["/packs/roost"]
    assert outcome.update_version == 17
    assert outcome.resource_changes == {"create": 3, "same": 2}
    assert outcome.outputs == {"endpoint": "https://x.test", "api_key": SECRET_MASK}


def test_up_refuses_when_the_engine_reads_another_plan_version(tmp_path):
    stack = FakeStack(plan_version="3")
    runner, _ = make(tmp_path, stack, policy_packs=[])
    with pytest.raises(EngineFailedError, match="reads roost:planVersion=3 .* not plan version 4"):
        runner.up(message="m", plan_version=4)
    assert "up" not in [op for op, _ in stack.calls]


def test_export_keeps_secrets_encrypted(tmp_path):
    stack = FakeStack()
    runner, _ = make(tmp_path, stack, policy_packs=[])
    state = runner.export_state()
    (args, cwd, env), = stack.workspace.pulumi_command.runs
    assert args == ["stack", "export", "--stack", "prod"] and "--show-secrets" not in args
    assert cwd == "/proj" and env["PULUMI_SKIP_UPDATE_CHECK"] == "true"
    assert state["deployment"]["resources"][0]["outputs"]["pw"]["ciphertext"] == "v1:xyz"


def test_preview_refresh_and_import(tmp_path):
    stack = FakeStack()
    runner, selected = make(tmp_path, stack, policy_packs=[])
    assert runner.preview(message="p").resource_changes == {"create": 5}
    runner.refresh(message="r")
    checkpoint = {"version": 3, "checkpoint": {"latest": {"resources": [{"urn": "a"}]}}}
    runner.import_state(checkpoint)
    assert len(selected) == 1  # the stack is selected once per runner
    ops = [op for op, _ in stack.calls]
    assert ops == ["preview", "refresh", "import_stack"]
    assert "policy_packs" not in stack.calls[0][1]
    deployment = stack.calls[2][1]["deployment"]
    assert isinstance(deployment, auto.Deployment)
    assert deployment.version == 3 and deployment.deployment == {"resources": [{"urn": "a"}]}


@pytest.mark.parametrize("error, cls, text", [
    (auto.CommandError(CommandResult(stdout="Updating (prod)", code=255,
                                     stderr="error: aws:ec2: UnauthorizedOperation: not authorized\n")),
     EngineFailedError, r"Pulumi could not preview \(stack 'prod'\): aws:ec2: UnauthorizedOperation: not authorized$"),
    (auto.ConcurrentUpdateError(CommandResult(stdout="", stderr="[409] Conflict", code=255)),
     EngineFailedError, "another update is running .* `pulumi cancel --stack prod`"),
    (FileNotFoundError(2, "No such file", "pulumi"), EngineUnavailableError, "Pulumi CLI was not found"),
    (auto.InvalidVersionError("minimum 3.1.0"), EngineUnavailableError, "too old"),
])
def test_engine_errors_become_one_clear_line(tmp_path, error, cls, text):
    runner, _ = make(tmp_path, FakeStack(fail=error), policy_packs=[])
    with pytest.raises(cls, match=text) as info:
        runner.preview(message="m")
    assert "\n" not in str(info.value)


def test_missing_cli_fails_fast_with_install_hint(tmp_path):
    runner = PulumiAutomationRunner(tmp_path, "prod", which=lambda _: None)
    with pytest.raises(EngineUnavailableError) as info:
        runner.check_available()
    assert "https://www.pulumi.com/docs/install/" in str(info.value)
    assert "roost preview --stack prod --offline" in str(info.value)
    assert info.value.exit_code == 3


def test_real_sdk_without_a_cli_maps_to_engine_unavailable(tmp_path):
    # The genuine Automation API: constructing the workspace runs `pulumi version` and fails.
    runner = PulumiAutomationRunner(tmp_path, "prod", which=lambda _: "/nonexistent/pulumi",
                                    env_vars={"PATH": str(tmp_path)})
    if shutil.which("pulumi"):
        pytest.skip("a Pulumi CLI is installed here")
    with pytest.raises(EngineUnavailableError, match="Pulumi CLI was not found"):
        runner.check_available()


def test_roost_up_without_cli_exits_3(project):
    if shutil.which("pulumi"):
        pytest.skip("a Pulumi CLI is installed here")
    from roost.cli import main

    runner = CliRunner()
    plan = runner.invoke(main, ["plan", str(project / "fleet.yaml"), "--stack", "dev", "--project-dir", str(project),
                                "--predictor", "baseline", "--json"])
    assert plan.exit_code == 0, plan.output
    result = runner.invoke(main, ["up", "--stack", "dev", "--yes", "--project-dir", str(project)])
    assert result.exit_code == 3
    assert "https://www.pulumi.com/docs/install/" in result.output and "--offline" in result.output
    assert "Traceback" not in result.output


def test_redaction_and_checkpoint_conversion_helpers():
    leaked = {"a": [{SECRET_SIGNATURE_KEY: SECRET_SIGNATURE, "plaintext": "x"}], "b": {"ok": 1}}
    clean, n = strip_plaintext_secrets(leaked)
    assert n == 1 and clean == {"a": [SECRET_MASK], "b": {"ok": 1}}
    assert redact_outputs({"k": {SECRET_SIGNATURE_KEY: SECRET_SIGNATURE, "plaintext": "x"}}) == {"k": SECRET_MASK}
    export = {"version": 3, "deployment": {"resources": []}}
    assert deployment_from_document(export, where="f") == export
    with pytest.raises(InputError, match="not a Pulumi state file"):
        deployment_from_document({"resources": []}, where="f")
