"""The Pulumi engine behind one small interface, so use cases never touch the Automation API.

``PulumiAutomationRunner`` drives ``pulumi.automation`` against the project's own program and
stack file (``work_dir`` = the project dir), so ``roost up`` and a hand-run ``pulumi up`` deploy
the same thing from the same ``Pulumi.<stack>.yaml``. Every Automation API call shells out to
the ``pulumi`` CLI; without it the runner fails at once with how to install it.
``FakeRunner`` records calls for tests and dry runs of the workflows.

Secrets: state is exported *without* ``--show-secrets`` (the Automation API's own
``export_stack`` always shows them), so checkpoints keep secrets encrypted by the stack's
secrets provider; outputs marked secret are replaced by ``[secret]`` before anyone stores them.
"""
from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

from placement.errors import InputError, RoostError
from stacks.keys import PLAN_VERSION_KEY

INSTALL_URL = "https://www.pulumi.com/docs/install/"
SECRET_MASK = "[secret]"
# Pulumi's marker for a secret value inside state and outputs (its "special signature").
SECRET_SIGNATURE_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIGNATURE = "1b47061264138c4ac30d75fd1eb44270"


class EngineUnavailableError(RoostError):
    """No usable Pulumi CLI (exit 3)."""

    exit_code = 3


class EngineFailedError(RoostError):
    """The engine ran and failed, or refused (exit 3)."""

    exit_code = 3


@dataclass(frozen=True, kw_only=True)
class EngineOutcome:
    operation: str  # preview | up | refresh
    result: str = "succeeded"
    update_version: int | None = None
    resource_changes: Mapping[str, int] = field(default_factory=dict)
    outputs: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"operation": self.operation, "result": self.result, "update_version": self.update_version,
                "resource_changes": dict(self.resource_changes), "outputs": dict(self.outputs)}


class EngineRunner(Protocol):
    """One stack of one project. Every method raises EngineUnavailableError / EngineFailedError."""

    def check_available(self) -> None:
        """Fail fast, before anything is recorded, when the engine cannot run at all."""
        ...

    def preview(self, *, message: str) -> EngineOutcome: ...

    def up(self, *, message: str, plan_version: int) -> EngineOutcome: ...

    def refresh(self, *, message: str) -> EngineOutcome: ...

    def export_state(self) -> dict[str, Any]: ...

    def import_state(self, deployment: Mapping[str, Any]) -> None: ...

    def outputs(self) -> dict[str, Any]: ...


RunnerFactory = Callable[[Path, str], EngineRunner]


# -- pure helpers on Pulumi's formats ------------------------------------------------------------
def redact_outputs(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """Stack outputs safe to store and print: secret ones become ``[secret]``.

    Accepts Automation API ``OutputValue`` objects (``.value``/``.secret``) or plain values.
    """
    out: dict[str, Any] = {}
    for key, item in outputs.items():
        if hasattr(item, "secret") and hasattr(item, "value"):
            out[key] = SECRET_MASK if item.secret else strip_plaintext_secrets(item.value)[0]
        else:
            out[key] = strip_plaintext_secrets(item)[0]
    return out


def strip_plaintext_secrets(value: Any) -> tuple[Any, int]:
    """Replace any decrypted secret (Pulumi's signature + ``plaintext``) with ``[secret]``.

    A checkpoint exported without ``--show-secrets`` has none (its secrets carry
    ``ciphertext``); this is the safety net that keeps a plaintext one out of storage.
    """
    if isinstance(value, Mapping):
        if value.get(SECRET_SIGNATURE_KEY) == SECRET_SIGNATURE and "plaintext" in value:
            return SECRET_MASK, 1
        total = 0
        out = {}
        for k, v in value.items():
            out[k], n = strip_plaintext_secrets(v)
            total += n
        return out, total
    if isinstance(value, list):
        items = [strip_plaintext_secrets(v) for v in value]
        return [v for v, _ in items], sum(n for _, n in items)
    return value, 0


def deployment_from_document(doc: Any, *, where: str) -> dict[str, Any]:
    """An importable ``{version, deployment}`` from a ``pulumi stack export`` file or a checkpoint.

    The DIY backend's history and backup files are checkpoints
    (``{version, checkpoint: {latest: …}}``), which ``pulumi stack import`` does not accept
    (pulumi/pulumi#6060); their ``latest`` is the deployment to import.
    """
    if not isinstance(doc, Mapping):
        raise InputError(f"{where}: not a Pulumi state file (expected a JSON object)")
    if isinstance(doc.get("deployment"), Mapping):
        return {"version": int(doc.get("version") or 3), "deployment": dict(doc["deployment"])}
    checkpoint = doc.get("checkpoint")
    if isinstance(checkpoint, Mapping) and isinstance(checkpoint.get("latest"), Mapping):
        return {"version": 3, "deployment": dict(checkpoint["latest"])}
    raise InputError(f"{where}: not a Pulumi state file (neither `pulumi stack export` output with "
                     "'deployment' nor a checkpoint with 'checkpoint.latest')")


def resource_count(deployment: Mapping[str, Any]) -> int:
    return len((deployment.get("deployment") or {}).get("resources") or [])


# -- the Automation API adapter ------------------------------------------------------------------
def default_policy_packs() -> list[str]:
    """roost's CrossGuard pack (``stacks/policy/pack``) when it is installed."""
    spec = importlib.util.find_spec("stacks")
    if spec is None or not spec.submodule_search_locations:
        return []
    for location in spec.submodule_search_locations:
        pack = Path(location) / "policy" / "pack"
        if (pack / "PulumiPolicy.yaml").is_file():
            return [str(pack)]
    return []


def _stderr_stream(line: str) -> None:
    sys.stderr.write(line if line.endswith("\n") else line + "\n")
    sys.stderr.flush()


class PulumiAutomationRunner:
    """``EngineRunner`` over ``pulumi.automation`` with the project's own program and stack file.

    ``auto`` and ``which`` are injectable so tests can check the calls without a CLI.
    """

    def __init__(self, project_dir: Path, stack: str, *,
                 on_output: Callable[[str], Any] | None = _stderr_stream,
                 policy_packs: list[str] | None = None,
                 env_vars: Mapping[str, str] | None = None,
                 auto: ModuleType | Any | None = None,
                 which: Callable[[str], str | None] = shutil.which):
        self.project_dir = Path(project_dir)
        self.stack_name = stack
        self.on_output = on_output
        self.policy_packs = default_policy_packs() if policy_packs is None else list(policy_packs)
        self.env_vars = {"PULUMI_SKIP_UPDATE_CHECK": "true", **(env_vars or {})}
        self._auto = auto
        self._which = which
        self._stack: Any = None

    @classmethod
    def for_project(cls, project_dir: Path, stack: str) -> PulumiAutomationRunner:
        return cls(project_dir, stack)

    # The Automation API is imported on first use: `roost --help` must not pay for it.
    def _api(self) -> Any:
        if self._auto is None:
            from pulumi import automation

            self._auto = automation
        return self._auto

    def _select(self) -> Any:
        if self._stack is not None:
            return self._stack
        if self._which("pulumi") is None:
            raise EngineUnavailableError(
                f"the Pulumi CLI is not installed (no `pulumi` on PATH), and roost drives Pulumi through it. "
                f"Install it ({INSTALL_URL}), or use --offline (`roost preview --stack {self.stack_name} --offline`) "
                "for a preview without the CLI")
        auto = self._api()
        opts = auto.LocalWorkspaceOptions(work_dir=str(self.project_dir), env_vars=dict(self.env_vars))
        self._stack = self._call("select the stack", lambda: auto.create_or_select_stack(
            stack_name=self.stack_name, work_dir=str(self.project_dir), opts=opts))
        return self._stack

    def _call(self, what: str, fn: Callable[[], Any]) -> Any:
        auto = self._api()
        try:
            return fn()
        except FileNotFoundError as exc:
            raise EngineUnavailableError(f"could not {what}: the Pulumi CLI was not found ({exc.filename or exc}). "
                                         f"Install it ({INSTALL_URL}) or use `roost preview --offline`") from None
        except subprocess.CalledProcessError as exc:
            # The Automation API runs `pulumi version` first; a broken install fails there.
            command = " ".join(map(str, exc.cmd)) if isinstance(exc.cmd, (list, tuple)) else str(exc.cmd)
            raise EngineUnavailableError(f"could not {what}: `{command}` failed with exit status {exc.returncode}; "
                                         f"repair or reinstall the Pulumi CLI ({INSTALL_URL}) or use "
                                         "`roost preview --offline`") from None
        except OSError as exc:  # not executable, permission denied, …
            raise EngineUnavailableError(f"could not {what}: cannot run the Pulumi CLI ({exc.strerror or exc}); "
                                         f"repair or reinstall it ({INSTALL_URL})") from None
        except auto.InvalidVersionError as exc:
            raise EngineUnavailableError(f"could not {what}: this Pulumi CLI is too old for the Automation API "
                                         f"({exc}); upgrade it ({INSTALL_URL})") from None
        except auto.ConcurrentUpdateError:
            raise EngineFailedError(f"Pulumi could not {what}: another update is running on stack "
                                    f"{self.stack_name!r}. Wait for it, or if it died run "
                                    f"`pulumi cancel --stack {self.stack_name}`") from None
        except auto.CommandError as exc:
            raise EngineFailedError(f"Pulumi could not {what} (stack {self.stack_name!r}): "
                                    f"{_first_error_line(exc)}") from None

    def _stream(self) -> dict[str, Any]:
        return {"on_output": self.on_output} if self.on_output else {}

    def check_available(self) -> None:
        self._select()

    def preview(self, *, message: str) -> EngineOutcome:
        stack = self._select()
        kwargs: dict[str, Any] = {"message": message, "diff": True, **self._stream()}
        if self.policy_packs:
            kwargs["policy_packs"] = self.policy_packs
        res = self._call("preview", lambda: stack.preview(**kwargs))
        return EngineOutcome(operation="preview", resource_changes=_changes(res.change_summary))

    def up(self, *, message: str, plan_version: int) -> EngineOutcome:
        stack = self._select()
        # The stack file is the single source of truth; check the engine reads the plan we mean
        # (a different work_dir or a stale file would deploy other decisions).
        seen = self._call("read the stack config", lambda: stack.get_config(PLAN_VERSION_KEY))
        if str(getattr(seen, "value", seen)) != str(plan_version):
            raise EngineFailedError(
                f"the engine reads {PLAN_VERSION_KEY}={getattr(seen, 'value', seen)} for stack "
                f"{self.stack_name!r}, not plan version {plan_version}; nothing was deployed")
        kwargs: dict[str, Any] = {"message": message, **self._stream()}
        if self.policy_packs:
            kwargs["policy_packs"] = self.policy_packs
        res = self._call("update", lambda: stack.up(**kwargs))
        summary = res.summary
        return EngineOutcome(operation="up", result=str(getattr(summary, "result", "succeeded")),
                             update_version=getattr(summary, "version", None),
                             resource_changes=_changes(getattr(summary, "resource_changes", None)),
                             outputs=redact_outputs(res.outputs or {}))

    def refresh(self, *, message: str) -> EngineOutcome:
        stack = self._select()
        res = self._call("refresh", lambda: stack.refresh(message=message, **self._stream()))
        summary = res.summary
        return EngineOutcome(operation="refresh", result=str(getattr(summary, "result", "succeeded")),
                             update_version=getattr(summary, "version", None),
                             resource_changes=_changes(getattr(summary, "resource_changes", None)))

    def export_state(self) -> dict[str, Any]:
        stack = self._select()
        ws = stack.workspace
        env = dict(getattr(ws, "env_vars", None) or {})
        if getattr(ws, "pulumi_home", None):
            env["PULUMI_HOME"] = ws.pulumi_home
        # Not Stack.export_stack(): it passes --show-secrets and would put decrypted secrets
        # into a checkpoint kept in the version store.
        result = self._call("export the state", lambda: ws.pulumi_command.run(
            ["stack", "export", "--stack", self.stack_name], ws.work_dir, env))
        try:
            doc = json.loads(result.stdout)
        except (TypeError, json.JSONDecodeError) as exc:
            raise EngineFailedError(f"`pulumi stack export` printed something that is not JSON: {exc}") from None
        return deployment_from_document(doc, where="pulumi stack export")

    def import_state(self, deployment: Mapping[str, Any]) -> None:
        stack = self._select()
        auto = self._api()
        doc = deployment_from_document(deployment, where="state to import")
        self._call("import the state", lambda: stack.import_stack(
            auto.Deployment(version=doc["version"], deployment=doc["deployment"])))

    def outputs(self) -> dict[str, Any]:
        stack = self._select()
        return redact_outputs(self._call("read the outputs", stack.outputs))


def _changes(summary: Any) -> dict[str, int]:
    if not summary:
        return {}
    return {str(getattr(k, "value", k)): int(v) for k, v in dict(summary).items()}


def _first_error_line(exc: Exception) -> str:
    """The engine's own error line out of a CommandError's stdout/stderr dump."""
    text = str(exc)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for ln in lines:
        low = ln.lower()
        if low.startswith(("error:", "stderr: error:")) or " error: " in low:
            return ln.split("error:", 1)[-1].strip()[:400]
    for ln in reversed(lines):
        if not ln.startswith(("code:", "stdout:", "stderr:")):
            return ln[:400]
    return (lines[0] if lines else type(exc).__name__)[:400]


# -- the fake -------------------------------------------------------------------------------------
class FakeRunner:
    """An in-memory engine: records every call and keeps a pretend state (for tests and demos)."""

    def __init__(self, stack: str = "dev", *, outputs: Mapping[str, Any] | None = None,
                 fail: Mapping[str, str] | None = None, read_plan_version: Callable[[], int | None] | None = None):
        self.stack = stack
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._outputs = dict(outputs or {"endpoint": "https://fleet.example.test",
                                         "token": _FakeOutput("s3cr3t", secret=True)})
        self._fail = dict(fail or {})
        self._read_plan_version = read_plan_version
        self.update_version = 0
        self.state: dict[str, Any] = {"version": 3, "deployment": {"resources": []}}

    def _record(self, op: str, **kwargs: Any) -> None:
        self.calls.append((op, kwargs))
        if op in self._fail:
            raise EngineFailedError(self._fail[op])

    def ops(self) -> list[str]:
        return [op for op, _ in self.calls]

    def check_available(self) -> None:
        self._record("check_available")

    def preview(self, *, message: str) -> EngineOutcome:
        self._record("preview", message=message)
        return EngineOutcome(operation="preview", resource_changes={"same": len(self._resources())})

    def up(self, *, message: str, plan_version: int) -> EngineOutcome:
        self._record("up", message=message, plan_version=plan_version)
        if self._read_plan_version is not None and self._read_plan_version() != plan_version:
            raise EngineFailedError(f"the engine reads {PLAN_VERSION_KEY}={self._read_plan_version()}, "
                                    f"not plan version {plan_version}")
        self.update_version += 1
        self.state = {"version": 3, "deployment": {
            "manifest": {"magic": "fake"},
            "resources": [{"urn": f"urn:pulumi:{self.stack}::roost::fake:Resource::plan-v{plan_version}",
                           "outputs": {"password": {SECRET_SIGNATURE_KEY: SECRET_SIGNATURE,
                                                    "ciphertext": "v1:abcd"}}}]}}
        return EngineOutcome(operation="up", update_version=self.update_version,
                             resource_changes={"update": 1}, outputs=redact_outputs(self._outputs))

    def refresh(self, *, message: str) -> EngineOutcome:
        self._record("refresh", message=message)
        self.update_version += 1
        return EngineOutcome(operation="refresh", update_version=self.update_version)

    def export_state(self) -> dict[str, Any]:
        self._record("export_state")
        return json.loads(json.dumps(self.state))

    def import_state(self, deployment: Mapping[str, Any]) -> None:
        self._record("import_state", resources=resource_count(deployment))
        self.state = json.loads(json.dumps(dict(deployment)))

    def outputs(self) -> dict[str, Any]:
        self._record("outputs")
        return redact_outputs(self._outputs)

    def _resources(self) -> list:
        return list(self.state.get("deployment", {}).get("resources") or [])


@dataclass(frozen=True)
class _FakeOutput:
    value: Any
    secret: bool = False
