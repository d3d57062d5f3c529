"""Simulated deployment history: observational logs sampled from the ``World``.

What the rows look like, and why (read this before learning from them):

Logging policy — how teams chose what to run (so the data has real blind spots)
    Each profile belongs to a team with a home cloud (AWS 55 %, GCP 25 %, Azure 20 %,
    unless the spec pins clouds/regions) and a home region. 85 % of rows come from the
    team's habitual configurations: 1–4 per profile, drawn with weights for popular
    hardware (A10G, L4, T4, A100, m/c general-purpose CPUs), for GPUs on deep-learning
    tasks, for 2–4× memory headroom (over-provisioning), mildly against price, and only
    among offerings the team believes fit its declared ``memory_gib``. The other 15 % explore
    uniformly across the scope in short canary windows (1–6 h); a quarter of those ignore
    memory (and some OOM). Teams keep the configurations that worked: of 8 habitual and
    4 wider offerings tried per profile, those that never met the SLO are kept 1 % as often,
    wider picks 20 % as gladly as habits; teams none of whose trials worked escalate to two
    random in-scope offerings that do (when one exists).
    Spot is used only where the spec allows it (30 % of allow rows, 75 % of prefer rows).

Sizing
    The team's capacity estimate is the true capacity × lognormal error (σ = 0.25); replicas
    = ceil(peak × headroom / estimate), headroom lognormal around 1.8×, at least
    ``min_replicas``; the autoscaler moves replicas ±15 % between windows.

Each row is one window (mostly 24 h) on one day of the year before 2026-11-01
    offered_rps  the window's peak load: the profile's peak × lognormal(−0.15, 0.25)
    noise        throughput × region-day factor (σ = 0.05) × deployment factor (σ = 0.06)
    outcome      crash_loop when the framework cannot run there (or 0.8 % bad releases),
                 oom when it does not fit, capacity_unavailable with the world's probability
                 (1 − (1 − p)^∛replicas: more replicas, more machines to find), else the latency at the offered load decides
                 ok vs slo_violation; spot interruptions (Poisson at the world's monthly rate)
                 that leave too little capacity make the row ``interrupted``.
    achieved_rps_per_replica
                 ok rows: the peak per-replica load served (a lower bound on capacity, as in
                 real logs); slo_violation rows: the replica's capacity at the SLO under that
                 window's noise (what it sustained); empty when nothing served.
    utilisation  GPU busy fraction = load / saturation throughput; CPU = host stage (GPU path)
                 or load / saturation throughput (CPU path); ±5 % measurement noise.
    cost_usd     replicas × hours × the catalog price (spot price for spot) × the world's
                 price factor (``WorldShift``, 1 unless shifted), + 2 % for disks and
                 traffic; 0 when capacity was unavailable.

Deterministic for a seed (and catalog): the same call returns the same frame.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pandas as pd

from history.population import REGIONS, sample_specs
from history.schema import ALL_COLUMNS
from history.world import (
    FRAMEWORK_FALLBACK,
    FRAMEWORKS,
    WORK_COLUMNS,
    ServiceModel,
    World,
    capacity,
    capacity_failure_prob,
    deployment_failure_prob,
    interruption_rate,
    latencies,
    profile_frame,
)
from placement.candidates import GPU_MEMORY_USABLE, HOST_MEMORY_RESERVED_GIB, HOST_MEMORY_USABLE
from placement.catalog import Catalog
from placement.types import HOURS_PER_MONTH, AcceleratorPolicy, Cloud, ModelSpec, Purchase, SpotPolicy, Task

END_OF_HISTORY = pd.Timestamp("2026-11-01T00:00:00Z")
DAYS = 365
ROWS_PER_PROFILE = 100
HABIT_SHARE = 0.85
EXPLORE_IGNORES_MEMORY = 0.25
HOME_CLOUD = ((Cloud.AWS, 0.55), (Cloud.GCP, 0.25), (Cloud.AZURE, 0.20))
SPOT_USE = {SpotPolicy.NEVER: 0.0, SpotPolicy.ALLOW: 0.30, SpotPolicy.PREFER: 0.75}
GPU_POPULARITY = {"A10G": 3.0, "L4": 2.5, "T4": 2.0, "A100-80GB": 2.0, "A100-40GB": 1.5, "A10": 1.5,
                  "H100": 1.0, "L40S": 0.8, "H100-NVL": 0.6, "V100": 0.5, "H200": 0.5, "V100-32GB": 0.3,
                  "RTX-PRO-6000": 0.3, "T4G": 0.2, "B200": 0.2, "B300": 0.1}
CPU_POPULARITY = {"m6i": 1.5, "m7i": 1.5, "c6i": 1.5, "c7i": 1.5, "n2-standard": 1.5, "e2-standard": 1.2,
                  "Ds_v5": 1.5, "Fs_v2": 1.2, "n2-highcpu": 0.8, "c3-standard": 0.6, "c7g": 0.6, "m7g": 0.6,
                  "r6i": 0.5, "n2d-standard": 0.5, "Es_v5": 0.5, "m8i": 0.4, "c4a-standard": 0.3, "Dps_v5": 0.3}
# How strongly teams reach for a GPU, by task (CPU offerings weigh 1).
GPU_PROPENSITY = {Task.TABULAR: 0.03, Task.RECOMMENDATION: 0.4, Task.IMAGE_CLASSIFICATION: 1.5,
                  Task.OBJECT_DETECTION: 2.0, Task.IMAGE_SEGMENTATION: 2.0, Task.TEXT_EMBEDDING: 1.0,
                  Task.TEXT_CLASSIFICATION: 1.0, Task.SPEECH_RECOGNITION: 3.0, Task.LLM_GENERATION: 30.0,
                  Task.TEXT_TO_IMAGE: 30.0}
HEADROOM_MEDIAN = 2.5      # memory headroom teams like
HEADROOM_SPREAD = 0.8
REGION_DAY_SIGMA = 0.05
DEPLOYMENT_SIGMA = 0.06
ESTIMATE_SIGMA = 0.25
PROVISION_MEDIAN = 1.8
BAD_RELEASE_RATE = 0.008
REPLACEMENT_MINUTES = 12.0  # an interrupted spot replica is back after this long
EXTRA_COST = 1.02           # disks and traffic on top of instance-hours
MAX_REPLICAS = 400


def simulate(n_rows: int, *, seed: int, catalog: Catalog, specs: list[ModelSpec] | None = None,
             on_progress: Callable[[int, int], None] | None = None, world: World | None = None) -> pd.DataFrame:
    """``n_rows`` schema-v1 rows drawn from ``world`` (default: the fixed world, seed 0)."""
    if n_rows < 0:
        raise ValueError("n_rows must be ≥ 0")
    rng = np.random.default_rng([seed, 0x5EED])
    world = world or World(catalog)
    if specs is None:
        specs = sample_specs(int(np.clip(n_rows // ROWS_PER_PROFILE, 20, 10_000)), seed=seed)
    if n_rows == 0 or not specs:
        return _frame({c: [] for c in ALL_COLUMNS})
    offerings = list(catalog.offerings)
    off = world.catalog_offerings
    n_prof, n_off = len(specs), len(offerings)

    profiles = profile_frame([s.profile for s in specs])
    habit, explore, explore_all = _policy_weights(specs, offerings, rng)
    # Teams try a few configurations and keep the ones that worked for them.
    trial_prof, trial_off = _trials(habit, explore, rng)
    trial_cap = capacity(world.service_model(profiles.iloc[trial_prof].reset_index(drop=True),
                                             off.iloc[trial_off].reset_index(drop=True)))
    trial_prof, trial_off, trial_cap = _escalate(world, profiles, off, explore_all, trial_prof, trial_off,
                                                 trial_cap, rng)
    row_profile = _assign_rows(n_rows, n_prof, rng)
    row_offering, row_spot, row_exploring = _choose_configs(specs, offerings, habit, explore, explore_all, row_profile,
                                             trial_prof, trial_off, trial_cap, rng)

    # Truth per distinct (profile, offering): the queueing model does not depend on purchase.
    combo = row_profile.astype(np.int64) * n_off + row_offering
    uniq, row_combo = np.unique(combo, return_inverse=True)
    u_prof, u_off = uniq // n_off, uniq % n_off
    model = world.service_model(profiles.iloc[u_prof].reset_index(drop=True), off.iloc[u_off].reset_index(drop=True))
    cap_true = capacity(model)
    max_rps = model.max_rps
    if on_progress:
        on_progress(n_rows // 4, n_rows)

    peak = np.array([s.load.peak_rps for s in specs])
    replicas = _size(specs, cap_true, max_rps, u_prof, row_combo, row_profile, rng)
    day, hours, offered, speed = _windows(off, peak, row_profile, row_offering, row_exploring, rng)
    lam = offered / replicas
    p50, p95, p99 = _latencies(model, row_combo, speed, lam, rng, on_progress)

    off_rows = off.iloc[row_offering].reset_index(drop=True)
    slo = profiles["slo_p95_latency_ms"].to_numpy()[row_profile]
    o = _outcomes(model, row_combo, off_rows, row_spot, replicas, hours, offered, cap_true, speed, slo,
                  (p50, p95, p99), rng)
    outcome, serving, slo_met, interruptions, cap_obs = o.outcome, o.serving, o.slo_met, o.interruptions, o.cap_obs
    p50, p95, p99 = o.p50, o.p95, o.p99

    achieved = np.where(slo_met, lam, np.minimum(lam, cap_obs))
    gpu_util, cpu_util = _utilization(model, row_combo, off_rows, max_rps, speed, lam, rng)
    hours, cost = _billing(world, offerings, row_offering, row_spot, replicas, serving, outcome, hours, rng)
    nan = np.nan
    for arr in (achieved, p50, p95, p99, gpu_util, cpu_util):
        arr[~serving] = nan
    cpu_util[~serving & (outcome != "capacity_unavailable")] = nan

    observed = (END_OF_HISTORY - pd.to_timedelta(DAYS - 1 - day, unit="D")
                - pd.to_timedelta(rng.integers(0, 86_400, n_rows), unit="s"))
    ids = pd.Series(np.arange(n_rows)).astype(str).str.zfill(7)
    data = {
        "deployment_id": ("sim" + str(seed) + "-" + ids).to_numpy(),
        "observed_at": observed,
        **{c: profiles[c].to_numpy()[row_profile] for c in
           ("task", "framework", "params_millions", "precision", "memory_gib", "input_tokens", "output_tokens")},
        **{c: profiles[c].to_numpy()[row_profile] for c in WORK_COLUMNS},
        "world_version": np.full(n_rows, world.version, dtype=object),
        "cloud": off_rows["cloud"].to_numpy(),
        "region": off_rows["region"].to_numpy(),
        "instance_type": np.array([o.instance_type for o in offerings], dtype=object)[row_offering],
        "accelerator": np.array([o.accelerator for o in offerings], dtype=object)[row_offering],
        "accelerator_count": np.array([o.accelerator_count if o.accelerator else 0.0 for o in offerings])[row_offering],
        "purchase": np.where(row_spot, Purchase.SPOT.value, Purchase.ON_DEMAND.value),
        "replicas": replicas,
        "offered_rps": offered,
        "achieved_rps_per_replica": _round_sig(achieved),
        "p50_latency_ms": p50,
        "p95_latency_ms": p95,
        "p99_latency_ms": p99,
        "slo_p95_latency_ms": slo,
        "slo_met": slo_met,
        "gpu_utilization": np.round(gpu_util, 4),
        "cpu_utilization": np.round(cpu_util, 4),
        "interruptions": interruptions.astype(np.int64),
        "outcome": outcome,
        "hours": hours,
        "cost_usd": np.round(cost, 4),
    }
    frame = _frame(data)
    if on_progress:
        on_progress(n_rows, n_rows)
    return frame


class _Outcomes(NamedTuple):
    outcome: np.ndarray
    serving: np.ndarray
    slo_met: np.ndarray
    interruptions: np.ndarray
    cap_obs: np.ndarray
    p50: np.ndarray
    p95: np.ndarray
    p99: np.ndarray


def _outcomes(model: ServiceModel, row_combo: np.ndarray, off_rows: pd.DataFrame, row_spot: np.ndarray,
              replicas: np.ndarray, hours: np.ndarray, offered: np.ndarray, cap_true: np.ndarray, speed: np.ndarray,
              slo: np.ndarray, latencies: tuple[np.ndarray, np.ndarray, np.ndarray],
              rng: np.random.Generator) -> _Outcomes:
    """What became of every window: capacity failures, bad releases, OOM, spot interruptions that
    degrade serving, and the SLO judged on the latencies as logged (rounded)."""
    n_rows = len(row_combo)
    p50, p95, p99 = latencies
    fits = model.fits[row_combo]
    runs = model.runs[row_combo]
    fail_p = capacity_failure_prob(off_rows, row_spot)
    rate = interruption_rate(off_rows, row_spot)
    no_capacity = rng.random(n_rows) < deployment_failure_prob(fail_p, replicas)
    bad_release = rng.random(n_rows) < BAD_RELEASE_RATE
    outcome = np.full(n_rows, "ok", dtype=object)
    serving = runs & fits & ~no_capacity & ~bad_release
    interruptions = np.where(serving & row_spot, rng.poisson(rate * replicas * hours / HOURS_PER_MONTH), 0)
    violated = serving & ~(p95 <= slo)
    outcome[violated] = "slo_violation"

    # Capacity at the SLO under this window's noise, for rows that hit it.
    cap_obs = cap_true[row_combo] * speed
    hit = np.flatnonzero(violated)
    if len(hit):
        cap_obs[hit] = capacity(model.take(row_combo[hit]).scaled(speed[hit]))
    # Interruptions that leave less capacity than the load degrade the window.
    short = (replicas - 1) * cap_obs < offered
    degraded = serving & (interruptions > 0) & short
    outage_share = interruptions * REPLACEMENT_MINUTES / 60.0 / hours
    breaks_p95 = degraded & (outage_share > 0.05)
    bump = slo * rng.uniform(1.05, 2.0, n_rows)
    scale = np.where(breaks_p95 & (p95 <= slo), bump / np.where(p95 > 0, p95, 1.0), 1.0)
    p50, p95, p99 = p50 * np.where(breaks_p95, np.maximum(scale, 1.0), 1.0), p95 * scale, p99 * scale
    # Logs carry measurements: round, keep p50 ≤ p95 ≤ p99, then judge the SLO on what is logged.
    p50 = _round_sig(p50)
    p95 = np.fmax(_round_sig(p95), p50)
    p99 = np.fmax(_round_sig(p99), p95)
    slo_met = p95 <= slo
    outcome[:] = np.where(slo_met, "ok", "slo_violation")
    outcome[degraded] = "interrupted"
    outcome[~no_capacity & fits & runs & bad_release] = "crash_loop"
    outcome[~runs] = "crash_loop"
    outcome[runs & ~fits] = "oom"
    outcome[runs & fits & no_capacity & ~bad_release] = "capacity_unavailable"
    serving = np.isin(outcome, ("ok", "slo_violation", "interrupted"))
    slo_met = serving & slo_met
    return _Outcomes(outcome, serving, slo_met, interruptions, cap_obs, p50, p95, p99)


def _utilization(model: ServiceModel, row_combo: np.ndarray, off_rows: pd.DataFrame, max_rps: np.ndarray,
                 speed: np.ndarray, lam: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """GPU and CPU utilization of every window: the GPU busy with the load; the host busy with
    pre-processing on GPU rows and with the model itself on CPU rows; one noise draw for both."""
    n_rows = len(row_combo)
    gpu_path = model.gpu_path[row_combo]
    has_gpu = off_rows["has_gpu"].to_numpy(dtype=bool)
    max_row = max_rps[row_combo] * speed
    busy = np.clip(lam / np.maximum(max_row, 1e-9), 0.0, 1.0)
    util_noise = np.exp(rng.normal(0.0, 0.05, n_rows))
    gpu_util = np.where(has_gpu, np.where(gpu_path, np.clip(busy * util_noise, 0, 1), 0.0), np.nan)
    vcpus = off_rows["vcpus"].to_numpy(dtype=float)
    host_ms = model.host_ms[row_combo] / speed
    host_busy = lam * host_ms / 1e3 / np.maximum(vcpus, 1.0) + 0.03
    cpu_util = np.clip(np.where(gpu_path, host_busy, busy) * util_noise, 0.0, 1.0)
    return gpu_util, cpu_util


def _billing(world: World, offerings: list, row_offering: np.ndarray, row_spot: np.ndarray, replicas: np.ndarray,
             serving: np.ndarray, outcome: np.ndarray, hours: np.ndarray,
             rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Hours and cost of every window. Failures are short windows; a deployment that never got
    capacity bills nothing. Prices are the catalog's, times the world's billing shift."""
    n_rows = len(row_offering)
    fail_hours = np.round(rng.uniform(0.1, 1.0, n_rows), 2)
    hours = np.where(serving, hours, np.where(outcome == "capacity_unavailable", np.round(rng.uniform(0.1, 2.0, n_rows), 2),
                                              fail_hours))
    price = np.array([o.price_hour_usd for o in offerings])[row_offering]
    spot_price = np.array([o.spot_price_hour_usd or o.price_hour_usd for o in offerings])[row_offering]
    billed = np.array([world.shift.price_factor_of(o.cloud.value) for o in offerings])[row_offering]
    hourly = np.where(row_spot, spot_price, price) * billed
    cost = np.where(outcome == "capacity_unavailable", 0.0, replicas * hours * hourly * EXTRA_COST)
    return hours, cost


def _size(specs: list[ModelSpec], cap_true: np.ndarray, max_rps: np.ndarray, u_prof: np.ndarray,
          row_combo: np.ndarray, row_profile: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Replicas of every row: the team's belief about capacity, per (profile, offering) as
    deployed, times its headroom, moved ±15 % by the autoscaler between windows."""
    n_rows = len(row_combo)
    belief = np.where(cap_true > 0, cap_true, 0.5 * max_rps) * np.exp(rng.normal(0.0, ESTIMATE_SIGMA, len(u_prof)))
    provision = np.exp(rng.normal(np.log(PROVISION_MEDIAN), 0.3, len(u_prof)))
    peak = np.array([s.load.peak_rps for s in specs])
    min_rep = np.array([s.min_replicas for s in specs])
    planned = np.where(belief > 0, np.ceil(peak[u_prof] * provision / np.maximum(belief, 1e-9)),
                       np.maximum(min_rep[u_prof], 2))
    planned = np.clip(np.maximum(planned, min_rep[u_prof]), 1, MAX_REPLICAS)
    replicas = np.round(planned[row_combo] * np.exp(rng.normal(0.0, 0.15, n_rows)))
    return np.clip(np.maximum(replicas, min_rep[row_profile]), 1, MAX_REPLICAS).astype(np.int64)


def _windows(off: pd.DataFrame, peak: np.ndarray, row_profile: np.ndarray, row_offering: np.ndarray,
             row_exploring: np.ndarray, rng: np.random.Generator
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(day, hours, offered load, speed factor) of every row: windows, load and noise."""
    n_rows = len(row_profile)
    day = rng.integers(0, DAYS, n_rows)
    hours = np.where(rng.random(n_rows) < 0.8, 24.0, np.round(rng.uniform(1.0, 24.0, n_rows) * 4) / 4)
    hours = np.where(row_exploring, np.round(rng.uniform(1.0, 6.0, n_rows) * 4) / 4, hours)  # canaries
    offered = _round_sig(peak[row_profile] * np.exp(rng.normal(-0.15, 0.25, n_rows)))
    region_key = off["cloud"].astype(str) + "/" + off["region"].astype(str)
    region_codes, region_names = pd.factorize(region_key)
    region_day = np.exp(rng.normal(0.0, REGION_DAY_SIGMA, (len(region_names), DAYS)))
    speed = region_day[region_codes[row_offering], day] * np.exp(rng.normal(0.0, DEPLOYMENT_SIGMA, n_rows))
    return day, hours, offered, speed


def _latencies(model: ServiceModel, row_combo: np.ndarray, speed: np.ndarray, lam: np.ndarray,
               rng: np.random.Generator, on_progress: Callable[[int, int], None] | None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """p50/p95/p99 at the offered load, in chunks (the heavy part) with progress, measured
    with one noise factor per row (which keeps p50 ≤ p95 ≤ p99)."""
    n_rows = len(row_combo)
    p50 = np.full(n_rows, np.nan)
    p95 = np.full(n_rows, np.nan)
    p99 = np.full(n_rows, np.nan)
    chunk = 100_000
    for start in range(0, n_rows, chunk):
        sl = slice(start, min(start + chunk, n_rows))
        rows_model = model.take(row_combo[sl]).scaled(speed[sl])
        p50[sl], p95[sl], p99[sl] = latencies(rows_model, lam[sl])
        if on_progress:
            on_progress(min(n_rows - 1, n_rows // 4 + (3 * n_rows // 4) * sl.stop // n_rows), n_rows)
    measured = np.exp(rng.normal(0.0, 0.03, n_rows))
    return p50 * measured, p95 * measured, p99 * measured


def _round_sig(values: np.ndarray, digits: int = 6) -> np.ndarray:
    """Round to significant digits (logs carry measurements, not float noise)."""
    out = np.asarray(values, dtype=float).copy()
    finite = np.isfinite(out) & (out != 0)
    mag = np.floor(np.log10(np.abs(out[finite])))
    factor = 10.0 ** (digits - 1 - mag)
    out[finite] = np.round(out[finite] * factor) / factor
    return out


def _frame(data: dict) -> pd.DataFrame:
    frame = pd.DataFrame(data)
    for column, dtype in ALL_COLUMNS.items():
        if column == "observed_at":
            frame[column] = pd.to_datetime(frame[column], utc=True).astype("datetime64[ns, UTC]")
        elif dtype == "Int64":
            frame[column] = pd.array(pd.to_numeric(frame[column]), dtype="Int64")
        else:
            frame[column] = frame[column].astype(dtype)
    return frame[list(ALL_COLUMNS)]


def _policy_weights(specs: list[ModelSpec], offerings: list, rng: np.random.Generator
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(habit weights, exploration weights that respect believed memory, exploration ignoring it)."""
    clouds = np.array([o.cloud.value for o in offerings])
    regions = np.array([o.region for o in offerings])
    has_gpu = np.array([o.has_gpu for o in offerings])
    gpu_mem = np.array([o.total_gpu_memory_gib for o in offerings])
    host_mem = np.array([o.memory_gib for o in offerings])
    vcpus = np.array([o.vcpus for o in offerings], dtype=float)
    price = np.array([o.price_hour_usd for o in offerings])
    popularity = np.array([GPU_POPULARITY.get(o.accelerator, 0.3) if o.has_gpu else CPU_POPULARITY.get(o.family, 0.5)
                           for o in offerings])

    n = len(specs)
    mem = np.array([s.memory_gib for s in specs])[:, None]
    scope = np.ones((n, len(offerings)), dtype=bool)
    home_cloud = np.empty(n, dtype=object)
    home_region = np.empty(n, dtype=object)
    cloud_names = [c for c, _ in HOME_CLOUD]
    cloud_p = np.array([p for _, p in HOME_CLOUD])
    gpu_only = np.array([not FRAMEWORKS.get(s.framework, FRAMEWORKS[FRAMEWORK_FALLBACK]).cpu for s in specs])
    cpu_only = np.array([not FRAMEWORKS.get(s.framework, FRAMEWORKS[FRAMEWORK_FALLBACK]).gpu for s in specs])
    for i, s in enumerate(specs):
        if s.clouds:
            scope[i] &= np.isin(clouds, [c.value for c in s.clouds])
        if s.regions:
            scope[i] &= np.isin(regions, list(s.regions))
        if s.accelerator is AcceleratorPolicy.REQUIRED:
            scope[i] &= has_gpu
        elif s.accelerator is AcceleratorPolicy.NONE:
            scope[i] &= ~has_gpu
        allowed = list(s.clouds) if s.clouds else cloud_names
        p = np.array([cloud_p[cloud_names.index(c)] for c in allowed])
        home = allowed[int(rng.choice(len(allowed), p=p / p.sum()))]
        home_cloud[i] = home.value
        home_region[i] = s.regions[0] if s.regions else REGIONS[home][int(rng.integers(3))]
        if not scope[i].any():
            scope[i] = True
    believed_fit = np.where(has_gpu[None, :], mem <= gpu_mem[None, :] * GPU_MEMORY_USABLE,
                            mem <= host_mem[None, :] * HOST_MEMORY_USABLE - HOST_MEMORY_RESERVED_GIB)
    capacity_mem = np.where(has_gpu, gpu_mem, host_mem)[None, :]
    ratio = capacity_mem / np.maximum(mem, 0.1)
    headroom = np.exp(-((np.log(np.maximum(ratio, 1e-3)) - np.log(HEADROOM_MEDIAN)) ** 2) / (2 * HEADROOM_SPREAD**2))
    cpu_size = np.exp(-((np.log(vcpus) - np.log(8.0)) ** 2) / 2.0)
    gpu_pref = np.array([GPU_PROPENSITY[s.task] for s in specs])[:, None]
    device = np.where(has_gpu[None, :], gpu_pref, np.where(gpu_pref >= 30, 0.01, 1.0) * cpu_size[None, :])
    cloud_w = np.where(clouds[None, :] == home_cloud[:, None], 1.0, 0.05)
    region_w = np.where(regions[None, :] == home_region[:, None], 1.0, 0.3)
    habit = popularity[None, :] * device * headroom * cloud_w * region_w * price[None, :] ** -0.3
    # Teams know TensorRT needs a GPU, and rarely pay for one a CPU-only framework leaves idle.
    runnable = ~(gpu_only[:, None] & ~has_gpu[None, :])
    habit = habit * np.where(cpu_only[:, None] & has_gpu[None, :], 0.05, 1.0)
    habit = np.where(scope & believed_fit & runnable, habit, 0.0)
    explore = (scope & believed_fit & runnable).astype(float)
    explore_all = scope.astype(float)
    for w in (habit, explore):
        empty = w.sum(axis=1) == 0
        w[empty] = explore_all[empty]
    return habit, explore, explore_all


def _assign_rows(n_rows: int, n_prof: int, rng: np.random.Generator) -> np.ndarray:
    """Some models are deployed (and logged) far more often than others."""
    weights = np.exp(rng.normal(0.0, 1.0, n_prof))
    return rng.choice(n_prof, size=n_rows, p=weights / weights.sum())


HABIT_TRIALS = 8
WIDE_TRIALS = 4
WIDE_TRIAL_WEIGHT = 0.2   # a wider pick that worked is kept, but less gladly than a habit
WORKED = 1.0
DID_NOT_WORK = 0.01   # a configuration that never met the SLO is rarely kept


def _trials(habit: np.ndarray, explore: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Offerings each profile's team has tried: mostly habitual ones, a few wider picks."""
    profs, offs = [], []
    n_off = habit.shape[1]
    for p in range(habit.shape[0]):
        w = habit[p]
        k = min(HABIT_TRIALS, int((w > 0).sum()))
        chosen = rng.choice(n_off, size=k, replace=False, p=w / w.sum())
        wide = np.where(np.isin(np.arange(n_off), chosen), 0.0, explore[p])
        m = min(WIDE_TRIALS, int((wide > 0).sum()))
        if m:
            chosen = np.concatenate([chosen, rng.choice(n_off, size=m, replace=False, p=wide / wide.sum())])
        profs.append(np.full(len(chosen), p))
        offs.append(chosen)
    return np.concatenate(profs), np.concatenate(offs)


ESCALATION_TRIALS = 2


def _escalate(world: World, profiles: pd.DataFrame, off: pd.DataFrame, scope: np.ndarray,
              trial_prof: np.ndarray, trial_off: np.ndarray, trial_cap: np.ndarray, rng: np.random.Generator
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Teams whose trials all missed the SLO keep trying until something works: add a couple
    of random offerings (in scope) that do meet it, when any does."""
    worked = np.zeros(scope.shape[0], dtype=bool)
    np.logical_or.at(worked, trial_prof, trial_cap > 0)
    stuck = np.flatnonzero(~worked)
    if not len(stuck):
        return trial_prof, trial_off, trial_cap
    pairs_p = np.repeat(stuck, scope.shape[1])
    pairs_o = np.tile(np.arange(scope.shape[1]), len(stuck))
    keep = scope[pairs_p, pairs_o] > 0
    pairs_p, pairs_o = pairs_p[keep], pairs_o[keep]
    cap = capacity(world.service_model(profiles.iloc[pairs_p].reset_index(drop=True),
                                       off.iloc[pairs_o].reset_index(drop=True)))
    add_p, add_o, add_c = [], [], []
    for p in stuck:
        ok = (pairs_p == p) & (cap > 0)
        candidates = np.flatnonzero(ok)
        if not len(candidates):
            continue
        pick = rng.choice(candidates, size=min(ESCALATION_TRIALS, len(candidates)), replace=False)
        add_p.append(pairs_p[pick])
        add_o.append(pairs_o[pick])
        add_c.append(cap[pick])
    if not add_p:
        return trial_prof, trial_off, trial_cap
    prof = np.concatenate([trial_prof, *add_p])
    order = np.argsort(prof, kind="stable")  # configs are read per profile, in profile order
    return prof[order], np.concatenate([trial_off, *add_o])[order], np.concatenate([trial_cap, *add_c])[order]


def _choose_configs(specs: list[ModelSpec], offerings: list, habit: np.ndarray, explore: np.ndarray,
                    explore_all: np.ndarray, row_profile: np.ndarray, trial_prof: np.ndarray,
                    trial_off: np.ndarray, trial_cap: np.ndarray, rng: np.random.Generator
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(offering index, spot?, exploring?) of every row."""
    n_rows = len(row_profile)
    has_spot = np.array([o.spot_price_hour_usd is not None for o in offerings])
    row_offering = np.empty(n_rows, dtype=np.int64)
    row_spot = np.zeros(n_rows, dtype=bool)
    row_exploring = np.zeros(n_rows, dtype=bool)
    order = np.argsort(row_profile, kind="stable")
    bounds = np.searchsorted(row_profile[order], np.arange(len(specs) + 1))
    trial_bounds = np.searchsorted(trial_prof, np.arange(len(specs) + 1))
    n_off = len(offerings)
    for p, spec in enumerate(specs):
        rows = order[bounds[p]:bounds[p + 1]]
        k = len(rows)
        if not k:
            continue
        spot_p = SPOT_USE[spec.spot]
        # Habitual configurations: a few (offering, purchase) pairs reused window after window,
        # kept from the trials by how well they worked.
        tried = trial_off[trial_bounds[p]:trial_bounds[p + 1]]
        worked = np.where(trial_cap[trial_bounds[p]:trial_bounds[p + 1]] > 0, WORKED, DID_NOT_WORK)
        habitual = habit[p, tried]
        known = habitual > 0
        familiar = np.where(known, habitual, WIDE_TRIAL_WEIGHT * (habitual[known].mean() if known.any() else 1.0))
        w = familiar * worked
        w = w / w.sum()
        n_cfg = min(int(rng.integers(1, 5)), int((w > 0).sum()))
        cfg = tried[rng.choice(len(tried), size=n_cfg, replace=False, p=w)]
        cfg_spot = has_spot[cfg] & (rng.random(n_cfg) < spot_p)
        share = rng.dirichlet(np.ones(n_cfg))
        pick = rng.choice(n_cfg, size=k, p=share)
        offering = cfg[pick]
        spot = cfg_spot[pick]
        exploring = rng.random(k) >= HABIT_SHARE
        m = int(exploring.sum())
        if m:
            wild = rng.random(m) < EXPLORE_IGNORES_MEMORY
            w_fit = explore[p] / explore[p].sum()
            w_all = explore_all[p] / explore_all[p].sum()
            chosen = np.where(wild, rng.choice(n_off, size=m, p=w_all), rng.choice(n_off, size=m, p=w_fit))
            offering[exploring] = chosen
            spot[exploring] = has_spot[chosen] & (rng.random(m) < spot_p)
        row_offering[rows] = offering
        row_spot[rows] = spot
        row_exploring[rows] = exploring
    return row_offering, row_spot, row_exploring
