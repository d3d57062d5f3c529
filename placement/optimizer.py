"""Enumerate → predict → size → filter → rank → choose, for any predictor.

The choice is the cheapest sized candidate whose predictions meet the SLO, the success
threshold, the budget and ``max_replicas``; ties break on (cloud, region, instance type,
purchase) so the same inputs always give the same decision. Spot ``prefer`` ranks every
feasible spot candidate before on-demand ones.

A model has hundreds of candidates and a fleet may have a thousand models, so sizing,
filtering and ranking run over numpy arrays (``_size_arrays`` is ``sizing.size_choice``
over arrays; a test keeps them equal), and ``Scored`` objects with a full ``Choice`` are
built only for the candidates a placement reports: the winner, its alternatives and the
cheapest rejects. Predictors that can answer with arrays (``ArrayPredictor``) skip the
per-candidate ``Prediction`` objects too.
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from placement.candidates import Candidate, CatalogOfferings, Enumeration, enumerate_candidates, scope_label
from placement.catalog import Catalog
from placement.errors import InfeasibleError
from placement.predictor import ArrayPredictor, BatchPredictor, Prediction, Predictor, margin_for
from placement.sizing import size_choice, spot_headroom
from placement.types import (
    HOURS_PER_MONTH,
    Alternative,
    Choice,
    Cloud,
    Fleet,
    ModelSpec,
    Offering,
    Placement,
    Purchase,
    Recommendation,
    SpotPolicy,
)

MIN_SUCCESS_PROBABILITY = 0.90
MAX_ALTERNATIVES = 5

Explain = Callable[[ModelSpec, "Scored", Sequence["Scored"]], tuple[str, ...]]
# ``Explain`` over many placements at once, for explainers that batch their work (TreeSHAP).
ExplainBatch = Callable[[Sequence[tuple[ModelSpec, "Scored", Sequence["Scored"]]]], Sequence[tuple[str, ...]]]


@dataclass(frozen=True)
class Scored:
    candidate: Candidate
    prediction: Prediction
    choice: Choice | None
    rejection: str | None  # None when feasible

    @property
    def feasible(self) -> bool:
        return self.rejection is None


# Rejection codes, in the order the checks apply (the first failing check is the reason).
_OK, _IDLE, _SUCCESS, _P95, _MAX_REPLICAS, _BUDGET = range(6)


@dataclass(frozen=True)
class _Table:
    """Every candidate of one model, predicted and sized, as parallel arrays."""

    spec: ModelSpec
    candidates: tuple[Candidate, ...]
    rps: np.ndarray
    p95: np.ndarray
    success: np.ndarray
    predictions: Sequence[Prediction] | None  # when the predictor returned objects
    replicas: np.ndarray
    monthly: np.ndarray
    code: np.ndarray
    throughput_margin: float
    arrays: _OfferingArrays
    pos: np.ndarray    # catalog position of each candidate's offering
    spot: np.ndarray   # purchase is spot

    def __len__(self) -> int:
        return len(self.candidates)

    def prediction(self, i: int) -> Prediction:
        if self.predictions is not None:
            return self.predictions[i]
        return Prediction(rps_per_replica=float(self.rps[i]), p95_latency_ms=float(self.p95[i]),
                          success_probability=float(self.success[i]))

    def scored(self, i: int) -> Scored:
        cand = self.candidates[i]
        pred = self.prediction(i)
        if self.code[i] == _IDLE:
            return Scored(cand, pred, None, f"p95 {pred.p95_latency_ms:,.0f} ms even when idle > "
                                            f"SLO {self.spec.slo_p95_latency_ms:g} ms")
        choice = size_choice(self.spec, cand.offering, cand.purchase, pred,
                             throughput_margin=self.throughput_margin)
        return Scored(cand, pred, choice, _rejection(self.spec, choice, pred))


class _LazyScored(Sequence[Scored]):
    """A read-only list of ``Scored`` built on first access, in a given order."""

    def __init__(self, table: _Table, order: np.ndarray):
        self._table = table
        self._order = order
        self._cache: dict[int, Scored] = {}

    def __len__(self) -> int:
        return len(self._order)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        if index not in self._cache:
            self._cache[index] = self._table.scored(int(self._order[index]))
        return self._cache[index]


def _predict(predictor: Predictor, spec: ModelSpec, enum: Enumeration,
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, Sequence[Prediction] | None]:
    cands = enum.candidates
    offerings, purchases = _offerings(enum), _purchases(enum)
    if isinstance(predictor, ArrayPredictor):
        rps, p95, success = predictor.predict_arrays(spec.profile, offerings, purchases)
        return (np.asarray(rps, dtype=float), np.asarray(p95, dtype=float), np.asarray(success, dtype=float),
                None)
    preds = predictor.predict(spec.profile, offerings, purchases)
    if len(preds) != len(cands):
        raise ValueError(f"predictor returned {len(preds)} predictions for {len(cands)} candidates")
    rps = np.fromiter((p.rps_per_replica for p in preds), dtype=float, count=len(preds))
    p95 = np.fromiter((p.p95_latency_ms for p in preds), dtype=float, count=len(preds))
    success = np.fromiter((p.success_probability for p in preds), dtype=float, count=len(preds))
    return rps, p95, success, preds


def _replicas_for(load: float, capacity: np.ndarray) -> np.ndarray:
    # sizing.replicas_for_peak over arrays (same epsilon).
    return np.maximum(1.0, np.ceil(load / capacity - 1e-9))


class _OfferingArrays:
    """Per-offering figures the sizing and ranking read, as arrays indexed by catalog position."""

    def __init__(self, offerings: tuple[Offering, ...]):
        self.offerings = offerings  # held so that the ids below stay valid
        self.position = {id(o): i for i, o in enumerate(offerings)}
        self.price = np.array([o.price_hour_usd for o in offerings], dtype=float)
        self.spot_price = np.array([o.spot_price_hour_usd or o.price_hour_usd for o in offerings], dtype=float)
        self.headroom = np.array([spot_headroom(o) for o in offerings], dtype=float)
        self.cloud_code = np.array([list(Cloud).index(o.cloud) for o in offerings], dtype=np.int64)
        # Dense rank of (cloud, region, instance type): the name part of the tie-break.
        keys = [(o.cloud.value, o.region, o.instance_type) for o in offerings]
        dense = {k: r for r, k in enumerate(sorted(set(keys)))}
        self.name_rank = np.array([dense[k] for k in keys], dtype=np.int64)

    def positions(self, cands: Sequence[Candidate]) -> np.ndarray:
        pos = self.position
        return np.fromiter((pos[id(c.offering)] for c in cands), dtype=np.int64, count=len(cands))


_ARRAYS: dict[int, _OfferingArrays] = {}


def _offering_arrays(catalog: Catalog, enum: Enumeration) -> tuple[_OfferingArrays, np.ndarray]:
    """The catalog's arrays (built once per catalog object) and each candidate's position in them."""
    cands = enum.candidates
    cached = _ARRAYS.get(id(catalog.offerings))
    if cached is None or cached.offerings is not catalog.offerings:
        if len(_ARRAYS) >= 8:
            _ARRAYS.clear()
        cached = _ARRAYS[id(catalog.offerings)] = _OfferingArrays(catalog.offerings)
    if isinstance(enum.offerings, CatalogOfferings) and enum.offerings.catalog_offerings is cached.offerings:
        return cached, enum.offerings.positions
    try:
        return cached, cached.positions(cands)
    except KeyError:  # candidates not drawn from this catalog object
        own = _OfferingArrays(tuple(c.offering for c in cands))
        return own, np.arange(len(cands))


def _size_arrays(spec: ModelSpec, arrays: _OfferingArrays, pos: np.ndarray, spot: np.ndarray, rps: np.ndarray,
                 margin: float) -> tuple[np.ndarray, np.ndarray]:
    """(replicas, hourly cost) of ``sizing.size_choice`` for every candidate with rps > 0."""
    price = arrays.price[pos]
    spot_price = arrays.spot_price[pos]
    headroom = arrays.headroom[pos]
    n = len(pos)
    with np.errstate(divide="ignore", invalid="ignore"):
        capacity = rps * margin
        needed = _replicas_for(spec.load.peak_rps, capacity)
        needed = np.where(spot, np.maximum(needed + 1, np.ceil(needed * (1 + headroom))), needed)
        replicas = np.maximum(float(spec.min_replicas), needed)
        floor = np.full(n, float(spec.min_replicas))
        if spec.load.mean_rps:
            floor = np.maximum(floor, _replicas_for(spec.load.mean_rps, capacity))
        min_replicas = np.minimum(replicas, floor)
        on_demand_base = np.zeros(n)
        if spec.spot is SpotPolicy.ALLOW:
            on_demand_base = np.where(spot, np.maximum(1.0, np.ceil(min_replicas / 2)), 0.0)
        # inf replicas where rps is 0; those are rejected anyway
        hourly = np.where(spot, on_demand_base * price + (replicas - on_demand_base) * spot_price,
                          replicas * price)
    return replicas, hourly


def _enumerate(spec: ModelSpec, catalog: Catalog) -> Enumeration:
    enum = enumerate_candidates(spec, catalog)
    if not enum.candidates:
        raise InfeasibleError(spec.name, enum.binding_constraint or "nothing fits")
    return enum


def _table(spec: ModelSpec, catalog: Catalog, predictor: Predictor, enum: Enumeration | None = None,
           predicted: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> _Table:
    """Every candidate predicted, sized and checked; ``enum`` and ``predicted`` when the caller
    has them already (a fleet predicted in batches)."""
    enum = enum if enum is not None else _enumerate(spec, catalog)
    cands = enum.candidates
    if predicted is None:
        rps, p95, success, preds = _predict(predictor, spec, enum)
    else:
        rps, p95, success = (np.asarray(a, dtype=float) for a in predicted)
        preds = None
    margin = margin_for(predictor, spec.profile)
    arrays, pos = _offering_arrays(catalog, enum)
    spot = enum.spot if enum.spot is not None else np.fromiter((c.purchase is Purchase.SPOT for c in cands),
                                                                dtype=bool, count=len(cands))
    replicas, hourly = _size_arrays(spec, arrays, pos, spot, rps, margin)
    monthly = hourly * HOURS_PER_MONTH
    code = np.full(len(cands), _OK)
    checks = [
        (_BUDGET, monthly > spec.budget_monthly_usd if spec.budget_monthly_usd is not None else None),
        (_MAX_REPLICAS, replicas > spec.max_replicas if spec.max_replicas is not None else None),
        (_P95, p95 > spec.slo_p95_latency_ms),
        (_SUCCESS, success < MIN_SUCCESS_PROBABILITY),
        (_IDLE, ~(rps > 0)),
    ]
    for value, mask in checks:  # reversed priority: the earliest check overwrites later ones
        if mask is not None:
            code = np.where(mask, value, code)
    return _Table(spec=spec, candidates=cands, rps=rps, p95=p95, success=success, predictions=preds,
                  replicas=replicas, monthly=monthly, code=code, throughput_margin=margin, arrays=arrays, pos=pos,
                  spot=spot)


def _rank_order(table: _Table, indices: np.ndarray) -> np.ndarray:
    """``indices`` sorted by ``rank_key``: spot-prefer rank, cost, then names (stable)."""
    prefer = np.zeros(len(indices))
    if table.spec.spot is SpotPolicy.PREFER:
        prefer = (~table.spot[indices]).astype(float)
    cost = np.round(table.monthly[indices], 6)
    # "on_demand" sorts before "spot", as the purchase values do.
    order = np.lexsort((table.spot[indices], table.arrays.name_rank[table.pos[indices]], cost, prefer))
    return indices[order]


def score_candidates(spec: ModelSpec, catalog: Catalog, predictor: Predictor) -> list[Scored]:
    """Every enumerated candidate, predicted and sized, with the constraint it violates if any.

    Raises InfeasibleError when enumeration leaves nothing to predict.
    """
    table = _table(spec, catalog, predictor)
    return [table.scored(i) for i in range(len(table))]


def _rejection(spec: ModelSpec, choice: Choice, pred: Prediction) -> str | None:
    # Figures are rounded away from the threshold, so a reason never reads "90% < 90%".
    if pred.success_probability < MIN_SUCCESS_PROBABILITY:
        shown = math.floor(pred.success_probability * 1000) / 1000
        return f"predicted success {shown:.1%} < {MIN_SUCCESS_PROBABILITY:.0%}"
    if pred.p95_latency_ms > spec.slo_p95_latency_ms:
        return f"p95 {math.ceil(pred.p95_latency_ms):,} ms > SLO {spec.slo_p95_latency_ms:g} ms"
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


_REASON_WORDS = {
    _IDLE: "miss the SLO even when idle",
    _SUCCESS: f"predicted success < {MIN_SUCCESS_PROBABILITY:.0%}",
    _P95: "predicted p95 > SLO",
    _MAX_REPLICAS: "need more than max_replicas",
    _BUDGET: "over budget",
}


def _cheaper_rejections(table: _Table, best: int) -> str | None:
    """'38 cheaper candidates rejected: 30 predicted p95 > SLO, 8 …' — the runners-up's binding constraints."""
    cheaper = (table.code != _OK) & np.isfinite(table.monthly) & (table.monthly < table.monthly[best])
    if not cheaper.any():
        return None
    counts = Counter(int(c) for c in table.code[cheaper])
    parts = ", ".join(f"{n} {_REASON_WORDS[c]}" for c, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return f"{int(cheaper.sum())} cheaper candidates rejected: {parts}"


@dataclass(frozen=True)
class _Decision:
    """A placement before its explanation: what ``place`` decides, what explaining needs."""

    spec: ModelSpec
    best: Scored
    feasible: _LazyScored
    alternatives: tuple[Alternative, ...]
    rejected: str | None
    confidence: float
    considered: int

    def placement(self, explanation: tuple[str, ...]) -> Placement:
        assert self.best.choice is not None
        if self.rejected:
            explanation = (*explanation, self.rejected)
        return Placement(model=self.spec.name, chosen=self.best.choice, alternatives=self.alternatives,
                         explanation=explanation, confidence=self.confidence,
                         candidates_considered=self.considered)


def _decide(spec: ModelSpec, catalog: Catalog, predictor: Predictor, enum: Enumeration | None = None,
            predicted: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> _Decision:
    table = _table(spec, catalog, predictor, enum, predicted)
    feasible_idx = np.flatnonzero(table.code == _OK)
    if not len(feasible_idx):
        raise InfeasibleError(spec.name, _binding_constraint(spec, [table.scored(i) for i in range(len(table))]))
    order = _rank_order(table, feasible_idx)
    feasible = _LazyScored(table, order)
    best = feasible[0]
    assert best.choice is not None
    return _Decision(spec=spec, best=best, feasible=feasible, alternatives=_alternatives(table, order, feasible),
                     rejected=_cheaper_rejections(table, int(order[0])), confidence=_confidence(best, feasible),
                     considered=len(table))


def place(spec: ModelSpec, catalog: Catalog, predictor: Predictor, explain: Explain | None = None) -> Placement:
    decision = _decide(spec, catalog, predictor)
    return decision.placement((explain or default_explanation)(spec, decision.best, decision.feasible))


def _alternatives(table: _Table, order: np.ndarray, feasible: _LazyScored) -> tuple[Alternative, ...]:
    """Best feasible option on each other cloud, then the next cheapest, then the cheapest reject."""
    best = feasible[0]
    assert best.choice is not None
    clouds = table.arrays.cloud_code[table.pos[order]]
    # The first feasible candidate on each other cloud (positions in ``order``).
    codes, first = np.unique(clouds[1:], return_index=True)
    picked = sorted(int(k) + 1 for code, k in zip(codes.tolist(), first.tolist()) if code != clouds[0])
    seen = {best.choice.key} | {feasible[k].choice.key for k in picked}  # type: ignore[union-attr]
    for k in range(1, len(order)):
        if len(picked) >= MAX_ALTERNATIVES - 1:
            break
        key = feasible[k].choice.key  # type: ignore[union-attr]
        if key not in seen:
            picked.append(k)
            seen.add(key)
    out = [Alternative(choice=feasible[k].choice, feasible=True,  # type: ignore[arg-type]
                       reason=_delta_reason(feasible[k].choice, best.choice))  # type: ignore[arg-type]
           for k in picked]
    rejects = np.flatnonzero((table.code != _OK) & (table.code != _IDLE)
                             & (table.monthly < best.choice.monthly_cost_usd))
    if len(rejects):
        s = table.scored(int(rejects[np.argmin(table.monthly[rejects])]))
        out.append(Alternative(choice=s.choice, feasible=False, reason=f"rejected: {s.rejection}"))  # type: ignore[arg-type]
    return tuple(out[:MAX_ALTERNATIVES])


def _delta_reason(alt: Choice, chosen: Choice) -> str:
    delta = alt.monthly_cost_usd - chosen.monthly_cost_usd
    return f"${delta:+,.0f}/month vs chosen" if abs(delta) >= 0.5 else "same cost; lost the tie-break"


def _confidence(best: Scored, feasible: Sequence[Scored]) -> float:
    """How clearly the winner wins: its success probability, discounted when runner-up is within 5%."""
    conf = best.prediction.success_probability
    if len(feasible) > 1 and best.choice and feasible[1].choice:
        gap = (feasible[1].choice.monthly_cost_usd - best.choice.monthly_cost_usd) / max(best.choice.monthly_cost_usd, 1e-9)
        conf *= 0.8 + 0.2 * min(1.0, gap / 0.05)
    return conf


def default_explanation(spec: ModelSpec, best: Scored, feasible: Sequence[Scored]) -> tuple[str, ...]:
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
    lines.append(sizing_line(spec, c))
    lines.append(f"cost: cheapest of {len(feasible)} feasible candidates at ${c.monthly_cost_usd:,.0f}/month "
                 f"({c.purchase.value.replace('_', '-')}, spot policy: {spec.spot.value})")
    return tuple(lines)


def sizing_line(spec: ModelSpec, c: Choice) -> str:
    sizing = f"replicas: {c.replicas} for peak {spec.load.peak_rps:g} rps"
    if c.purchase is Purchase.SPOT:
        sizing += " incl. spot interruption headroom"
        if c.on_demand_base:
            sizing += f", {c.on_demand_base} on-demand base"
    return sizing + f"; autoscaling {c.min_replicas}–{c.max_replicas}"


def _explained(decisions: Sequence[_Decision], explain: Explain | None,
               explain_batch: ExplainBatch | None) -> tuple[Placement, ...]:
    if explain_batch is not None:
        lines = explain_batch([(d.spec, d.best, d.feasible) for d in decisions])
    else:
        lines = [(explain or default_explanation)(d.spec, d.best, d.feasible) for d in decisions]
    return tuple(d.placement(tuple(text)) for d, text in zip(decisions, lines, strict=True))


# Models predicted per batch by predictors that batch (``BatchPredictor``): LightGBM's
# per-call overhead, paid four times per model, otherwise costs more than its predictions.
PREDICTION_BATCH = 64


def _decisions(models: Sequence[ModelSpec], catalog: Catalog, predictor: Predictor,
               on_progress: Callable[[int, int], None] | None) -> Iterator[_Decision | InfeasibleError]:
    """Each model's decision, or why it has none, in order."""
    batched = isinstance(predictor, BatchPredictor)
    step = PREDICTION_BATCH if batched else 1
    for start in range(0, len(models), step):
        chunk = models[start:start + step]
        enums: list[Enumeration | InfeasibleError] = []
        for spec in chunk:
            try:
                enums.append(_enumerate(spec, catalog))
            except InfeasibleError as exc:
                enums.append(exc)
        predicted: list[tuple[np.ndarray, np.ndarray, np.ndarray] | None] = [None] * len(chunk)
        if batched:
            live = [i for i, e in enumerate(enums) if isinstance(e, Enumeration)]
            answers = predictor.predict_arrays_many(  # type: ignore[union-attr]
                [(chunk[i].profile, _offerings(enums[i]), _purchases(enums[i])) for i in live])  # type: ignore[arg-type]
            for i, answer in zip(live, answers, strict=True):
                predicted[i] = answer
        for k, (spec, enum) in enumerate(zip(chunk, enums, strict=True)):
            if isinstance(enum, InfeasibleError):
                yield enum
            else:
                try:
                    yield _decide(spec, catalog, predictor, enum, predicted[k])
                except InfeasibleError as exc:
                    yield exc
            if on_progress:
                on_progress(start + k + 1, len(models))


def _offerings(enum: Enumeration) -> Sequence[Offering]:
    return enum.offerings or tuple(c.offering for c in enum.candidates)


def _purchases(enum: Enumeration) -> Sequence[Purchase]:
    return enum.purchases or tuple(c.purchase for c in enum.candidates)


def recommend(fleet: Fleet, catalog: Catalog, predictor: Predictor, explain: Explain | None = None,
              on_progress: Callable[[int, int], None] | None = None, *,
              explain_batch: ExplainBatch | None = None) -> Recommendation:
    """Place every model of a fleet; raise InfeasibleError for the first model with no placement.

    Use ``recommend_all`` to collect every infeasible model at once. ``explain_batch``, when
    given, explains every placement in one call instead of ``explain`` one by one.
    """
    decisions = []
    for outcome in _decisions(fleet.models, catalog, predictor, on_progress):
        if isinstance(outcome, InfeasibleError):
            raise outcome
        decisions.append(outcome)
    return Recommendation(catalog_version=catalog.version, model_version=predictor.version,
                          placements=_explained(decisions, explain, explain_batch))


def recommend_all(fleet: Fleet, catalog: Catalog, predictor: Predictor, explain: Explain | None = None,
                  on_progress: Callable[[int, int], None] | None = None, *,
                  explain_batch: ExplainBatch | None = None) -> tuple[Recommendation, list[InfeasibleError]]:
    decisions, failures = [], []
    for outcome in _decisions(fleet.models, catalog, predictor, on_progress):
        if isinstance(outcome, InfeasibleError):
            failures.append(outcome)
        else:
            decisions.append(outcome)
    rec = Recommendation(catalog_version=catalog.version, model_version=predictor.version,
                         placements=_explained(decisions, explain, explain_batch))
    return rec, failures


def choose_all(models: Sequence[ModelSpec], catalog: Catalog, predictor: Predictor,
               on_progress: Callable[[int, int], None] | None = None) -> Iterator[Choice | InfeasibleError]:
    """Each model's chosen configuration (or why it has none), in order, unexplained: what
    ``place(...).chosen`` gives one model at a time, batched like ``recommend``. For evaluations,
    which judge thousands of winners and read nothing else."""
    for outcome in _decisions(models, catalog, predictor, on_progress):
        if isinstance(outcome, InfeasibleError):
            yield outcome
        else:
            assert outcome.best.choice is not None
            yield outcome.best.choice
