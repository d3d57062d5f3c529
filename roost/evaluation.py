"""`roost evaluate`: the learned recommender against the simulator's ground truth.

Held-out profiles (sampled with their own seed, and checked to share no model profile
with the training history) are placed by each method over the full catalog, then judged
by the ``World`` the history was drawn from:

* **oracle** — the cheapest configuration that *truly* meets the SLO: the same optimizer,
  sizing rules, constraints and tie-breaks, fed the world's true capacity, latency and
  capacity-shortage risk instead of predictions;
* **learned** — the LightGBM models (``placement.learned``);
* **baseline** — the physics heuristic (``placement.baseline``);
* **hand rule** — what teams do by hand: the cheapest on-demand GPU instance that fits the
  model's memory (a CPU instance for CPU-only frameworks or ``accelerator: none``), sized
  2× over the roofline estimate.

A placement misses the SLO when the true capacity of its replicas falls short of the peak
load, i.e. the true p95 at peak load per replica exceeds the SLO (or the model does not
fit or run there). Failure rate is the expected share of deployments that never serve:
1 where the model OOMs or cannot run, else the world's capacity-shortage probability.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from history import world as W
from history.population import sample_specs
from placement.baseline import HeuristicPredictor
from placement.candidates import enumerate_candidates
from placement.catalog import Catalog
from placement.errors import InfeasibleError, InputError
from placement.learned.evaluate import Outcome, Summary, summarize
from placement.learned.identity import profile_keys
from placement.optimizer import choose_all
from placement.predictor import Prediction, Predictor
from placement.sizing import size_choice
from placement.types import AcceleratorPolicy, Choice, ModelProfile, ModelSpec, Offering, Purchase, SpotPolicy

DEFAULT_PROFILES = 300
DEFAULT_SEED = 7
CPU_FRAMEWORKS = frozenset(name for name, traits in W.FRAMEWORKS.items() if not traits.gpu)
HAND_RULE_OVERPROVISION = 2.0


class OraclePredictor:
    """The world's truth behind the ``Predictor`` seam: what a perfect model would say."""

    version = "oracle"
    throughput_margin = 1.0

    def __init__(self, world: W.World, specs: Sequence[ModelSpec]):
        self.world = world
        catalog = world.catalog.offerings
        self._position = {id(o): i for i, o in enumerate(catalog)}
        profiles = [s.profile for s in specs]
        self._row = {p: i for i, p in enumerate(profiles)}
        n_off = len(catalog)
        prof = W.profile_frame(profiles)
        prof_idx = np.repeat(np.arange(len(profiles)), n_off)
        off_idx = np.tile(np.arange(n_off), len(profiles))
        frame = prof.iloc[prof_idx].reset_index(drop=True)
        off = world.catalog_offerings.iloc[off_idx].reset_index(drop=True)
        model = world.service_model(frame, off)
        cap, _, p95, _ = W.capacity_and_latency(model)
        usable = model.fits & model.runs
        self._capacity = np.where(usable, cap, 0.0).reshape(len(profiles), n_off)
        self._p95 = np.nan_to_num(p95, nan=np.inf).reshape(len(profiles), n_off)
        self._fail = {Purchase.ON_DEMAND: W.capacity_failure_prob(world.catalog_offerings, np.zeros(n_off, bool)),
                      Purchase.SPOT: W.capacity_failure_prob(world.catalog_offerings, np.ones(n_off, bool))}
        self._usable = usable.reshape(len(profiles), n_off)

    def predict_arrays(self, profile: ModelProfile, offerings: Sequence[Offering], purchases: Sequence[Purchase]):
        row = self._row[profile]
        pos = np.fromiter((self._position[id(o)] for o in offerings), dtype=np.int64, count=len(offerings))
        spot = np.array([p is Purchase.SPOT for p in purchases])
        fail = np.where(spot, self._fail[Purchase.SPOT][pos], self._fail[Purchase.ON_DEMAND][pos])
        capacity = self._capacity[row, pos]
        # The deployment's risk at the replicas its peak needs (more machines, more to find).
        with np.errstate(divide="ignore", invalid="ignore"):
            replicas = np.where(capacity > 0, np.clip(np.ceil(profile.peak_rps / capacity - 1e-9), 1, 1e4), 1.0)
        success = np.where(self._usable[row, pos], 1.0 - W.deployment_failure_prob(fail, replicas), 0.0)
        return capacity, self._p95[row, pos], success

    def predict(self, profile, offerings, purchases) -> list[Prediction]:
        rps, p95, success = self.predict_arrays(profile, offerings, purchases)
        return [Prediction(rps_per_replica=float(r), p95_latency_ms=float(p), success_probability=float(s))
                for r, p, s in zip(rps, p95, success)]


def hand_rule_choice(spec: ModelSpec, catalog: Catalog) -> Choice:
    """The cheapest on-demand instance of the right kind that fits, sized 2× over the roofline."""
    cpu_only = spec.framework in CPU_FRAMEWORKS or spec.accelerator is AcceleratorPolicy.NONE
    manual = dataclasses.replace(spec, spot=SpotPolicy.NEVER,
                                 accelerator=AcceleratorPolicy.NONE if cpu_only else AcceleratorPolicy.REQUIRED)
    enum = enumerate_candidates(manual, catalog)
    if not enum.candidates:
        raise InfeasibleError(spec.name, enum.binding_constraint or "nothing fits")
    heuristic = HeuristicPredictor()
    for cand in sorted(enum.candidates, key=lambda c: (c.offering.price_hour_usd, c.offering.offering_id)):
        pred = heuristic.predict_one(spec.profile, cand.offering)
        if pred.rps_per_replica > 0:
            choice = size_choice(manual, cand.offering, Purchase.ON_DEMAND, pred,
                                 throughput_margin=1.0 / HAND_RULE_OVERPROVISION)
            if spec.max_replicas is None or choice.replicas <= spec.max_replicas:
                return choice
    raise InfeasibleError(spec.name, "no instance that fits is fast enough by the roofline estimate")


@dataclass(frozen=True)
class Judged:
    capacity_rps: np.ndarray
    p95_at_peak_ms: np.ndarray
    usable: np.ndarray
    failure: np.ndarray


def judge(world: W.World, specs: Sequence[ModelSpec], choices: Sequence[Choice]) -> Judged:
    """The world's verdict on each (spec, choice): true capacity, p95 at peak, failure risk."""
    prof = W.profile_frame([s.profile for s in specs])
    keys = pd.DataFrame({
        "cloud": [c.cloud.value for c in choices], "region": [c.region for c in choices],
        "instance_type": [c.instance_type for c in choices], "accelerator": [c.accelerator or "" for c in choices],
        "accelerator_count": [float(c.accelerator_count) if c.accelerator else 0.0 for c in choices],
    })
    off = world.lookup_offerings(keys)
    model = world.service_model(prof, off)
    cap = W.capacity(model)
    replicas = np.array([c.replicas for c in choices], dtype=float)
    peak = np.array([s.load.peak_rps for s in specs])
    _, p95, _ = W.latencies(model, peak / replicas)
    usable = model.fits & model.runs
    spot = np.array([c.purchase is Purchase.SPOT for c in choices])
    shortage = W.deployment_failure_prob(W.capacity_failure_prob(off, spot), replicas)
    return Judged(capacity_rps=cap, p95_at_peak_ms=np.nan_to_num(p95, nan=np.inf), usable=usable,
                  failure=np.where(usable, shortage, 1.0))


@dataclass(frozen=True)
class EvaluationResult:
    profiles: int
    seed: int
    excluded_seen_profiles: int
    oracle_placed: int
    summaries: tuple[Summary, ...]
    model_version: str | None
    catalog_version: str

    def to_dict(self) -> dict:
        return {
            "profiles": self.profiles, "seed": self.seed, "model_version": self.model_version,
            "catalog_version": self.catalog_version,
            "excluded_seen_profiles": self.excluded_seen_profiles, "oracle_placed": self.oracle_placed,
            "methods": [s.to_dict() for s in self.summaries],
        }


def held_out_specs(n: int, seed: int, training_log: pd.DataFrame | None) -> tuple[list[ModelSpec], int]:
    """``n`` specs sampled with ``seed``, minus any whose model profile occurs in the training log."""
    specs = sample_specs(n, seed=seed)
    if training_log is None or training_log.empty:
        return specs, 0
    seen = set(profile_keys(training_log).tolist())
    keys = profile_keys(W.profile_frame([s.profile for s in specs]))
    kept = [s for s, k in zip(specs, keys) if k not in seen]
    return kept, len(specs) - len(kept)


Method = Predictor | Callable[[ModelSpec, Catalog], Choice]
# Sizing margins tried on the physics baseline to find where it misses no more than the learned
# recommender does (the "equal miss rate" the cost comparison is made at).
BASELINE_MARGINS = (1.0, 0.8, 0.65, 0.5, 0.4, 0.3, 0.25, 0.2, 0.15, 0.1, 0.05)


def _place_all(method: Method, specs: Sequence[ModelSpec], catalog: Catalog,
               tick: Callable[[], None] | None = None) -> dict[str, Choice]:
    placed: dict[str, Choice] = {}
    if callable(method) and not hasattr(method, "predict"):
        for spec in specs:
            try:
                placed[spec.name] = method(spec, catalog)  # type: ignore[call-arg]
            except InfeasibleError:
                pass
            if tick:
                tick()
        return placed
    # The optimizer's batched path (a learned predictor answers many models per call).
    progress = (lambda done, total: tick()) if tick else None
    for spec, outcome in zip(specs, choose_all(specs, catalog, method, progress), strict=True):  # type: ignore[arg-type]
        if not isinstance(outcome, InfeasibleError):
            placed[spec.name] = outcome
    return placed


def _judge_all(world: W.World, specs: Sequence[ModelSpec], placed: dict[str, Choice],
               oracle_cost: dict[str, float]) -> list[Outcome]:
    chosen = [s for s in specs if s.name in placed]
    verdict: dict[str, Outcome] = {}
    if chosen:
        judged = judge(world, chosen, [placed[s.name] for s in chosen])
        for i, spec in enumerate(chosen):
            missed = (not judged.usable[i]) or judged.p95_at_peak_ms[i] > spec.slo_p95_latency_ms
            verdict[spec.name] = Outcome(model=spec.name, placed=True,
                                         monthly_cost_usd=placed[spec.name].monthly_cost_usd,
                                         oracle_monthly_cost_usd=oracle_cost[spec.name], missed_slo=bool(missed),
                                         failure_probability=float(judged.failure[i]))
    return [verdict.get(s.name, Outcome(model=s.name, placed=False)) for s in specs]


def _miss_rate(outcomes: Sequence[Outcome]) -> float:
    placed = [o for o in outcomes if o.placed]
    return sum(o.missed_slo for o in placed) / len(placed) if placed else 0.0


def evaluate(world: W.World, methods: dict[str, Method], specs: Sequence[ModelSpec], *, seed: int,
             excluded: int = 0, reference: str = "baseline", model_version: str | None = None,
             match_miss_rate_of: str | None = None,
             on_progress: Callable[[int, int], None] | None = None) -> EvaluationResult:
    """Place ``specs`` with the oracle and every method, judge them, and summarize.

    With ``match_miss_rate_of`` (a method name) and a physics ``reference``, the reference is
    also run with the largest sizing margin from ``BASELINE_MARGINS`` that brings its SLO miss
    rate down to that method's, so costs can be compared at an equal miss rate.
    """
    catalog = world.catalog
    oracle = OraclePredictor(world, specs)
    oracle_cost = {spec.name: math.nan if isinstance(outcome, InfeasibleError) else outcome.monthly_cost_usd
                   for spec, outcome in zip(specs, choose_all(specs, catalog, oracle), strict=True)}
    total = len(methods) * len(specs)
    done = [0]

    def tick() -> None:
        done[0] += 1
        if on_progress:
            on_progress(done[0], total)

    placed_by = {name: _place_all(method, specs, catalog, tick) for name, method in methods.items()}
    outcomes = {name: _judge_all(world, specs, placed, oracle_cost) for name, placed in placed_by.items()}
    target = match_miss_rate_of if match_miss_rate_of in outcomes else None
    if target and isinstance(methods.get(reference), HeuristicPredictor):
        goal = _miss_rate(outcomes[target])
        for margin in BASELINE_MARGINS[1:]:
            placed = _place_all(HeuristicPredictor(throughput_margin=margin), specs, catalog)
            judged = _judge_all(world, specs, placed, oracle_cost)
            if _miss_rate(judged) <= goal or margin == BASELINE_MARGINS[-1]:
                name = f"{reference} ×{margin:g} margin"
                placed_by[name], outcomes[name] = placed, judged
                break
    common = set.intersection(*(set(p) for p in placed_by.values())) if placed_by else set()
    ref = summarize(reference, outcomes[reference], common) if reference in outcomes else None
    ref_costs = {o.model: o.monthly_cost_usd for o in outcomes.get(reference, []) if o.placed}
    summaries = tuple(summarize(name, outs, common, ref.monthly_cost_usd if ref else None, ref_costs)
                      for name, outs in outcomes.items())
    return EvaluationResult(profiles=len(specs), seed=seed, excluded_seen_profiles=excluded,
                            oracle_placed=sum(math.isfinite(c) for c in oracle_cost.values()),
                            summaries=summaries, model_version=model_version, catalog_version=catalog.version)


def run_evaluation(*, n_profiles: int = DEFAULT_PROFILES, seed: int = DEFAULT_SEED,
                   model_dir: str | None = None, history: str | None = None,
                   on_stage: Callable[[str], None] | None = None,
                   on_progress: Callable[[int, int], None] | None = None) -> EvaluationResult:
    """`roost evaluate`: the learned model (default or ``model_dir``) against the baselines."""
    from placement.catalog import load_catalog
    from placement.learned.identity import data_sha256
    from roost.training import learned_predictor, training_history

    catalog = load_catalog()
    predictor = learned_predictor(model_dir, catalog_version=catalog.version, on_stage=on_stage)
    if on_stage:
        on_stage("loading the training history (to hold its profiles out)")
    log, _ = training_history(history, catalog)
    trained_on = predictor.bundle.manifest.get("training_data", {}).get("sha256")
    if trained_on and data_sha256(log) != trained_on:
        raise InputError(f"model {predictor.version} was trained on other data than "
                         f"{history or 'the default history'}; pass the log it was trained on with --history")
    specs, excluded = held_out_specs(n_profiles, seed, log)
    if on_stage:
        on_stage(f"placing {len(specs)} held-out profiles with the oracle, learned, baseline and hand-rule methods")
    methods: dict[str, Predictor | Callable[[ModelSpec, Catalog], Choice]] = {
        "learned": predictor, "baseline": HeuristicPredictor(), "hand-rule": hand_rule_choice}
    return evaluate(W.World(catalog), methods, specs, seed=seed, excluded=excluded,
                    model_version=predictor.version, match_miss_rate_of="learned", on_progress=on_progress)
