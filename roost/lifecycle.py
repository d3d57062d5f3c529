"""Stack lifecycle use cases: plan, rollback, up, engine preview, state restore, versions, diff.

They compose the recommender, the version store, the stack file and the engine, all passed in
(tests give a local or in-memory store and a FakeRunner). They return data and never print;
the one interaction, a confirmation before the engine changes a cloud, is a callback.

Ordering, so that a crash at any point leaves nothing that lies:
  plan/rollback  lock the stack's store → append the version → write Pulumi.<stack>.yaml
                 (plan + roost:planVersion in one atomic write) → unlock. A crash after the
                 append leaves the config naming the previous version; the next ``roost plan``
                 says so and repairs it, and ``roost up`` refuses until then.
  up             lock → check the config names the latest version → engine up → export state
                 → append an ``apply`` version → unlock.
Rollback never imports an old state checkpoint (that would orphan live resources): it puts
version N's decisions back into the config and deploys them like any plan.
"""
from __future__ import annotations

import getpass
import json
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from history.versions import (
    REASON_APPLY,
    REASON_PLAN,
    EngineRecord,
    FleetSource,
    Provenance,
    StackHistory,
    StackWriter,
    StoreCorruptedError,
    VersionDraft,
    VersionRecord,
    VersionStore,
    canonical_bytes,
    rollback_reason,
)
from placement.catalog import Catalog
from placement.diff import PlanDiff, diff_plans
from placement.errors import InputError, RoostError
from placement.plan import DeploymentPlan, PlanError
from placement.predictor import Predictor
from roost import __version__
from roost.engine import (
    PLAN_VERSION_KEY,
    EngineFailedError,
    EngineOutcome,
    EngineRunner,
    deployment_from_document,
    resource_count,
    strip_plaintext_secrets,
)
from roost.paths import STORE_ENV, state_dir
from roost.report.figures import rationale_document
from roost.stackfile import PLAN_KEY, read_plan, read_stack_config, stack_config_path, write_stack_config
from roost.workflows import recommend_fleet


class StalePlanError(RoostError):
    """The stack config does not name the latest recorded version (exit 1: refused)."""

    exit_code = 1


# -- where things are, who did it ------------------------------------------------------------------
def store_url(project_dir: Path, override: str | None = None) -> str:
    """``--store``, else $ROOST_VERSION_STORE, else ``<project>/.roost/versions``."""
    return override or os.environ.get(STORE_ENV) or str(state_dir(project_dir) / "versions")


def provenance(project_dir: Path) -> Provenance:
    """Author, roost version and git commit; never fails outside a repository or without git."""
    commit = _git(project_dir, "rev-parse", "HEAD") or None
    dirty = None
    if commit:
        status = _git(project_dir, "status", "--porcelain", "--untracked-files=no")
        dirty = bool(status) if status is not None else None
    name = _git(project_dir, "config", "user.name") or None
    email = _git(project_dir, "config", "user.email") or None
    if name:
        author = f"{name} <{email}>" if email else name
    else:
        try:
            author = os.environ.get("USER") or getpass.getuser()
        except Exception:  # no passwd entry in some containers
            author = "unknown"
    return Provenance(author=author, roost_version=__version__, git_commit=commit, git_dirty=dirty)


def _git(cwd: Path, *args: str) -> str | None:
    """git's stripped output, or None when git is missing or the command failed."""
    try:
        out = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True, timeout=5,
                             check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


# -- the stack config as roost sees it --------------------------------------------------------------
@dataclass(frozen=True)
class ConfigState:
    plan: DeploymentPlan | None
    plan_version: int | None
    plan_error: str | None = None  # roost:plan is there but is no valid plan (a hand edit gone wrong)

    @property
    def decisions_sha256(self) -> str | None:
        return None if self.plan is None else self.plan.decisions_sha256()

    def names(self, record: VersionRecord) -> bool:
        """True when the config holds exactly ``record``'s decisions under its plan version."""
        return self.decisions_sha256 == record.decisions_sha256 and self.plan_version == record.plan_version


def read_config_state(project_dir: Path, stack: str) -> ConfigState:
    raw = read_stack_config(project_dir, stack).get(PLAN_VERSION_KEY)
    if raw is None:
        version = None
    elif type(raw) is int and raw >= 1 or isinstance(raw, str) and raw.isdigit() and int(raw) >= 1:
        version = int(raw)
    else:
        raise InputError(f"Pulumi.{stack}.yaml: {PLAN_VERSION_KEY} must be a version number, not {raw!r}")
    try:
        plan = read_plan(project_dir, stack)
    except PlanError as exc:
        return ConfigState(plan=None, plan_version=version, plan_error=exc.problems[0])
    return ConfigState(plan=plan, plan_version=version)


class HandEditedError(RoostError):
    """The stack file's plan was changed outside roost; a command would overwrite it (exit 1)."""

    exit_code = 1


def check_tail(config: ConfigState, history: StackHistory, store: VersionStore, stack: str) -> None:
    """The stack file names the version it holds: a store without it lost its tail.

    HEAD catches a cut-off tail too, unless HEAD went with it; this catches that, and stops the
    next record from reusing a number the stack file (and maybe a deployment) already carries."""
    newest = history.latest.number if history.latest else 0
    if config.plan_version is not None and config.plan_version > newest:
        raise StoreCorruptedError(f"{store.where(stack)} (stack {stack!r})", [
            f"Pulumi.{stack}.yaml names version {config.plan_version} but the newest record is {newest or 'none'}: "
            f"version(s) {newest + 1}-{config.plan_version} were removed (truncated store); recording now would "
            "reuse their numbers"])


def hand_edit(config: ConfigState, history: StackHistory, stack: str) -> str | None:
    """How the stack file's plan differs from the version it names, when it was edited by hand."""
    name = f"Pulumi.{stack}.yaml"
    if config.plan_error:
        return f"{name}: {PLAN_KEY} was edited by hand and is not a valid plan any more ({config.plan_error})"
    if config.plan is None or config.plan_version is None or not 1 <= config.plan_version <= len(history):
        return None
    record = history.get(config.plan_version)
    if record.decisions_sha256 == config.decisions_sha256:
        return None
    changed = [m.model for m in diff_plans(record.plan, config.plan).changed]
    return (f"{name}: {PLAN_KEY} was edited by hand after version {config.plan_version} was recorded (decisions "
            f"{config.decisions_sha256[:12]}, recorded {record.decisions_sha256[:12]}; changed: "
            f"{', '.join(changed) or 'estimates only'})")


def stack_file_warning(project_dir: Path, stack: str, store: VersionStore) -> str | None:
    """For previews: a hand edit or a lost tail, read without the lock; None when all agree.

    A store that cannot be read is left to `roost versions` to report."""
    try:
        history = store.read(stack)
        config = read_config_state(project_dir, stack)
        check_tail(config, history, store, stack)
    except StoreCorruptedError as exc:
        return str(exc)
    except RoostError:
        return None
    return hand_edit(config, history, stack)


def _refuse_overwriting(config: ConfigState, history: StackHistory, stack: str, command: str,
                        discard_edits: bool) -> list[str]:
    """Refuse to overwrite a hand edit unless told to; the warning to show when told to."""
    edit = hand_edit(config, history, stack)
    if edit is None:
        return []
    if not discard_edits:
        raise HandEditedError(f"refusing to overwrite it: {edit}. Put the change in the fleet file and run "
                              f"`roost plan`, or run `{command} --discard-edits` to drop it")
    return [f"{edit}; discarded (--discard-edits)"]


def config_drift(config: ConfigState, history: StackHistory, stack: str) -> str | None:
    """Why the stack config and the version store disagree, or None when they agree."""
    latest = history.latest
    name = f"Pulumi.{stack}.yaml"
    edit = hand_edit(config, history, stack)
    if edit:
        return edit
    if config.plan is None:
        if latest is None:
            return None
        return f"{name} has no {PLAN_KEY} although version {latest.plan_version} is recorded"
    if latest is None:
        return f"{name} holds a plan that was never recorded in the version store"
    if config.names(latest):
        return None
    if config.decisions_sha256 == latest.decisions_sha256:
        return (f"{name} names plan version {config.plan_version} but holds the decisions of version "
                f"{latest.plan_version}")
    behind = next((r for r in reversed(history.records) if config.names(r)), None)
    if behind is not None:
        return (f"{name} still holds version {behind.plan_version} while the store's latest is version "
                f"{latest.plan_version} (an earlier roost command was interrupted before writing the config)")
    return (f"{name} holds decisions {config.decisions_sha256[:12]} that match no recorded version "
            f"(edited by hand, or written by another tool)")


def _write_config(project_dir: Path, stack: str, record: VersionRecord) -> Path:
    # Plan and version in one atomic write: the program never sees one without the other.
    return write_stack_config(project_dir, stack, {PLAN_KEY: record.plan.to_dict(),
                                                   PLAN_VERSION_KEY: record.plan_version})


def _plan_of(record: VersionRecord, history: StackHistory) -> VersionRecord:
    """The plan/rollback record whose number the config carries for ``record``."""
    return history.get(record.plan_version)


# -- plan -----------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class PlanOutcome:
    stack: str
    created: bool
    current: VersionRecord
    previous: VersionRecord | None
    diff: PlanDiff
    config_path: Path
    config_written: bool
    warnings: tuple[str, ...] = ()
    store: str = ""

    def to_dict(self) -> dict:
        return {
            "stack": self.stack,
            "version": self.current.number,
            "plan_version": self.current.plan_version,
            "created": self.created,
            "reason": self.current.reason if self.created else None,
            "previous_version": None if self.previous is None else self.previous.number,
            "decisions_sha256": self.current.decisions_sha256,
            "monthly_cost_usd": round(self.current.monthly_cost_usd, 2),
            "monthly_cost_delta_usd": round(self.diff.monthly_cost_delta_usd, 2),
            "diff": self.diff.to_dict(),
            "stack_config": str(self.config_path),
            "config_written": self.config_written,
            "store": self.store,
            "warnings": list(self.warnings),
        }


def plan_stack(*, fleet_path: str | Path, project_dir: Path, stack: str, store: VersionStore, catalog: Catalog,
               predictor: Predictor, who: Provenance,
               on_progress: Callable[[int, int], None] | None = None, discard_edits: bool = False) -> PlanOutcome:
    """Recommend, record a version when the decisions changed, and commit them to the stack config."""
    config_path = stack_config_path(project_dir, stack)
    fleet_file = Path(fleet_path)
    # The recommender is slow and pure: it runs before the lock is taken.
    result = recommend_fleet(fleet_file, catalog, predictor, on_progress)
    content = fleet_file.read_text()
    plan = DeploymentPlan.from_recommendation(result.fleet, result.recommendation)
    fleet = FleetSource(path=_display_path(fleet_file, project_dir), sha256=result.fleet.sha256, content=content)
    with store.writer(stack, command="roost plan") as writer:
        history = writer.history
        config = read_config_state(project_dir, stack)
        check_tail(config, history, store, stack)
        discarded = _refuse_overwriting(config, history, stack, f"roost plan FLEET --stack {stack}", discard_edits)
        drift = None if discarded else config_drift(config, history, stack)
        warnings = discarded + ([drift] if drift else [])
        latest = history.latest
        if latest is not None and latest.decisions_sha256 == plan.decisions_sha256():
            current = _plan_of(latest, history)
            written = False
            if not config.names(latest):
                _write_config(project_dir, stack, current)
                written = True
                warnings.append(f"rewrote Pulumi.{stack}.yaml to name version {current.plan_version}")
            return PlanOutcome(stack=stack, created=False, current=latest, previous=latest,
                               diff=diff_plans(latest.plan, plan, before_label=f"v{latest.number}",
                                               after_label="new plan"),
                               config_path=config_path, config_written=written, warnings=tuple(warnings),
                               store=store.where(stack))
        record = writer.append(VersionDraft(reason=REASON_PLAN, plan=plan, fleet=fleet, provenance=who,
                                            rationale=rationale_document(result.recommendation, result.fleet)))
        _write_config(project_dir, stack, record)
    return PlanOutcome(stack=stack, created=True, current=record, previous=latest,
                       diff=_diff(latest, record), config_path=config_path, config_written=True,
                       warnings=tuple(warnings), store=store.where(stack))


def _display_path(path: Path, project_dir: Path) -> str:
    try:
        return str(path.resolve().relative_to(project_dir.resolve()))
    except ValueError:
        return str(path)


def _diff(before: VersionRecord | None, after: VersionRecord) -> PlanDiff:
    return diff_plans(before.plan if before else None, after.plan,
                      before_label=f"v{before.number}" if before else "(nothing)", after_label=f"v{after.number}")


# -- apply (shared by up and rollback --apply) ------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class ApplyRequest:
    """What the engine is about to deploy, shown to a person before they confirm."""

    stack: str
    plan_version: int
    decisions_sha256: str
    diff: PlanDiff  # from the last applied version (or nothing) to the plan being deployed
    refresh: bool


Confirm = Callable[[ApplyRequest], bool]


@dataclass(frozen=True, kw_only=True)
class ApplyOutcome:
    stack: str
    plan_version: int
    record: VersionRecord | None  # the `apply` version; None when the person declined
    engine: EngineOutcome | None
    refreshed: bool
    warnings: tuple[str, ...] = ()

    @property
    def applied(self) -> bool:
        return self.record is not None

    def to_dict(self) -> dict:
        rec = self.record
        return {
            "stack": self.stack,
            "plan_version": self.plan_version,
            "applied": self.applied,
            "version": None if rec is None else rec.number,
            "refreshed": self.refreshed,
            "update_version": None if self.engine is None else self.engine.update_version,
            "resource_changes": {} if self.engine is None else dict(self.engine.resource_changes),
            "outputs": {} if self.engine is None else dict(self.engine.outputs),
            "checkpoint": None if rec is None or rec.engine is None or rec.engine.checkpoint is None
            else rec.engine.checkpoint.to_dict(),
            "warnings": list(self.warnings),
        }


def engine_message(plan: VersionRecord) -> str:
    """The update message: links Pulumi's update history to roost's version and decisions."""
    return f"roost plan v{plan.plan_version} decisions={plan.decisions_sha256[:12]}"


def _apply(writer: StackWriter, *, plan: VersionRecord, runner: EngineRunner, who: Provenance, refresh: bool,
           confirm: Confirm | None) -> ApplyOutcome:
    history = writer.history
    applied = history.last_applied()
    request = ApplyRequest(
        stack=writer.stack, plan_version=plan.plan_version, decisions_sha256=plan.decisions_sha256,
        diff=diff_plans(applied.plan if applied else None, plan.plan,
                        before_label=f"v{applied.plan_version} (applied)" if applied else "(nothing applied)",
                        after_label=f"v{plan.plan_version}"),
        refresh=refresh)
    if confirm is not None and not confirm(request):
        return ApplyOutcome(stack=writer.stack, plan_version=plan.plan_version, record=None, engine=None,
                            refreshed=False)
    message = engine_message(plan)
    if refresh:
        runner.refresh(message=message)
    try:
        outcome = runner.up(message=message, plan_version=plan.plan_version)
    except EngineFailedError as exc:
        raise EngineFailedError(f"{exc}. Nothing was recorded as applied; the stack may be partly updated: fix the "
                                f"cause and run `roost up --stack {writer.stack}` again") from None
    warnings: list[str] = []
    checkpoint = None
    redacted = 0
    try:
        state, redacted = strip_plaintext_secrets(runner.export_state())
        checkpoint = writer.put_blob(canonical_bytes(state))
        if redacted:
            warnings.append(f"the exported state held {redacted} decrypted secret(s); they were masked in the "
                            "stored checkpoint, which therefore cannot restore them")
    except RoostError as exc:
        warnings.append(f"the update succeeded but exporting its state failed ({exc}); no checkpoint was stored")
    engine = EngineRecord(update_version=outcome.update_version, result=outcome.result, message=message,
                          outputs=outcome.outputs, resource_changes=outcome.resource_changes,
                          checkpoint=checkpoint, redacted_secrets=redacted)
    record = writer.append(VersionDraft(reason=REASON_APPLY, plan=plan.plan, fleet=plan.fleet, provenance=who,
                                        plan_version=plan.plan_version, engine=engine))
    return ApplyOutcome(stack=writer.stack, plan_version=plan.plan_version, record=record, engine=outcome,
                        refreshed=refresh, warnings=tuple(warnings))


def up_stack(*, project_dir: Path, stack: str, store: VersionStore, runner: EngineRunner, who: Provenance,
             confirm: Confirm | None = None, refresh: bool = False) -> ApplyOutcome:
    """Deploy the latest recorded version, refusing a stack config that does not name it."""
    runner.check_available()
    with store.writer(stack, command="roost up") as writer:
        history = writer.history
        config = read_config_state(project_dir, stack)
        check_tail(config, history, store, stack)
        latest = history.latest
        edit = hand_edit(config, history, stack)
        if edit:
            raise HandEditedError(f"refusing to deploy: {edit}. roost up deploys only recorded versions: put the "
                                  f"change in the fleet file and run `roost plan FLEET --stack {stack}`")
        if config.plan is None:
            raise InputError(f"Pulumi.{stack}.yaml has no {PLAN_KEY}: run `roost plan FLEET --stack {stack}` first")
        drift = config_drift(config, history, stack)
        if drift or latest is None:
            raise StalePlanError(f"refusing to deploy: {drift}. roost up deploys only recorded versions: run "
                                 f"`roost plan FLEET --stack {stack}` to record the plan, or "
                                 f"`roost rollback --stack {stack} --to N` to return to a recorded one")
        return _apply(writer, plan=_plan_of(latest, history), runner=runner, who=who, refresh=refresh,
                      confirm=confirm)


# -- rollback -------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class RollbackOutcome:
    stack: str
    target: VersionRecord
    created: bool
    current: VersionRecord  # the version the config names afterwards
    previous: VersionRecord
    diff: PlanDiff
    config_path: Path
    apply: ApplyOutcome | None
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {
            "stack": self.stack,
            "restored_version": self.target.number,
            "version": self.current.number,
            "plan_version": self.current.plan_version,
            "created": self.created,
            "reason": self.current.reason if self.created else None,
            "previous_version": self.previous.number,
            "decisions_sha256": self.current.decisions_sha256,
            "monthly_cost_usd": round(self.current.monthly_cost_usd, 2),
            "monthly_cost_delta_usd": round(self.diff.monthly_cost_delta_usd, 2),
            "diff": self.diff.to_dict(),
            "stack_config": str(self.config_path),
            "applied": bool(self.apply and self.apply.applied),
            "apply": None if self.apply is None else self.apply.to_dict(),
            "warnings": list(self.warnings),
        }


def rollback_stack(*, project_dir: Path, stack: str, store: VersionStore, to: int, who: Provenance,
                   runner: EngineRunner | None = None, confirm: Confirm | None = None,
                   discard_edits: bool = False) -> RollbackOutcome:
    """Record version ``to``'s decisions as a new version (``rollback to N``) and commit them.

    With a ``runner``, then refresh (so the engine starts from what really runs) and up.
    """
    if runner is not None:
        runner.check_available()
    with store.writer(stack, command="roost rollback") as writer:
        history = writer.history
        target = history.get(to)
        latest = history.latest
        assert latest is not None  # get() succeeded, so there is at least one version
        config = read_config_state(project_dir, stack)
        check_tail(config, history, store, stack)
        discarded = _refuse_overwriting(config, history, stack, f"roost rollback --stack {stack} --to {to}",
                                        discard_edits)
        drift = None if discarded else config_drift(config, history, stack)
        warnings = discarded + ([drift] if drift else [])
        if latest.decisions_sha256 == target.decisions_sha256:
            current = _plan_of(latest, history)
            created = False
            warnings.append(f"version {latest.number} already has version {to}'s decisions; no new version")
            if not config.names(latest):
                _write_config(project_dir, stack, current)
        else:
            current = writer.append(VersionDraft(reason=rollback_reason(to), plan=target.plan, fleet=target.fleet,
                                                 provenance=who, restores=to))
            created = True
            _write_config(project_dir, stack, current)
        diff = diff_plans(latest.plan, current.plan, before_label=f"v{latest.number}",
                          after_label=f"v{current.number}")
        applied = None
        if runner is not None:
            try:
                applied = _apply(writer, plan=current, runner=runner, who=who, refresh=True, confirm=confirm)
            except EngineFailedError as exc:
                raise EngineFailedError(f"{exc} (version {current.number} with version {to}'s decisions is recorded "
                                        f"and Pulumi.{stack}.yaml holds it)") from None
    return RollbackOutcome(stack=stack, target=target, created=created, current=current, previous=latest,
                           diff=diff, config_path=stack_config_path(project_dir, stack), apply=applied,
                           warnings=tuple(warnings))


# -- engine preview and state repair ----------------------------------------------------------------
def engine_preview(*, project_dir: Path, stack: str, runner: EngineRunner) -> EngineOutcome:
    """``pulumi preview`` of the committed plan through the engine (needs the Pulumi CLI)."""
    config = read_config_state(project_dir, stack)
    if config.plan is None:
        raise InputError(f"Pulumi.{stack}.yaml has no {PLAN_KEY}: run `roost plan FLEET --stack {stack}` first")
    version = config.plan_version if config.plan_version is not None else "unrecorded"
    return runner.preview(message=f"roost preview plan v{version} decisions={config.decisions_sha256[:12]}")


@dataclass(frozen=True, kw_only=True)
class RestoreOutcome:
    stack: str
    source: str
    resources: int
    imported: bool
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"stack": self.stack, "source": self.source, "resources": self.resources, "imported": self.imported,
                "warnings": list(self.warnings)}


@dataclass(frozen=True, kw_only=True)
class RestoreRequest:
    stack: str
    source: str
    resources: int


def restore_state(*, stack: str, store: VersionStore, runner: EngineRunner, version: int | None = None,
                  file: Path | None = None, confirm: Callable[[RestoreRequest], bool] | None = None,
                  ) -> RestoreOutcome:
    """Import a stored checkpoint (or a state file) into the engine: repair, not rollback.

    Importing old state rewrites only Pulumi's bookkeeping: resources created since become
    invisible orphans, resources deleted since become stale entries. Use it when the state
    itself is broken; go back in time with ``roost rollback``.
    """
    if (version is None) == (file is None):
        raise InputError("state restore: give exactly one of --version N or --file PATH")
    runner.check_available()
    with store.writer(stack, command="roost state restore") as writer:
        if version is not None:
            record = writer.history.get(version)
            ref = record.engine.checkpoint if record.engine else None
            if ref is None:
                raise InputError(f"version {version} of stack {stack!r} has no exported state checkpoint (only versions "
                                 "applied through `roost up` or `roost rollback --apply` have one)")
            doc = json.loads(store.read_blob(stack, ref))
            source = f"version {version}"
        else:
            assert file is not None
            try:
                doc = json.loads(Path(file).read_text())
            except FileNotFoundError:
                raise InputError(f"{file}: no such file") from None
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise InputError(f"{file}: not JSON: {exc}") from None
            source = str(file)
        deployment = deployment_from_document(doc, where=source)
        request = RestoreRequest(stack=stack, source=source, resources=resource_count(deployment))
        warnings = (f"Pulumi's state for stack {stack!r} now describes {source}; resources created after it are "
                    f"not tracked. Run `pulumi refresh --stack {stack}`, then `roost up --stack {stack}`",)
        if confirm is not None and not confirm(request):
            return RestoreOutcome(stack=stack, source=source, resources=request.resources, imported=False)
        runner.import_state(deployment)
    return RestoreOutcome(stack=stack, source=source, resources=request.resources, imported=True, warnings=warnings)


# -- reading: versions and diffs ---------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class VersionRow:
    record: VersionRecord
    models_changed: int
    monthly_cost_delta_usd: float
    applied_by: int | None
    current: bool

    @property
    def applied(self) -> bool:
        return self.record.applied or self.applied_by is not None

    def to_dict(self) -> dict:
        r = self.record
        return {
            "version": r.number,
            "created_at": r.created_at,
            "reason": r.reason,
            "author": r.provenance.author,
            "git_commit": r.provenance.git_commit,
            "plan_version": r.plan_version,
            "decisions_sha256": r.decisions_sha256,
            "models": len(r.plan.deployments),
            "models_changed": self.models_changed,
            "monthly_cost_usd": round(r.monthly_cost_usd, 2),
            "monthly_cost_delta_usd": round(self.monthly_cost_delta_usd, 2),
            "applied": self.applied,
            "applied_by": self.applied_by,
            "update_version": r.engine.update_version if r.engine else None,
            "current": self.current,
        }


@dataclass(frozen=True, kw_only=True)
class VersionsListing:
    stack: str
    store: str
    rows: tuple[VersionRow, ...]
    drift: str | None
    config_plan_version: int | None

    def to_dict(self) -> dict:
        return {"stack": self.stack, "store": self.store, "current_version": self.config_plan_version,
                "drift": self.drift, "versions": [r.to_dict() for r in self.rows]}


def list_versions(*, project_dir: Path, stack: str, store: VersionStore) -> VersionsListing:
    history = store.read(stack)
    config = read_config_state(project_dir, stack)
    check_tail(config, history, store, stack)
    rows = []
    prev: VersionRecord | None = None
    for r in history.records:
        d = diff_plans(prev.plan if prev else None, r.plan)
        rows.append(VersionRow(record=r, models_changed=len(d.changed), monthly_cost_delta_usd=d.monthly_cost_delta_usd,
                               applied_by=None if r.applied else history.applied_by(r.number),
                               current=config.names(r) and r.reason != REASON_APPLY))
        prev = r
    return VersionsListing(stack=stack, store=store.where(stack), rows=tuple(rows),
                           drift=config_drift(config, history, stack), config_plan_version=config.plan_version)


@dataclass(frozen=True, kw_only=True)
class DiffOutcome:
    stack: str
    diff: PlanDiff
    from_version: int | None
    to_version: int | None

    def to_dict(self) -> dict:
        return {"stack": self.stack, "from_version": self.from_version, "to_version": self.to_version,
                **self.diff.to_dict()}


def diff_versions(*, project_dir: Path, stack: str, store: VersionStore, a: str, b: str) -> DiffOutcome:
    """Diff two references: version numbers, ``latest``, ``applied`` or ``current`` (the stack config)."""
    history = store.read(stack)
    check_tail(read_config_state(project_dir, stack), history, store, stack)
    (label_a, num_a, plan_a), (label_b, num_b, plan_b) = (_resolve(ref, history, project_dir, stack) for ref in (a, b))
    return DiffOutcome(stack=stack, diff=diff_plans(plan_a, plan_b, before_label=label_a, after_label=label_b),
                       from_version=num_a, to_version=num_b)


REFS = ("latest", "applied", "current")


def _resolve(ref: str, history: StackHistory, project_dir: Path, stack: str,
             ) -> tuple[str, int | None, DeploymentPlan | None]:
    ref = ref.strip().lower().removeprefix("v") if ref.strip().lower() not in REFS else ref.strip().lower()
    if ref.isdigit():
        record = history.get(int(ref))
        return f"v{record.number}", record.number, record.plan
    if ref == "latest":
        if history.latest is None:
            raise InputError(f"stack {stack!r} has no versions yet: run `roost plan FLEET --stack {stack}`")
        return f"v{history.latest.number}", history.latest.number, history.latest.plan
    if ref == "applied":
        applied = history.last_applied()
        if applied is None:
            raise InputError(f"no version of stack {stack!r} was applied through roost yet")
        return f"v{applied.number} (applied)", applied.number, applied.plan
    if ref == "current":
        config = read_config_state(project_dir, stack)
        if config.plan_error:
            raise InputError(f"Pulumi.{stack}.yaml: {PLAN_KEY} is not a valid plan: {config.plan_error}")
        return f"Pulumi.{stack}.yaml", config.plan_version, config.plan
    raise InputError(f"{ref!r} is not a version: use a number, latest, applied or current")
