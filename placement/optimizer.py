"""Enumerate → predict → size → filter → rank → choose, for any predictor.

The choice is the cheapest sized candidate whose predictions meet the SLO, the success
threshold, the budget and ``max_replicas``; ties break on (cloud, region, instance type,
purchase) so the same inputs always give the same decision. Spot ``prefer`` ranks every
feasible spot candidate before on-demand ones.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from placement.candidates import Candidate, enumerate_candidates, scope_label
from placement.catalog import Catalog
from placement.errors import InfeasibleError
from placement.predictor import Prediction, Predictor
from placement.sizing import size_choice
from placement.types import (
    Alternative, Choice, Fleet, ModelSpec, Placement, Purchase, Recommendation, SpotPolicy,
)

MIN_SUCCESS_PROBABILITY = 0.90
MAX_ALTERNATIVES = 5


@dataclass(frozen=True)
class Scored:
    candidate: Candidate
    prediction: Prediction
    choice: Choice | None
    rejection: str | None  # None when feasible

    @property
    def feasible(self) -> bool:
        return self.rejection is None


def score_candidates(spec: ModelSpec, catalog: Catalog, predictor: Predictor) -> list[Scored]:
    """Every enumerated candidate, predicted and sized, with the constraint it violates if any.

    Raises InfeasibleError when enumeration leaves nothing to predict.
    """
    enum = enumerate_candidates(spec, catalog)
    if not enum.candidates:
        raise InfeasibleError(spec.name, enum.binding_constraint or "nothing fits")
    cands = enum.candidates
    predictions = predictor.predict(spec.profile, [c.offering for c in cands], [c.purchase for c in cands])
    scored = []
    for cand, pred in zip(cands, predictions, strict=True):
        if pred.rps_per_replica <= 0:
            scored.append(Scored(cand, pred, None,
                                 f"p95 {pred.p95_latency_ms:,.0f} ms even when idle > SLO {spec.slo_p95_latency_ms:g} ms"))
            continue
        choice = size_choice(spec, cand.offering, cand.purchase, pred,
                             throughput_margin=predictor.throughput_margin)
        scored.append(Scored(cand, pred, choice, _rejection(spec, choice, pred)))
    return scored


def _rejection(spec: ModelSpec, choice: Choice, pred: Prediction) -> str | None:
    if pred.success_probability < MIN_SUCCESS_PROBABILITY:
        return f"predicted success {pred.success_probability:.0%} < {MIN_SUCCESS_PROBABILITY:.0%}"
    if pred.p95_latency_ms > spec.slo_p95_latency_ms:
        return f"p95 {pred.p95_latency_ms:,.0f} ms > SLO {spec.slo_p95_latency_ms:g} ms"
    if spec.max_replicas is not None and choice.replicas > spec.max_replicas:
        return f"needs {choice.replicas} replicas at peak > max_replicas {spec.max_replicas}"
    if spec.budget_monthly_usd is not None and choice.monthly_cost_usd > spec.budget_monthly_usd:
        return f"${choice.monthly_cost_usd:,.0f}/month > budget ${spec.budget_monthly_usd:,.0f}"
    return None


def rank_key(spec: ModelSpec) -> Callable[[Scored], tuple]:
    def key(s: Scored) -> tuple:
        assert s.choice is not None
        prefer_rank = 0
        if spec.spot is SpotPolicy.PREFER and s.choice.purchase is not Purchase.SPOT:
            prefer_rank = 1
        c = s.choice
        return (prefer_rank, round(c.monthly_cost_usd, 6), c.cloud.value, c.region, c.instance_type,
                c.purchase.value)
    return key


def _binding_constraint(spec: ModelSpec, scored: Sequence[Scored]) -> str:
    scope = scope_label(spec)
    sized = [s for s in scored if s.choice is not None]
    if not sized:
        best = min(scored, key=lambda s: s.prediction.p95_latency_ms)
        return (f"no offering in {scope} meets p95 ≤ {spec.slo_p95_latency_ms:g} ms "
                f"(best predicted: {best.prediction.p95_latency_ms:,.0f} ms on {best.candidate.offering.display_type})")
    reasons = [s.rejection or "" for s in sized]
    if all(r.startswith("predicted success") for r in reasons):
        return f"no offering in {scope} is predicted to succeed with ≥ {MIN_SUCCESS_PROBABILITY:.0%} probability"
    cheapest = min((s for s in sized), key=lambda s: s.choice.monthly_cost_usd)  # type: ignore[union-attr]
    if spec.max_replicas is not None and all(s.choice.replicas > spec.max_replicas for s in sized
                                             if not (s.rejection or "").startswith(("p95", "predicted"))):
        fewest = min(s.choice.replicas for s in sized)  # type: ignore[union-attr]
        return f"every offering in {scope} needs ≥ {fewest} replicas at peak, above max_replicas {spec.max_replicas}"
    if spec.budget_monthly_usd is not None:
        meets_slo = [s for s in sized if not (s.rejection or "").startswith(("p95", "predicted"))]
        if meets_slo:
            cheapest = min(meets_slo, key=lambda s: s.choice.monthly_cost_usd)  # type: ignore[union-attr]
            return (f"the cheapest placement in {scope} that meets the SLO costs "
                    f"${cheapest.choice.monthly_cost_usd:,.0f}/month, over budget_monthly_usd "  # type: ignore[union-attr]
                    f"${spec.budget_monthly_usd:,.0f}")
    return f"no offering in {scope} meets every constraint (cheapest rejected: {cheapest.rejection})"


def place(spec: ModelSpec, catalog: Catalog, predictor: Predictor,
          explain: Callable[[ModelSpec, Scored, list[Scored]], tuple[str, ...]] | None = None) -> Placement:
    scored = score_candidates(spec, catalog, predictor)
    feasible = sorted((s for s in scored if s.feasible), key=rank_key(spec))
    if not feasible:
        raise InfeasibleError(spec.name, _binding_constraint(spec, scored))
    best = feasible[0]
    assert best.choice is not None
    alternatives = _alternatives(spec, best, feasible, scored)
    explanation = (explain or default_explanation)(spec, best, feasible)
    confidence = _confidence(best, feasible)
    return Placement(model=spec.name, chosen=best.choice, alternatives=alternatives,
                     explanation=explanation, confidence=confidence, candidates_considered=len(scored))


def _alternatives(spec: ModelSpec, best: Scored, feasible: list[Scored], scored: list[Scored]) -> tuple[Alternative, ...]:
    """Best feasible option on each other cloud, then the next cheapest, then cheaper rejects."""
    assert best.choice is not None
    picked: list[Scored] = []
    seen = {best.choice.key}
    for s in feasible[1:]:
        if s.choice.cloud not in {p.choice.cloud for p in picked} | {best.choice.cloud}:  # type: ignore[union-attr]
            picked.append(s)
            seen.add(s.choice.key)  # type: ignore[union-attr]
    for s in feasible[1:]:
        if len(picked) >= MAX_ALTERNATIVES - 1:
            break
        if s.choice.key not in seen:  # type: ignore[union-attr]
            picked.append(s)
            seen.add(s.choice.key)  # type: ignore[union-attr]
    cheaper_rejects = sorted((s for s in scored if s.choice is not None and not s.feasible
                              and s.choice.monthly_cost_usd < best.choice.monthly_cost_usd),
                             key=lambda s: s.choice.monthly_cost_usd)  # type: ignore[union-attr]
    out = [Alternative(choice=s.choice, feasible=True,  # type: ignore[arg-type]
                       reason=_delta_reason(s.choice, best.choice)) for s in picked]  # type: ignore[arg-type]
    if cheaper_rejects:
        s = cheaper_rejects[0]
        out.append(Alternative(choice=s.choice, feasible=False, reason=f"rejected: {s.rejection}"))  # type: ignore[arg-type]
    return tuple(out[:MAX_ALTERNATIVES])


def _delta_reason(alt: Choice, chosen: Choice) -> str:
    delta = alt.monthly_cost_usd - chosen.monthly_cost_usd
    return f"${delta:+,.0f}/month vs chosen" if abs(delta) >= 0.5 else "same cost; lost the tie-break"


def _confidence(best: Scored, feasible: list[Scored]) -> float:
    """How clearly the winner wins: its success probability, discounted when runner-up is within 5%."""
    conf = best.prediction.success_probability
    if len(feasible) > 1 and best.choice and feasible[1].choice:
        gap = (feasible[1].choice.monthly_cost_usd - best.choice.monthly_cost_usd) / max(best.choice.monthly_cost_usd, 1e-9)
        conf *= 0.8 + 0.2 * min(1.0, gap / 0.05)
    return conf


def default_explanation(spec: ModelSpec, best: Scored, feasible: list[Scored]) -> tuple[str, ...]:
    c = best.choice
    o = best.candidate.offering
    assert c is not None
    lines = []
    if o.has_gpu:
        lines.append(f"memory: needs {spec.memory_gib:.1f} GiB; {o.display_type} has "
                     f"{o.total_gpu_memory_gib:g} GiB of {o.accelerator} memory")
    else:
        lines.append(f"memory: needs {spec.memory_gib:.1f} GiB; {o.instance_type} has {o.memory_gib:g} GiB RAM "
                     f"and {o.vcpus} vCPUs")
    lines.append(f"throughput: {c.predicted_rps_per_replica:,.2f} rps per replica at p95 "
                 f"{c.predicted_p95_latency_ms:,.0f} ms (SLO {spec.slo_p95_latency_ms:g} ms)")
    sizing = f"replicas: {c.replicas} for peak {spec.load.peak_rps:g} rps"
    if c.purchase is Purchase.SPOT:
        sizing += " incl. spot interruption headroom"
        if c.on_demand_base:
            sizing += f", {c.on_demand_base} on-demand base"
    lines.append(sizing + f"; autoscaling {c.min_replicas}–{c.max_replicas}")
    lines.append(f"cost: cheapest of {len(feasible)} feasible candidates at ${c.monthly_cost_usd:,.0f}/month "
                 f"({c.purchase.value.replace('_', '-')}, spot policy: {spec.spot.value})")
    return tuple(lines)


def recommend(fleet: Fleet, catalog: Catalog, predictor: Predictor,
              explain: Callable[[ModelSpec, Scored, list[Scored]], tuple[str, ...]] | None = None,
              on_progress: Callable[[int, int], None] | None = None) -> Recommendation:
    """Place every model of a fleet; raise InfeasibleError for the first model with no placement.

    Use ``recommend_all`` to collect every infeasible model at once.
    """
    placements = []
    for i, spec in enumerate(fleet.models):
        placements.append(place(spec, catalog, predictor, explain))
        if on_progress:
            on_progress(i + 1, len(fleet.models))
    return Recommendation(catalog_version=catalog.version, model_version=predictor.version,
                          placements=tuple(placements))


def recommend_all(fleet: Fleet, catalog: Catalog, predictor: Predictor,
                  explain: Callable[[ModelSpec, Scored, list[Scored]], tuple[str, ...]] | None = None,
                  ) -> tuple[Recommendation, list[InfeasibleError]]:
    placements, failures = [], []
    for spec in fleet.models:
        try:
            placements.append(place(spec, catalog, predictor, explain))
        except InfeasibleError as exc:
            failures.append(exc)
    rec = Recommendation(catalog_version=catalog.version, model_version=predictor.version,
                         placements=tuple(placements))
    return rec, failures
