"""The figures of a cost review report, computed once and shared by every format.

Pure: plans, records, a catalog and plain numbers in; frozen dataclasses out; no I/O.

Money is summed in whole cents. Each model's monthly cost is its committed hourly cost ×
``HOURS_PER_MONTH`` rounded to the cent, and every total (team, cloud, region, stack, the
on-demand/spot split, the change) is a sum of those cents, so a total always equals the sum
of its parts to the cent in every format, and a delta is exactly new − old.

Budget status of a cost against a monthly limit:

    over    cost >  limit
    near    cost >= NEAR_BUDGET_FRACTION × limit (90 %), and not over
    under   below that
    None    no limit set

``cost_change`` is the part ``roost ci`` reuses: the Infracost-style change between two plans.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from placement.catalog import Catalog
from placement.costs import UNASSIGNED_TEAM
from placement.diff import ESTIMATE_FIELDS, FieldChange, ModelDiff, diff_plans
from placement.plan import Deployment, DeploymentPlan
from placement.types import HOURS_PER_MONTH, Choice, Fleet, Purchase, Recommendation

NEAR_BUDGET_FRACTION = 0.9
UNDER, NEAR, OVER = "under", "near", "over"

# What a placement move shows, in this order (the fields reviewers read a move by).
# The load and SLO are the usual why of a resize, so their values are shown too.
MOVE_FIELDS = ("cloud", "region", "instance_type", "accelerator", "accelerator_count", "purchase", "replicas",
               "min_replicas", "max_replicas", "on_demand_base", "peak_rps", "slo_p95_latency_ms")
# Every other changed setting is named without its values: env values, for one, may be sensitive.

NOT_INCLUDED = (
    "data transfer / egress",
    "storage (boot and data disks, images, snapshots)",
    "load-balancer hours and capacity units",
    "NAT gateways, public IP addresses, DNS, logging and monitoring",
    "support plans",
    "taxes, credits and committed-use or savings-plan discounts not in the catalog",
)


def cents(usd: float) -> int:
    return int(round(usd * 100))


def usd(c: int) -> float:
    return c / 100


def model_monthly_cents(choice: Choice) -> int:
    """A model's committed monthly cost in cents: the one rounding every figure builds on."""
    return cents(round(choice.hourly_cost_usd, 6) * HOURS_PER_MONTH)


def pct(delta: float, base: float) -> float | None:
    """Percentage change, None when there is no base to compare with."""
    return None if base == 0 else round(delta / base * 100, 2)


def budget_status(cost_usd: float, limit_usd: float | None) -> str | None:
    if limit_usd is None:
        return None
    if cents(cost_usd) > cents(limit_usd):
        return OVER
    if cost_usd >= NEAR_BUDGET_FRACTION * limit_usd:
        return NEAR
    return UNDER


# -- the change between two plans (reused by `roost ci`) ------------------------------------------
@dataclass(frozen=True, kw_only=True)
class ModelChange:
    model: str
    team: str | None
    change: str                      # a placement.diff change kind
    moves: tuple[FieldChange, ...]   # placement fields with before and after values
    other_changes: tuple[str, ...]   # other changed settings, by name only
    before: str | None               # "aws/us-east-1 g5.xlarge spot ×3", None when added
    after: str | None                # None when removed
    previous_monthly_cost_usd: float
    monthly_cost_usd: float
    delta_monthly_cost_usd: float

    def to_dict(self) -> dict:
        return {"model": self.model, "team": self.team, "change": self.change,
                "moves": [{"field": m.field, **m.to_dict()} for m in self.moves], "other_changes": list(self.other_changes),
                "from": self.before, "to": self.after,
                "previous_monthly_cost_usd": self.previous_monthly_cost_usd,
                "monthly_cost_usd": self.monthly_cost_usd, "delta_monthly_cost_usd": self.delta_monthly_cost_usd}


@dataclass(frozen=True, kw_only=True)
class CostChange:
    """Previous total, new total, delta and percentage, then what moved per model."""

    before_label: str
    after_label: str
    previous_total_monthly_cost_usd: float
    total_monthly_cost_usd: float
    delta_monthly_cost_usd: float
    delta_pct: float | None
    models: tuple[ModelChange, ...]   # changed models only, largest cost change first
    counts: Mapping[str, int]         # every change kind, unchanged included

    @property
    def models_changed(self) -> int:
        return len(self.models)

    def to_dict(self) -> dict:
        return {"from": self.before_label, "to": self.after_label,
                "previous_total_monthly_cost_usd": self.previous_total_monthly_cost_usd,
                "total_monthly_cost_usd": self.total_monthly_cost_usd,
                "delta_monthly_cost_usd": self.delta_monthly_cost_usd, "delta_pct": self.delta_pct,
                "models_changed": self.models_changed, "counts": dict(self.counts),
                "models": [m.to_dict() for m in self.models]}


def placement_label(snapshot: Mapping[str, Any] | None) -> str | None:
    if not snapshot:
        return None
    gpu = f" ({snapshot['accelerator']}×{snapshot['accelerator_count']:g})" if snapshot.get("accelerator") else ""
    purchase = str(snapshot["purchase"]).replace("_", "-")
    return (f"{snapshot['cloud']}/{snapshot['region']} {snapshot['instance_type']}{gpu} {purchase} "
            f"×{snapshot['replicas']}")


def _model_change(m: ModelDiff, before_c: int, after_c: int) -> ModelChange:
    moves = tuple(f for name in MOVE_FIELDS if (f := m.field(name)) is not None)
    others = tuple(f.field for f in m.fields if f.field not in MOVE_FIELDS and f.field not in ESTIMATE_FIELDS)
    if not moves and not others:
        others = tuple(f.field for f in m.fields if f.field in ESTIMATE_FIELDS)
    return ModelChange(model=m.model, team=m.team, change=m.change, moves=moves, other_changes=others,
                       before=placement_label(m.before), after=placement_label(m.after),
                       previous_monthly_cost_usd=usd(before_c), monthly_cost_usd=usd(after_c),
                       delta_monthly_cost_usd=usd(after_c - before_c))


def cost_change(before: DeploymentPlan | None, after: DeploymentPlan | None, *, before_label: str = "before",
                after_label: str = "after") -> CostChange:
    """What ``after`` changes against ``before`` (None: nothing deployed), in cents-exact figures.

    Only changed models are listed, largest absolute cost change first; ``counts`` covers all.
    """
    diff = diff_plans(before, after, before_label=before_label, after_label=after_label)
    old = {d.name: model_monthly_cents(d.choice) for d in (before.deployments if before else ())}
    new = {d.name: model_monthly_cents(d.choice) for d in (after.deployments if after else ())}
    changed = [_model_change(m, old.get(m.model, 0), new.get(m.model, 0)) for m in diff.models if m.changed]
    changed.sort(key=lambda c: (-abs(c.delta_monthly_cost_usd), c.model))
    prev_c, new_c = sum(old.values()), sum(new.values())
    return CostChange(before_label=before_label, after_label=after_label,
                      previous_total_monthly_cost_usd=usd(prev_c), total_monthly_cost_usd=usd(new_c),
                      delta_monthly_cost_usd=usd(new_c - prev_c), delta_pct=pct(new_c - prev_c, prev_c),
                      models=tuple(changed), counts=diff.counts())


# -- per model -------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class RunnerUp:
    """A runner-up of a model's placement, as recorded when the plan was made."""

    cloud: str
    region: str
    instance_type: str
    accelerator: str | None
    purchase: str
    replicas: int
    monthly_cost_usd: float
    delta_monthly_cost_usd: float   # against the chosen placement
    feasible: bool
    reason: str                     # the cost gap, or the binding constraint of a reject

    def to_dict(self) -> dict:
        return {"cloud": self.cloud, "region": self.region, "instance_type": self.instance_type,
                "accelerator": self.accelerator, "purchase": self.purchase, "replicas": self.replicas,
                "monthly_cost_usd": self.monthly_cost_usd, "delta_monthly_cost_usd": self.delta_monthly_cost_usd,
                "feasible": self.feasible, "reason": self.reason}


def rationale_document(rec: Recommendation, fleet: Fleet | None = None) -> dict[str, dict]:
    """What a version keeps of a recommendation besides its decisions: read back by ``Rationale``.

    With the fleet, each model's ``budget_monthly_usd`` too (a constraint the choice was made
    under), so a report need not parse the fleet file again.
    """
    specs = {m.name: m for m in fleet.models} if fleet is not None else {}
    doc = {}
    for p in rec.placements:
        entry: dict[str, Any] = {"alternatives": [a.to_dict(p.chosen) for a in p.alternatives],
                                 "explanation": list(p.explanation),
                                 "confidence": None if p.confidence is None else round(p.confidence, 4),
                                 "candidates_considered": p.candidates_considered}
        if p.model in specs:
            entry["budget_monthly_usd"] = specs[p.model].budget_monthly_usd
        doc[p.model] = entry
    return doc


@dataclass(frozen=True, kw_only=True)
class Rationale:
    """Why a model's placement was chosen: kept with the version when the plan was made."""

    alternatives: tuple[Choice, ...] = ()
    alternative_feasible: tuple[bool, ...] = ()
    alternative_reasons: tuple[str, ...] = ()
    explanation: tuple[str, ...] = ()
    confidence: float | None = None
    candidates_considered: int = 0
    budget_recorded: bool = False            # False: look the budget up in the fleet file
    budget_monthly_usd: float | None = None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Rationale:
        alts = [a for a in d.get("alternatives") or () if isinstance(a, Mapping)]
        return cls(alternatives=tuple(Choice.from_dict(dict(a)) for a in alts),
                   alternative_feasible=tuple(bool(a.get("feasible", True)) for a in alts),
                   alternative_reasons=tuple(str(a.get("reason", "")) for a in alts),
                   explanation=tuple(str(x) for x in d.get("explanation") or ()),
                   confidence=None if d.get("confidence") is None else float(d["confidence"]),
                   candidates_considered=int(d.get("candidates_considered") or 0),
                   budget_recorded="budget_monthly_usd" in d,
                   budget_monthly_usd=None if d.get("budget_monthly_usd") is None else float(d["budget_monthly_usd"]))


@dataclass(frozen=True, kw_only=True)
class ModelLine:
    name: str
    team: str
    cloud: str
    region: str
    instance_type: str
    accelerator: str | None
    accelerator_count: float
    purchase: str
    replicas: int
    min_replicas: int
    max_replicas: int
    on_demand_replicas: int
    spot_replicas: int
    hourly_cost_usd: float
    monthly_cost_usd: float
    on_demand_monthly_cost_usd: float       # the part bought on demand
    spot_monthly_cost_usd: float            # the part bought as spot
    all_on_demand_monthly_cost_usd: float   # the same replicas all on demand, at catalog prices
    spot_savings_monthly_usd: float
    previous_monthly_cost_usd: float
    delta_monthly_cost_usd: float
    change: str
    peak_rps: float
    predicted_rps_per_replica: float
    utilization_at_peak: float | None       # peak load / (replicas × predicted capacity)
    predicted_p95_latency_ms: float
    slo_p95_latency_ms: float
    success_probability: float | None
    confidence: float | None
    budget_monthly_usd: float | None
    budget_status: str | None
    explanation: tuple[str, ...]
    runners_up: tuple[RunnerUp, ...]
    rationale_recorded: bool

    def to_dict(self) -> dict:
        data = {k: getattr(self, k) for k in self.__dataclass_fields__ if k not in ("explanation", "runners_up")}
        data["explanation"] = list(self.explanation)
        data["runners_up"] = [r.to_dict() for r in self.runners_up]
        return data


@dataclass(frozen=True, kw_only=True)
class GroupLine:
    """A team, cloud or region: its cost, its share of models and (teams) its budget."""

    name: str
    models: int
    monthly_cost_usd: float
    previous_monthly_cost_usd: float
    delta_monthly_cost_usd: float
    budget_monthly_usd: float | None = None
    budget_status: str | None = None

    def to_dict(self) -> dict:
        return {"name": self.name, "models": self.models, "monthly_cost_usd": self.monthly_cost_usd,
                "previous_monthly_cost_usd": self.previous_monthly_cost_usd,
                "delta_monthly_cost_usd": self.delta_monthly_cost_usd,
                "budget_monthly_usd": self.budget_monthly_usd, "budget_status": self.budget_status}


@dataclass(frozen=True, kw_only=True)
class SpotSplit:
    on_demand_monthly_cost_usd: float
    spot_monthly_cost_usd: float
    all_on_demand_monthly_cost_usd: float
    spot_savings_monthly_usd: float
    spot_models: int
    on_demand_models: int

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True, kw_only=True)
class VersionPoint:
    number: int
    reason: str
    created_at: str
    monthly_cost_usd: float
    restores: int | None     # set on a rollback: the version whose decisions it restored
    applied: bool

    @property
    def is_rollback(self) -> bool:
        return self.restores is not None

    def to_dict(self) -> dict:
        return {"version": self.number, "reason": self.reason, "created_at": self.created_at,
                "monthly_cost_usd": self.monthly_cost_usd, "rollback": self.is_rollback,
                "restores": self.restores, "applied": self.applied}


@dataclass(frozen=True, kw_only=True)
class Observed:
    """What ingested logs say a deployed placement really cost."""

    windows: int
    hours: float
    cost_usd: float


@dataclass(frozen=True, kw_only=True)
class ActualLine:
    model: str
    windows: int
    hours: float
    observed_hourly_cost_usd: float
    predicted_hourly_cost_usd: float
    observed_monthly_cost_usd: float
    predicted_monthly_cost_usd: float
    error_pct: float | None   # (observed − predicted) / predicted

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True, kw_only=True)
class Actuals:
    available: bool
    note: str
    models: tuple[ActualLine, ...] = ()

    def to_dict(self) -> dict:
        return {"available": self.available, "note": self.note, "models": [m.to_dict() for m in self.models]}


@dataclass(frozen=True, kw_only=True)
class Assumptions:
    hours_per_month: float
    currency: str
    catalog_version: str          # what the plan was priced with
    catalog_price_date: str | None
    catalog_source: str
    price_catalog_version: str    # what spot savings were looked up in
    discounts: tuple[str, ...]
    near_budget_fraction: float
    not_included: tuple[str, ...]
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"hours_per_month": self.hours_per_month, "currency": self.currency,
                "catalog_version": self.catalog_version, "catalog_price_date": self.catalog_price_date,
                "catalog_source": self.catalog_source, "price_catalog_version": self.price_catalog_version,
                "discounts": list(self.discounts), "near_budget_fraction": self.near_budget_fraction,
                "not_included": list(self.not_included), "notes": list(self.notes)}


@dataclass(frozen=True, kw_only=True)
class Report:
    stack: str
    version: int
    reason: str
    created_at: str
    author: str
    applied: bool
    compared_version: int | None
    model_version: str | None
    total_monthly_cost_usd: float
    previous_total_monthly_cost_usd: float
    delta_monthly_cost_usd: float
    delta_pct: float | None
    stack_budget_monthly_usd: float | None
    stack_budget_status: str | None
    spot: SpotSplit
    models: tuple[ModelLine, ...]
    teams: tuple[GroupLine, ...]
    clouds: tuple[GroupLine, ...]
    regions: tuple[GroupLine, ...]
    change: CostChange
    versions: tuple[VersionPoint, ...]
    actuals: Actuals
    assumptions: Assumptions

    def budget_counts(self) -> dict[str, int]:
        out = {OVER: 0, NEAR: 0, UNDER: 0}
        for line in (*self.models, *self.teams):
            if line.budget_status:
                out[line.budget_status] += 1
        return out


# -- building a report -----------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class ReportInputs:
    """Everything a report is computed from, already read and parsed."""

    stack: str
    version: int
    reason: str
    created_at: str
    author: str
    applied: bool
    plan: DeploymentPlan
    compared_version: int | None
    compared_plan: DeploymentPlan | None
    catalog: Catalog
    catalog_price_date: str | None = None
    history: Sequence[VersionPoint] = ()
    model_budgets: Mapping[str, float] = field(default_factory=dict)
    team_budgets: Mapping[str, float] = field(default_factory=dict)
    stack_budget: float | None = None
    rationale: Mapping[str, Rationale] | None = None   # None: not recorded for this version
    observed: Mapping[str, Observed] | None = None     # None: no ingested logs at all
    observed_note: str = ""
    notes: tuple[str, ...] = ()


def build_report(inp: ReportInputs) -> Report:
    plan, prior = inp.plan, inp.compared_plan
    before_label = f"v{inp.compared_version}" if inp.compared_version else "(nothing)"
    change = cost_change(prior, plan, before_label=before_label, after_label=f"v{inp.version}")
    kinds = {c.model: c.change for c in change.models}
    old = {d.name: model_monthly_cents(d.choice) for d in (prior.deployments if prior else ())}
    notes = list(inp.notes)
    prices = _catalog_prices(inp.catalog)
    models = tuple(_model_line(d, inp, prices, old.get(d.name, 0), kinds.get(d.name, "unchanged"), notes)
                   for d in plan.deployments)
    models = tuple(sorted(models, key=lambda m: (-m.monthly_cost_usd, m.name)))
    total_c = sum(cents(m.monthly_cost_usd) for m in models)
    prev_c = sum(old.values())
    teams = _groups(plan, prior, lambda d: d.team or UNASSIGNED_TEAM, inp.team_budgets)
    if inp.rationale is None:
        notes.append(f"runners-up and explanations were not recorded with version {inp.version} (planned before "
                     "roost kept them); re-plan to see them")
    clouds = _groups(plan, prior, lambda d: d.choice.cloud.value, {})
    regions = _groups(plan, prior, lambda d: f"{d.choice.cloud.value}/{d.choice.region}", {})
    missing = sorted(set(inp.team_budgets) - {t.name for t in teams})
    if missing:
        notes.append(f"roost:budgets names team(s) with no model in this version: {', '.join(missing)}")
    return Report(
        stack=inp.stack, version=inp.version, reason=inp.reason, created_at=inp.created_at, author=inp.author,
        applied=inp.applied, compared_version=inp.compared_version, model_version=plan.model_version,
        total_monthly_cost_usd=usd(total_c), previous_total_monthly_cost_usd=usd(prev_c),
        delta_monthly_cost_usd=usd(total_c - prev_c), delta_pct=pct(total_c - prev_c, prev_c),
        stack_budget_monthly_usd=inp.stack_budget, stack_budget_status=budget_status(usd(total_c), inp.stack_budget),
        spot=_spot_split(models), models=models, teams=teams, clouds=clouds, regions=regions, change=change,
        versions=tuple(inp.history), actuals=_actuals(plan, inp), assumptions=_assumptions(inp, notes),
    )


def _catalog_prices(catalog: Catalog) -> dict[tuple[str, str, str, str | None], float]:
    return {(o.cloud.value, o.region, o.instance_type, o.accelerator): o.price_hour_usd for o in catalog}


def _model_line(d: Deployment, inp: ReportInputs, prices: Mapping[tuple, float], prev_c: int, change: str,
                notes: list[str]) -> ModelLine:
    c = d.choice
    monthly_c = model_monthly_cents(c)
    spot = c.purchase is Purchase.SPOT
    od_replicas, od_c, all_od_c = c.replicas, monthly_c, monthly_c  # on demand: no split, no saving
    if spot:
        od_unit = prices.get((c.cloud.value, c.region, c.instance_type, c.accelerator))
        if od_unit is None:
            # Not in this catalog (retired, or a user's catalog): the on-demand price recorded with the plan.
            od_unit = (c.on_demand_hourly_cost_usd or c.hourly_cost_usd) / max(c.replicas, 1)
            notes.append(f"{d.name}: {c.cloud.value}/{c.region} {c.instance_type} is not in catalog "
                         f"{inp.catalog.version}; its on-demand price is the one recorded with the plan")
        od_replicas = c.on_demand_base
        od_c = min(monthly_c, cents(od_replicas * od_unit * HOURS_PER_MONTH))
        all_od_c = max(monthly_c, cents(c.replicas * od_unit * HOURS_PER_MONTH))
    capacity = c.replicas * c.predicted_rps_per_replica
    why = (inp.rationale or {}).get(d.name)
    model_budget = inp.model_budgets.get(d.name)
    return ModelLine(
        name=d.name, team=d.team or UNASSIGNED_TEAM, cloud=c.cloud.value, region=c.region,
        instance_type=c.instance_type, accelerator=c.accelerator, accelerator_count=c.accelerator_count,
        purchase=c.purchase.value, replicas=c.replicas, min_replicas=c.min_replicas, max_replicas=c.max_replicas,
        on_demand_replicas=od_replicas, spot_replicas=c.replicas - od_replicas,
        hourly_cost_usd=round(c.hourly_cost_usd, 6), monthly_cost_usd=usd(monthly_c),
        on_demand_monthly_cost_usd=usd(od_c), spot_monthly_cost_usd=usd(monthly_c - od_c),
        all_on_demand_monthly_cost_usd=usd(all_od_c), spot_savings_monthly_usd=usd(all_od_c - monthly_c),
        previous_monthly_cost_usd=usd(prev_c), delta_monthly_cost_usd=usd(monthly_c - prev_c), change=change,
        peak_rps=d.peak_rps, predicted_rps_per_replica=c.predicted_rps_per_replica,
        utilization_at_peak=round(d.peak_rps / capacity, 4) if capacity > 0 else None,
        predicted_p95_latency_ms=c.predicted_p95_latency_ms, slo_p95_latency_ms=d.slo_p95_latency_ms,
        success_probability=c.success_probability, confidence=why.confidence if why else None,
        budget_monthly_usd=model_budget, budget_status=budget_status(usd(monthly_c), model_budget),
        explanation=why.explanation if why else (), runners_up=_runners_up(c, why) if why else (),
        rationale_recorded=why is not None,
    )


def _runners_up(chosen: Choice, why: Rationale) -> tuple[RunnerUp, ...]:
    chosen_c = model_monthly_cents(chosen)
    out = []
    for alt, feasible, reason in zip(why.alternatives, why.alternative_feasible, why.alternative_reasons):
        alt_c = model_monthly_cents(alt)
        out.append(RunnerUp(cloud=alt.cloud.value, region=alt.region, instance_type=alt.instance_type,
                            accelerator=alt.accelerator, purchase=alt.purchase.value, replicas=alt.replicas,
                            monthly_cost_usd=usd(alt_c), delta_monthly_cost_usd=usd(alt_c - chosen_c),
                            feasible=feasible, reason=reason))
    return tuple(out)


def _groups(plan: DeploymentPlan, prior: DeploymentPlan | None, key, budgets: Mapping[str, float],
            ) -> tuple[GroupLine, ...]:
    now: dict[str, int] = defaultdict(int)
    count: dict[str, int] = defaultdict(int)
    before: dict[str, int] = defaultdict(int)
    for d in plan.deployments:
        now[key(d)] += model_monthly_cents(d.choice)
        count[key(d)] += 1
    for d in prior.deployments if prior else ():
        before[key(d)] += model_monthly_cents(d.choice)
    # Groups only the compared version had stay, at $0, so group deltas add up to the total delta.
    lines = [GroupLine(name=k, models=count[k], monthly_cost_usd=usd(now[k]), previous_monthly_cost_usd=usd(before[k]),
                       delta_monthly_cost_usd=usd(now[k] - before[k]), budget_monthly_usd=budgets.get(k),
                       budget_status=budget_status(usd(now[k]), budgets.get(k)))
             for k in (*now, *(k for k in before if k not in now))]
    return tuple(sorted(lines, key=lambda g: (-g.monthly_cost_usd, -g.previous_monthly_cost_usd, g.name)))


def _spot_split(models: Iterable[ModelLine]) -> SpotSplit:
    models = list(models)
    od = sum(cents(m.on_demand_monthly_cost_usd) for m in models)
    spot = sum(cents(m.spot_monthly_cost_usd) for m in models)
    all_od = sum(cents(m.all_on_demand_monthly_cost_usd) for m in models)
    return SpotSplit(on_demand_monthly_cost_usd=usd(od), spot_monthly_cost_usd=usd(spot),
                     all_on_demand_monthly_cost_usd=usd(all_od), spot_savings_monthly_usd=usd(all_od - od - spot),
                     spot_models=sum(m.purchase == Purchase.SPOT.value for m in models),
                     on_demand_models=sum(m.purchase != Purchase.SPOT.value for m in models))


def _actuals(plan: DeploymentPlan, inp: ReportInputs) -> Actuals:
    if inp.observed is None:
        return Actuals(available=False, note=inp.observed_note or "no deployment logs have been ingested")
    lines = []
    for d in plan.deployments:
        seen = inp.observed.get(d.name)
        if seen is None or seen.hours <= 0:
            continue
        observed_h = seen.cost_usd / seen.hours
        predicted_h = d.choice.hourly_cost_usd
        lines.append(ActualLine(
            model=d.name, windows=seen.windows, hours=round(seen.hours, 2),
            observed_hourly_cost_usd=round(observed_h, 4), predicted_hourly_cost_usd=round(predicted_h, 4),
            observed_monthly_cost_usd=usd(cents(observed_h * HOURS_PER_MONTH)),
            predicted_monthly_cost_usd=usd(model_monthly_cents(d.choice)),
            error_pct=pct(observed_h - predicted_h, predicted_h)))
    if not lines:
        return Actuals(available=False, note=inp.observed_note or "the ingested deployment logs hold no windows "
                       "for the placements of this version")
    return Actuals(available=True, note=inp.observed_note, models=tuple(lines))


def discounts_of(catalog_version: str) -> tuple[str, ...]:
    """Discounts a catalog version id names (``…+disc(aws-15,gcp-10)`` → ("aws 15%", "gcp 10%"))."""
    if "+disc(" not in catalog_version:
        return ()
    inner = catalog_version.split("+disc(", 1)[1].rstrip(")")
    out = []
    for part in inner.split(","):
        cloud, _, value = part.partition("-")
        out.append(f"{cloud} {value}%" if value else part)
    return tuple(out)


def _assumptions(inp: ReportInputs, notes: list[str]) -> Assumptions:
    if inp.catalog.version != inp.plan.catalog_version:
        notes.append(f"the plan was priced with catalog {inp.plan.catalog_version}; on-demand prices for the "
                     f"spot savings come from catalog {inp.catalog.version}")
    return Assumptions(hours_per_month=HOURS_PER_MONTH, currency="USD", catalog_version=inp.plan.catalog_version,
                       catalog_price_date=inp.catalog_price_date, catalog_source=inp.catalog.source,
                       price_catalog_version=inp.catalog.version, discounts=discounts_of(inp.plan.catalog_version),
                       near_budget_fraction=NEAR_BUDGET_FRACTION, not_included=NOT_INCLUDED, notes=tuple(notes))
