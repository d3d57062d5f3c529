"""The CI gates as pure functions: plans, diffs, verdicts and scores in, a ``Gate`` out.

Nothing here reads a file, runs a model or prints. Every gate returns the same shape — a
status, a one-line summary and findings that each name what is wrong (model, resource,
team, stack), which rule it broke, the money at stake and what to run to fix it — so the
JSON result and the Markdown comment are two renderings of one ``CiResult``.

``CiResult.to_dict()`` keys are a public JSON contract: add keys, never rename them.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from placement.costs import UNASSIGNED_TEAM
from placement.diff import ESTIMATE_FIELDS, ModelDiff, PlanDiff
from placement.plan import DeploymentPlan
from placement.types import Fleet
from roost.report.figures import OVER, CostChange, budget_status, cents, model_monthly_cents
from roost.report.fmt import money as usd
from roost.report.fmt import percent
from roost.report.fmt import signed_money as signed_usd

PASS, FAIL, SKIPPED = "pass", "fail", "skipped"
GATES = ("stale", "policy", "budget", "cost_increase", "quality")
# Checked by the budget gate with its figures, so the policy gate leaves it out.
BUDGET_RULE = "budget-caps"

# A candidate model "evaluates worse" when, on the same held-out set, it misses the SLO on a
# larger share of models, fails more deployments or pays more over the oracle than these
# tolerances allow (one model of 60 is 0.017, under the miss tolerance: noise, not a regression).
MISS_TOLERANCE = 0.02
FAILURE_TOLERANCE = 0.01
REGRET_TOLERANCE = 0.02


@dataclass(frozen=True, kw_only=True)
class Finding:
    subject: str                   # what is wrong: a model, a resource, "team:NAME", "stack", a file
    rule: str                      # which rule it broke
    message: str
    fix: str                       # what to run or change
    amount_usd: float | None = None  # the money at stake (over budget by, increase beyond the limit)

    def to_dict(self) -> dict[str, Any]:
        return {"subject": self.subject, "rule": self.rule, "message": self.message, "fix": self.fix,
                "amount_usd": None if self.amount_usd is None else round(self.amount_usd, 2)}


@dataclass(frozen=True, kw_only=True)
class Gate:
    name: str
    status: str
    summary: str
    findings: tuple[Finding, ...] = ()

    @property
    def failed(self) -> bool:
        return self.status == FAIL

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "summary": self.summary,
                "findings": [f.to_dict() for f in self.findings]}


# -- stale ------------------------------------------------------------------------------------------
# Changes whose cause can only be the fleet file (or a hand-edited plan): the model set and the
# serving fields come straight from the fleet, whatever model or catalog placed them.
FLEET_ONLY_CHANGES = frozenset({"added", "removed", "reconfigured"})
DECISION_CHANGES = FLEET_ONLY_CHANGES | {"moved", "resized"}


@dataclass(frozen=True, kw_only=True)
class VersionChange:
    """A model or catalog version: what made the committed decisions and what is current."""

    committed: str | None
    current: str | None

    @property
    def changed(self) -> bool:
        return self.committed != self.current

    def to_dict(self) -> dict[str, Any]:
        return {"committed": self.committed, "current": self.current, "changed": self.changed}


@dataclass(frozen=True, kw_only=True)
class StaleContext:
    stack: str
    fleet_path: str
    fleet_changed: bool          # the fleet file's sha256 differs from the one the plan was made from
    recomputed_with: VersionChange   # model that made the plan → model the placements were recomputed with
    catalog: VersionChange           # catalog that priced the plan → catalog used now
    drift: str | None = None     # the stack config disagrees with the version store


def _describe(m: ModelDiff, fleet_path: str) -> str:
    if m.change == "added":
        return f"in {fleet_path} but not in the committed plan"
    if m.change == "removed":
        return f"in the committed plan but no longer in {fleet_path}"
    shown = [f for f in m.fields if f.field not in ESTIMATE_FIELDS] or list(m.fields)
    return f"{fleet_path} now gives " + ", ".join(f"{f.field} {_short(f.before)} → {_short(f.after)}" for f in shown)


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "-" if value is None else str(value)


def stale_gate(diff: PlanDiff, ctx: StaleContext) -> tuple[Gate, tuple[ModelDiff, ...]]:
    """Stale models from committed → recomputed, and the moves only a new model/catalog explains.

    With the same model and catalog, any decision difference means the fleet (or the plan) was
    edited without re-planning. With another model or catalog, moves and resizes are blamed on
    the fleet only when the fleet file changed; otherwise they are what re-planning would do."""
    same_inputs = not ctx.recomputed_with.changed and not ctx.catalog.changed
    fix = f"`roost plan {ctx.fleet_path} --stack {ctx.stack}`, then commit Pulumi.{ctx.stack}.yaml"
    stale, would_change = [], []
    for m in diff.models:
        if m.change not in DECISION_CHANGES:
            continue
        if m.change in FLEET_ONLY_CHANGES or ctx.fleet_changed or same_inputs:
            stale.append(Finding(subject=m.model, rule=f"stale-{m.change}", message=_describe(m, ctx.fleet_path),
                                 fix=fix))
        else:
            would_change.append(m)
    if ctx.drift:
        stale.append(Finding(subject=f"Pulumi.{ctx.stack}.yaml", rule="unrecorded-plan", message=ctx.drift,
                             fix=f"`roost plan {ctx.fleet_path} --stack {ctx.stack}` (records the plan in the "
                                 "version store), then commit both"))
    models = [f.subject for f in stale if f.rule.startswith("stale-")]
    if stale:
        what = f"{len(models)} model(s) no longer match {ctx.fleet_path}: {', '.join(models)}" if models \
            else f"Pulumi.{ctx.stack}.yaml does not match the version store"
        return Gate(name="stale", status=FAIL, summary=what, findings=tuple(stale)), tuple(would_change)
    summary = f"the committed decisions follow from {ctx.fleet_path}"
    if would_change:
        summary += f" ({len(would_change)} would change with the current model/catalog)"
    return Gate(name="stale", status=PASS, summary=summary), tuple(would_change)


# -- policy -----------------------------------------------------------------------------------------
POLICY_FIXES = {
    "imdsv2-required": "a stack program change: launch templates must set metadataOptions.httpTokens=required",
    "encrypted-disks": "a stack program change: encrypt every disk",
    "no-public-admin-ports": "remove the SSH/RDP ingress (`roost:*.ingressCidrs`) from the stack settings",
    "required-cost-tags": "a stack program change: tag every resource with the cost tags",
    "allowed-regions": "restrict the model's `regions:` in the fleet file (then `roost plan`) or extend "
                       "`roost:allowedRegions`",
    "allowed-instance-families": "constrain the model in the fleet file (then `roost plan`) or extend "
                                 "`roost:allowedInstanceFamilies`",
    "spot-forbidden-for-never": "re-plan (`roost plan`) so the deployment's purchase option follows `spot: never`",
}


def policy_gate(violations: Sequence[Any], model_of: Mapping[str, str | None]) -> Gate:
    """Mandatory violations fail, advisory ones are listed; budget caps go to the budget gate.

    ``violations`` are ``stacks.policy.rules.Violation``; ``model_of`` maps a resource name
    to the deployment it belongs to (None for shared resources)."""
    findings = []
    mandatory = 0
    for v in violations:
        if v.policy == BUDGET_RULE:
            continue
        model = model_of.get(v.resource)
        subject = f"{v.resource} ({model})" if model else v.resource
        findings.append(Finding(subject=subject, rule=v.policy, message=f"{v.message} ({v.enforcement})",
                                fix=POLICY_FIXES.get(v.policy, "see docs/ci.md")))
        mandatory += v.enforcement == "mandatory"
    advisory = len(findings) - mandatory
    if mandatory:
        first = findings[0]
        return Gate(name="policy", status=FAIL, findings=tuple(findings),
                    summary=f"{mandatory} mandatory violation(s), first: {first.rule} on {first.subject}")
    return Gate(name="policy", status=PASS, findings=tuple(findings),
                summary="no mandatory violations" + (f" ({advisory} advisory)" if advisory else ""))


# -- budgets ----------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class BudgetLine:
    scope: str        # model | team | stack
    name: str
    monthly_cost_usd: float
    budget_usd: float

    @property
    def within(self) -> bool:
        return budget_status(self.monthly_cost_usd, self.budget_usd) != OVER

    @property
    def over_usd(self) -> float:
        return 0.0 if self.within else (cents(self.monthly_cost_usd) - cents(self.budget_usd)) / 100

    def to_dict(self) -> dict[str, Any]:
        return {"scope": self.scope, "name": self.name, "monthly_cost_usd": round(self.monthly_cost_usd, 2),
                "budget_usd": round(self.budget_usd, 2), "over_usd": round(self.over_usd, 2),
                "within": self.within}


def budget_lines(plan: DeploymentPlan, fleet: Fleet, *, stack_usd: float | None,
                 teams: Mapping[str, float]) -> list[BudgetLine]:
    """Every budget that applies to the committed plan, with what the plan spends against it.

    Costs are summed in whole cents per model, as the cost report sums them, so a team's figure
    here is the one `roost report` shows."""
    by_model = {d.name: model_monthly_cents(d.choice) for d in plan.deployments}
    by_team: dict[str, int] = {}
    for d in plan.deployments:
        team = d.team or UNASSIGNED_TEAM
        by_team[team] = by_team.get(team, 0) + by_model[d.name]
    specs = {s.name: s for s in fleet.models}
    lines = [BudgetLine(scope="model", name=d.name, monthly_cost_usd=by_model[d.name] / 100,
                        budget_usd=specs[d.name].budget_monthly_usd)
             for d in plan.deployments
             if d.name in specs and specs[d.name].budget_monthly_usd is not None]
    lines += [BudgetLine(scope="team", name=team, monthly_cost_usd=by_team.get(team, 0) / 100, budget_usd=cap)
              for team, cap in sorted(teams.items())]
    if stack_usd is not None:
        lines.append(BudgetLine(scope="stack", name="stack", monthly_cost_usd=sum(by_model.values()) / 100,
                                budget_usd=stack_usd))
    return lines


def budget_gate(lines: Sequence[BudgetLine], *, stack: str, fleet_path: str) -> Gate:
    fixes = {
        "model": f"lower the model's load or SLO, allow spot, or raise its budget_monthly_usd in {fleet_path}; "
                 f"then `roost plan {fleet_path} --stack {stack}`",
        "team": "move or shrink the team's models, or raise the cap: `pulumi config set --path "
                "roost:budgets.teams.{name} USD --stack " + stack + "`",
        "stack": "shrink the fleet or raise the cap: `pulumi config set --path roost:budgets.stack USD --stack "
                 + stack + "`",
    }
    findings = []
    for line in lines:
        if line.within:
            continue
        who = "stack" if line.scope == "stack" else f"{line.scope} {line.name}"
        findings.append(Finding(
            subject="stack" if line.scope == "stack" else f"{line.scope}:{line.name}", rule=f"{line.scope}-budget",
            message=f"{who} is estimated at {usd(line.monthly_cost_usd)}/month, over its budget "
                    f"{usd(line.budget_usd)} by {usd(line.over_usd)}",
            fix=fixes[line.scope].replace("{name}", line.name), amount_usd=line.over_usd))
    if not lines:
        return Gate(name="budget", status=PASS, summary="no budgets set (fleet budget_monthly_usd, roost:budgets)")
    if findings:
        return Gate(name="budget", status=FAIL, findings=tuple(findings),
                    summary="; ".join(f.message for f in findings[:2]) + (" …" if len(findings) > 2 else ""))
    return Gate(name="budget", status=PASS, summary=f"{len(lines)} budget(s), all within")


# -- cost increase ----------------------------------------------------------------------------------
def increase_gate(change: CostChange, *, max_usd: float | None, max_pct: float | None, stack: str) -> Gate:
    """The cost change against the base version (``roost.report.figures.cost_change``) within the limit.

    From nothing there is no percentage: any cost then breaks a percentage limit."""
    delta, pct, base_label = change.delta_monthly_cost_usd, change.delta_pct, change.before_label
    change = f"{signed_usd(delta)}/month" + ("" if pct is None else f" ({percent(pct)})") + f" against {base_label}"
    if max_usd is None and max_pct is None:
        return Gate(name="cost_increase", status=SKIPPED,
                    summary=f"{change}; no limit set (--max-increase-usd or --max-increase-pct)")
    fix = (f"cut the change's cost, or if it is intended, have it approved and raise the limit for this change "
           f"(`roost ci --stack {stack} --max-increase-…`)")
    if max_usd is not None and delta > max_usd:
        return Gate(name="cost_increase", status=FAIL, summary=f"{change} exceeds the allowed {usd(max_usd)}",
                    findings=(Finding(subject="stack", rule="max-increase-usd", fix=fix, amount_usd=delta - max_usd,
                                      message=f"monthly cost rises by {usd(delta)}, {usd(delta - max_usd)} over the "
                                              f"allowed {usd(max_usd)}"),))
    if max_pct is not None and delta > 0 and (pct is None or pct > max_pct):
        what = "from nothing" if pct is None else f"by {percent(pct)}"
        return Gate(name="cost_increase", status=FAIL, summary=f"{change} exceeds the allowed {max_pct:g}%",
                    findings=(Finding(subject="stack", rule="max-increase-pct", fix=fix, amount_usd=delta,
                                      message=f"monthly cost rises {what} ({usd(delta)}), over the allowed "
                                              f"{max_pct:g}%"),))
    limit = usd(max_usd) if max_usd is not None else f"{max_pct:g}%"
    return Gate(name="cost_increase", status=PASS, summary=f"{change}, within {limit}")


# -- quality ----------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class ModelScore:
    """One model's figures on the held-out set (``placement.learned.evaluate.Summary`` fields)."""

    version: str
    created_at: str | None
    slo_miss_rate: float
    failure_rate: float
    median_regret: float
    placed: int
    models: int

    def to_dict(self) -> dict[str, Any]:
        def r(x: float) -> float | None:
            return round(x, 4) if math.isfinite(x) else None
        return {"version": self.version, "created_at": self.created_at, "slo_miss_rate": r(self.slo_miss_rate),
                "failure_rate": r(self.failure_rate), "median_regret": r(self.median_regret),
                "placed": self.placed, "models": self.models}


def regressions(committed: ModelScore, candidate: ModelScore) -> list[str]:
    """How ``candidate`` evaluates worse than ``committed`` beyond the tolerances ([] if it does not)."""
    out = []
    checks = (("SLO miss rate", committed.slo_miss_rate, candidate.slo_miss_rate, MISS_TOLERANCE),
              ("failure rate", committed.failure_rate, candidate.failure_rate, FAILURE_TOLERANCE),
              ("median cost regret", committed.median_regret, candidate.median_regret, REGRET_TOLERANCE))
    for name, old, new, tolerance in checks:
        if math.isfinite(new) and math.isfinite(old) and new > old + tolerance:
            out.append(f"{name} {new:.1%} vs {old:.1%}")
        elif math.isfinite(old) and not math.isfinite(new):
            out.append(f"{name} not measurable (placed {candidate.placed}/{candidate.models})")
    if candidate.placed < committed.placed:
        out.append(f"placed {candidate.placed}/{candidate.models} held-out models vs {committed.placed}")
    return out


@dataclass(frozen=True, kw_only=True)
class QualityEvidence:
    """What the quality gate saw: a reason it could not compare, or both models' scores."""

    committed_model: str | None
    default_model: str | None
    skipped: str | None = None
    passed_without_evaluation: str | None = None
    committed: ModelScore | None = None
    candidate: ModelScore | None = None
    held_out: Mapping[str, Any] = field(default_factory=dict)   # profiles, seed

    def to_dict(self) -> dict[str, Any]:
        return {"committed_model": self.committed_model, "default_model": self.default_model,
                "held_out": dict(self.held_out),
                "committed": None if self.committed is None else self.committed.to_dict(),
                "candidate": None if self.candidate is None else self.candidate.to_dict()}


def quality_gate(evidence: QualityEvidence) -> Gate:
    if evidence.skipped:
        return Gate(name="quality", status=SKIPPED, summary=evidence.skipped)
    if evidence.passed_without_evaluation:
        return Gate(name="quality", status=PASS, summary=evidence.passed_without_evaluation)
    old, new = evidence.committed, evidence.candidate
    assert old is not None and new is not None
    held = f"{evidence.held_out.get('profiles')} held-out profiles (seed {evidence.held_out.get('seed')})"
    worse = regressions(old, new)
    if worse:
        return Gate(name="quality", status=FAIL, summary=f"default model {new.version} evaluates worse than "
                    f"{old.version} on {held}: {'; '.join(worse)}", findings=(Finding(
                        subject=f"model:{new.version}", rule="quality-regression",
                        message=f"the registry's default model {new.version} evaluates worse than {old.version}, "
                                f"which made the committed decisions: {'; '.join(worse)}",
                        fix=f"do not re-plan with {new.version}: restore {old.version} as the default "
                            "(ROOST_HOME/models/default.json) or retrain (`roost train`, `roost evaluate`)"),))
    return Gate(name="quality", status=PASS,
                summary=f"default model {new.version} is no worse than {old.version} on {held} (SLO miss "
                        f"{new.slo_miss_rate:.1%} vs {old.slo_miss_rate:.1%}, median regret "
                        f"{new.median_regret:.1%} vs {old.median_regret:.1%})")


# -- the whole result -------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class CiResult:
    stack: str
    fleet_path: str
    plan_version: int | None
    base_version: int | None
    gates: tuple[Gate, ...]
    cost_change: CostChange                # base → committed (the cost report's figures)
    would_change: tuple[ModelDiff, ...]    # moves only the current model/catalog explains
    model: VersionChange
    catalog: VersionChange
    budgets: tuple[BudgetLine, ...]
    violations: tuple[Any, ...]            # stacks.policy.rules.Violation (all, budget caps included)
    quality: QualityEvidence
    resources: int
    notes: tuple[str, ...] = ()

    @property
    def failed(self) -> tuple[Gate, ...]:
        return tuple(g for g in self.gates if g.failed)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def gate(self, name: str) -> Gate:
        return next(g for g in self.gates if g.name == name)

    def to_dict(self) -> dict[str, Any]:
        fixes = []
        for g in self.failed:
            for f in g.findings:
                if f.fix not in fixes:
                    fixes.append(f.fix)
        return {
            "stack": self.stack,
            "result": "fail" if self.failed else "pass",
            "exit_code": self.exit_code,
            "failed_gates": [g.name for g in self.failed],
            "fleet": self.fleet_path,
            "plan_version": self.plan_version,
            "base_version": self.base_version,
            "gates": [g.to_dict() for g in self.gates],
            "cost": self.cost_change.to_dict(),
            "placement_changes": [m.to_dict() for m in self.cost_change.models],
            "stale_models": [f.to_dict() for f in self.gate("stale").findings],
            "would_change_with_current_model": [m.to_dict() for m in self.would_change],
            "versions": {"model": self.model.to_dict(), "catalog": self.catalog.to_dict()},
            "budgets": [b.to_dict() for b in self.budgets],
            "policy_violations": [v.to_dict() for v in self.violations],
            "quality": self.quality.to_dict(),
            "resources": self.resources,
            "fixes": fixes,
            "notes": list(self.notes),
        }
