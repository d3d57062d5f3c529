"""Gather what the gates judge: validate every input, recompute, preview, evaluate.

Order: everything cheap that can be wrong with the input is checked first (stack config and
settings, catalog, version store and base version, fleet file, model registry), so a broken
input exits 2 before any model runs. Then the placements are recomputed from the fleet file,
the stack's program runs offline under mocks, and — only when the registry's default model is
newer than the one that made the committed decisions — both models are scored on the same
held-out set.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from history.versions import StackHistory, StoreCorruptedError, VersionStore
from placement.catalog import Catalog
from placement.diff import diff_plans
from placement.errors import InputError, ModelArtifactError
from placement.plan import DeploymentPlan
from placement.predictor import Predictor
from roost.gate import checks
from roost.lifecycle import ConfigState, config_drift, read_config_state
from roost.report.figures import cost_change
from roost.stackfile import PLAN_KEY, read_stack_config, stack_config_path, validate_stack_name

# The quality gate's held-out set: small enough to score two models in a few seconds, fixed so
# that every run (and both models) see the same profiles. The seed is none of the history's.
QUALITY_PROFILES = 60
QUALITY_SEED = 1515
MODEL_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")

Stage = Callable[[str], None]


@dataclass(frozen=True, kw_only=True)
class CiRequest:
    project_dir: Path
    stack: str
    store: VersionStore
    catalog: Catalog
    fleet: Path | None = None
    base_version: int | None = None
    max_increase_usd: float | None = None
    max_increase_pct: float | None = None
    models_root: Path | None = None
    quality_profiles: int = QUALITY_PROFILES
    quality_seed: int = QUALITY_SEED


def run_ci(req: CiRequest, on_stage: Stage | None = None) -> checks.CiResult:
    """Every gate over ``req.stack``; raises InputError (exit 2) on invalid input."""
    stage = on_stage or (lambda _: None)
    if req.max_increase_usd is not None and req.max_increase_pct is not None:
        raise InputError("give at most one of --max-increase-usd and --max-increase-pct")
    stack = validate_stack_name(req.stack)
    config, settings = _stack_config(req.project_dir, stack)
    # The settings' plan, not the raw one: the stack settings are where a committed plan is checked
    # (form, offerings, costs from the catalog), so every gate judges what `pulumi up` would deploy.
    plan = settings.plan
    history = _history(req.store, stack)
    fleet_path = _fleet_path(req, history, config)
    shown_fleet = _display(fleet_path, req.project_dir)
    notes: list[str] = []

    from roost.workflows import load_checked_fleet, recommend_fleet

    fleet = load_checked_fleet(fleet_path, req.catalog)
    base_label, base_number, base_plan = _base(history, config, req.base_version, stack, notes)
    models_root = req.models_root or _models_root()
    default_version = _default_model_version(models_root)

    stage("recomputing placements from the fleet file")
    predictor, recompute_note = _committed_predictor(plan, models_root, req.catalog)
    if recompute_note:
        notes.append(recompute_note)
    recomputed = recommend_fleet(fleet_path, req.catalog, predictor, explain=False)
    fresh = DeploymentPlan.from_recommendation(recomputed.fleet, recomputed.recommendation)
    drift = config_drift(config, history, stack) if history.records else None
    stale, would_change = checks.stale_gate(
        diff_plans(plan, fresh, before_label=f"Pulumi.{stack}.yaml", after_label=shown_fleet),
        checks.StaleContext(stack=stack, fleet_path=shown_fleet, fleet_changed=fleet.sha256 != plan.fleet_sha256,
                            recomputed_with=checks.VersionChange(committed=plan.model_version,
                                                                 current=predictor.version),
                            catalog=checks.VersionChange(committed=plan.catalog_version, current=req.catalog.version),
                            drift=drift))

    stage("running the stack's program offline and the policy rules")
    report = _preview(req.project_dir, stack)
    notes.extend(report.notes)
    model_of = {r.name: r.deployment for r in report.resources}
    policy = checks.policy_gate(report.violations, model_of)

    lines = checks.budget_lines(plan, fleet, stack_usd=settings.policy.budgets.stack_usd,
                                teams=settings.policy.budgets.teams)
    budget = checks.budget_gate(lines, stack=stack, fleet_path=shown_fleet)

    head_label = f"Pulumi.{stack}.yaml" + (f" (v{config.plan_version})" if config.plan_version else "")
    change = cost_change(base_plan, plan, before_label=base_label, after_label=head_label)
    increase = checks.increase_gate(change, max_usd=req.max_increase_usd, max_pct=req.max_increase_pct, stack=stack)

    evidence = _quality_evidence(plan.model_version, default_version, models_root, req, stage)
    quality = checks.quality_gate(evidence)
    return checks.CiResult(
        stack=stack, fleet_path=shown_fleet, plan_version=config.plan_version, base_version=base_number,
        gates=(stale, policy, budget, increase, quality), cost_change=change, would_change=would_change,
        model=checks.VersionChange(committed=plan.model_version, current=default_version),
        catalog=checks.VersionChange(committed=plan.catalog_version, current=req.catalog.version),
        budgets=tuple(lines), violations=tuple(report.violations), quality=evidence,
        resources=len(report.resources), notes=tuple(notes))


# -- inputs -----------------------------------------------------------------------------------------
def _stack_config(project_dir: Path, stack: str) -> tuple[ConfigState, Any]:
    """The committed plan and the validated roost settings (SettingsError lists every problem)."""
    from roost.preview import runtime_config
    from stacks.keys import PREFIX
    from stacks.settings import parse_settings

    path = stack_config_path(project_dir, stack)
    if not path.is_file():
        raise InputError(f"{path}: no such stack file: run `roost plan FLEET --stack {stack}` first")
    config = read_config_state(project_dir, stack)
    if config.plan is None:
        raise InputError(f"{path.name} has no {PLAN_KEY}: run `roost plan FLEET --stack {stack}` first")
    values, _ = runtime_config(read_stack_config(project_dir, stack))
    raw = {k.removeprefix(PREFIX): v for k, v in values.items() if k.startswith(PREFIX)}
    return config, parse_settings(raw, stack=stack)


def _history(store: VersionStore, stack: str) -> StackHistory:
    try:
        return store.read(stack)
    except StoreCorruptedError as exc:  # for the gate a damaged store is a broken input, not a failed check
        raise InputError(str(exc)) from None


def _fleet_path(req: CiRequest, history: StackHistory, config: ConfigState) -> Path:
    """--fleet, else the file the committed version was planned from, else fleet.yaml."""
    if req.fleet is not None:
        path = Path(req.fleet)
    else:
        recorded = next((r.fleet.path for r in reversed(history.records)
                         if r.fleet is not None and r.plan_version == config.plan_version), None)
        path = Path(recorded) if recorded else Path("fleet.yaml")
        if not path.is_absolute():
            path = req.project_dir / path
    if not path.is_file():
        raise InputError(f"{path}: no such fleet file: pass --fleet FILE")
    return path


def _display(path: Path, project_dir: Path) -> str:
    try:
        return str(path.resolve().relative_to(project_dir.resolve()))
    except ValueError:
        return str(path)


def _base(history: StackHistory, config: ConfigState, number: int | None, stack: str,
          notes: list[str]) -> tuple[str, int | None, DeploymentPlan | None]:
    """The version the cost diff starts from: --base-version, else the last applied version,
    else the version before the one the stack config holds, else nothing."""
    if number is not None:
        record = history.get(number)  # UnknownVersionError: exit 2, naming the versions there are
        return f"v{record.number}", record.number, record.plan
    applied = history.last_applied()
    if applied is not None:
        return f"v{applied.number} (applied)", applied.number, applied.plan
    if config.plan_version is not None and 1 < config.plan_version <= len(history.records):
        record = history.get(config.plan_version - 1)
        return f"v{record.number}", record.number, record.plan
    if not history.records:
        notes.append(f"the version store has no versions of stack {stack!r}: the cost diff starts from nothing. "
                     "Point ROOST_VERSION_STORE (or --store) at the store `roost plan` records to")
    elif config.plan_version is None and history.latest is not None:
        return f"v{history.latest.number}", history.latest.number, history.latest.plan
    return "(nothing)", None, None


def _models_root() -> Path:
    from roost.paths import models_dir

    return models_dir()


def _default_model_version(root: Path) -> str | None:
    from roost.training import DEFAULT_POINTER

    pointer = root / DEFAULT_POINTER
    if not pointer.is_file():
        return _shipped_version()
    try:
        version = json.loads(pointer.read_text()).get("version")
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        raise ModelArtifactError(f"{pointer}: unreadable default-model pointer; remove it (roost trains the "
                                 "default model again) or restore it") from None
    if not isinstance(version, str) or not MODEL_VERSION.match(version):
        raise ModelArtifactError(f"{pointer}: names no valid model version ({version!r})")
    return version


def _shipped_version() -> str | None:
    from placement.errors import ModelArtifactError
    from roost.training import shipped_model_path

    try:
        return shipped_model_path().name
    except ModelArtifactError:
        return None


def _in_registry(root: Path, version: str) -> bool:
    from roost.training import model_path

    return bool(MODEL_VERSION.match(version)) and model_path(version, root=root) is not None


def _load_bundle(root: Path, version: str, catalog_version: str | None = None) -> Any:
    from placement.learned import registry
    from placement.learned.predictor import LearnedPredictor
    from roost.training import model_path

    if not MODEL_VERSION.match(version):
        raise InputError(f"the committed plan names model version {version!r}, which is not a model version")
    path = model_path(version, root=root) or root / version  # the cache, or the model roost ships
    return registry.load(path, catalog_version=catalog_version, required=LearnedPredictor.required)


def _committed_predictor(plan: DeploymentPlan, root: Path, catalog: Catalog) -> tuple[Predictor, str | None]:
    """The predictor that made the committed decisions, or the default model when it is gone."""
    from placement.learned.predictor import LearnedPredictor
    from roost.workflows import predictor_for

    version = plan.model_version
    if version is None:
        return predictor_for("baseline"), None
    if _in_registry(root, version):
        return LearnedPredictor(_load_bundle(root, version, catalog.version)), None
    if not MODEL_VERSION.match(version):
        raise InputError(f"the committed plan names model version {version!r}, which is not a model version")
    predictor = predictor_for("learned", catalog_version=catalog.version)
    return predictor, (f"model {version}, which made the committed decisions, is not in the registry ({root}); "
                       f"placements were recomputed with the default model {predictor.version}")


def _preview(project_dir: Path, stack: str) -> Any:
    from roost.engine import EngineFailedError
    from roost.preview import offline_preview
    from stacks.offline import OfflineProgramError

    try:
        return offline_preview(project_dir, stack)
    except OfflineProgramError as exc:
        raise EngineFailedError(f"the stack's program failed under the offline engine: {exc}") from None


# -- quality ----------------------------------------------------------------------------------------
def _quality_evidence(committed: str | None, default: str | None, root: Path, req: CiRequest,
                      stage: Stage) -> checks.QualityEvidence:
    def skip(reason: str) -> checks.QualityEvidence:
        return checks.QualityEvidence(committed_model=committed, default_model=default, skipped=reason)

    if default is None:
        return skip(f"no default model in the registry ({root})")
    if committed is None:
        return skip("the committed decisions were made by the physics baseline, not a registry model")
    if committed == default:
        return checks.QualityEvidence(committed_model=committed, default_model=default,
                                      passed_without_evaluation=f"the committed decisions were made by the "
                                                                f"default model {default}")
    if not _in_registry(root, committed):
        return skip(f"model {committed}, which made the committed decisions, is not in the registry ({root}) to "
                    f"compare with the default model {default}")
    old, new = _load_bundle(root, committed), _load_bundle(root, default)
    old_at, new_at = str(old.manifest.get("created_at", "")), str(new.manifest.get("created_at", ""))
    if new_at <= old_at:
        return checks.QualityEvidence(committed_model=committed, default_model=default,
                                      passed_without_evaluation=f"the default model {default} is not newer than "
                                                                f"{committed}, which made the decisions")
    stage(f"scoring models {committed} and {default} on {req.quality_profiles} held-out profiles")
    scores = score_models({"committed": old, "candidate": new}, n_profiles=req.quality_profiles,
                          seed=req.quality_seed)
    return checks.QualityEvidence(committed_model=committed, default_model=default, committed=scores["committed"],
                                  candidate=scores["candidate"],
                                  held_out={"profiles": req.quality_profiles, "seed": req.quality_seed})


def score_models(bundles: dict[str, Any], *, n_profiles: int, seed: int) -> dict[str, checks.ModelScore]:
    """Each bundle's figures on the same held-out profiles, judged by the simulator's world.

    The profiles are sampled with ``seed`` over the bundled catalog; none is excluded for
    having been in a training log (regenerating the default history takes ~20 s, and at
    another seed than the history's only about 1 profile in 100 recurs there)."""
    from history import world as W
    from history.population import sample_specs
    from placement.catalog import load_catalog
    from placement.learned.predictor import LearnedPredictor
    from roost.evaluation import evaluate

    specs = sample_specs(n_profiles, seed=seed)
    methods = {name: LearnedPredictor(bundle) for name, bundle in bundles.items()}
    first = next(iter(methods))
    result = evaluate(W.World(load_catalog()), dict(methods), specs, seed=seed, reference=first)
    by_name = {s.method: s for s in result.summaries}
    return {name: checks.ModelScore(version=bundle.version, created_at=bundle.manifest.get("created_at"),
                                    slo_miss_rate=by_name[name].slo_miss_rate,
                                    failure_rate=by_name[name].failure_rate,
                                    median_regret=by_name[name].median_regret,
                                    placed=by_name[name].placed, models=by_name[name].models)
            for name, bundle in bundles.items()}
