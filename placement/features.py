"""Features of the learned models, defined once and shared by training and serving.

Both paths describe (profile, offering, purchase) rows as *raw columns* — the vocabulary
of the deployment logs — and turn them into a feature matrix with the same function,
``matrix``. Training gets raw columns from log rows joined to the catalog
(``offering_frame``); serving gets them from a ``ModelProfile`` and catalog offerings
(``OfferingTable`` + ``profile_columns``). Parity between the two is tested.

Three groups of features:

* **profile**: task, framework, params, precision, memory need, tokens, SLO, and the load
  each replica carries (for latency and risk);
* **offering**: cloud, region, family, CPU architecture, accelerator and its specs
  (memory, bandwidth, tensor FLOPs at the model's precision, count), vCPUs, host memory,
  price, purchase option and the published spot interruption rate;
* **physics**: what ``placement.baseline`` would compute on a whiteboard — ideal compute
  and memory-bandwidth times, the baseline's service time and capacity at the SLO, the
  memory fit ratio. Trees then learn the correction to physics rather than physics itself,
  which is what lets them generalise to models they have never seen.

Categorical features are integer codes into *fixed* category lists (``FeatureSpec``)
saved with every trained model, so a code means the same thing at training and serving
time; a value the lists do not know becomes missing (NaN), which LightGBM handles.

Throughput depends on the hardware, never on where it is bought, so the performance
features exclude region, price and purchase: a predictor evaluates each distinct piece
of hardware once per profile and broadcasts to every region and purchase option. Risk
(capacity shortages, interruptions, OOM) does depend on them: the risk features add them.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from placement import baseline, candidates, workload
from placement.sizing import INTERRUPTION_RATE_BY_BUCKET, INTERRUPTION_RATE_UNKNOWN
from placement.types import (
    BYTES_PER_PARAM,
    KNOWN_FRAMEWORKS,
    Cloud,
    ModelProfile,
    Offering,
    Precision,
    Purchase,
    Task,
)

FEATURES_SCHEMA_VERSION = 3
CPU_ONLY = "none"  # accelerator category of offerings without a GPU

# Columns identifying an offering in the logs (the catalog join key) and the purchase option.
OFFERING_KEY = ("cloud", "region", "instance_type", "accelerator", "accelerator_count")
PROFILE_COLUMNS = ("task", "framework", "params_millions", "precision", "memory_gib", "input_tokens",
                   "output_tokens", "slo_p95_latency_ms")
# Optional profile columns saying how much work a request is (fleet keys load.image_size,
# load.steps, active_params_millions, gflops_per_request). Logs written before them lack
# them: absent or empty means the task's default (``placement.workload``).
WORK_COLUMNS = ("image_height", "image_width", "steps", "active_params_millions", "gflops_per_request")
# Offering columns the features read (beyond the key); the catalog provides them.
OFFERING_COLUMNS = ("family", "arch", "vcpus", "host_memory_gib", "gpu_memory_gib", "gpu_bandwidth_gbps",
                    "gpu_fp16_tflops", "gpu_fp32_tflops", "gpu_int8_tops", "price_hour_usd",
                    "spot_price_hour_usd", "spot_interruption_rate")


@dataclass(frozen=True)
class Feature:
    """One model input. ``monotone`` is LightGBM's constraint on throughput (+1 never decreases it)."""

    name: str
    categorical: bool = False
    monotone: int = 0
    # For explanations: how a person calls it, and how to print its value ({} is the value).
    label: str = ""
    fmt: str = "{:,.3g}"

    def describe(self, value: object) -> str:
        label = self.label or self.name.replace("_", " ")
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return f"{label} unknown"
        if self.name.startswith("log_") and isinstance(value, float):
            # Stored as log10 for the trees; people read the quantity itself.
            shown = 10.0 ** value
            return f"{label} {'≈ 0' if shown < 1e-3 else format(shown, ',.3g')}"
        try:
            return f"{label} {self.fmt.format(value)}"
        except (ValueError, TypeError):
            return f"{label} {value}"


def _f(name: str, label: str, fmt: str = "{:,.3g}", monotone: int = 0) -> Feature:
    return Feature(name, False, monotone, label, fmt)


def _c(name: str, label: str) -> Feature:
    return Feature(name, True, 0, label, "{}")


# Performance: profile × hardware. ``monotone`` marks what physics guarantees for saturation
# throughput relative to the roofline, all else equal: more memory bandwidth, tensor FLOPs,
# GPUs (data-parallel copies or tensor parallelism) or vCPUs (host pre/post-processing)
# never lower it.
PERFORMANCE_FEATURES: tuple[Feature, ...] = (
    _c("task", "task"),
    _c("framework", "framework"),
    _c("precision", "precision"),
    _f("params_millions", "model size (M params)", "{:,.0f}"),
    _f("memory_gib", "model memory need (GiB)", "{:,.1f}"),
    _f("input_tokens_eff", "input tokens per request", "{:,.0f}"),
    _f("output_tokens_eff", "output tokens per request", "{:,.0f}"),
    _f("slo_p95_latency_ms", "p95 SLO (ms)", "{:,.0f}"),
    _c("cloud", "cloud"),
    _c("family", "instance family"),
    _c("arch", "CPU architecture"),
    _c("accelerator", "accelerator"),
    _f("accelerator_count", "accelerators", "{:g}", +1),
    _f("vcpus", "vCPUs", "{:,.0f}", +1),
    _f("host_memory_gib", "host memory (GiB)", "{:,.0f}"),
    _f("gpu_memory_gib", "GPU memory (GiB per GPU)", "{:,.0f}"),
    _f("gpu_bandwidth_gbps", "GPU memory bandwidth (GB/s)", "{:,.0f}", +1),
    _f("gpu_tflops_at_precision", "GPU tensor TFLOPS at the model's precision", "{:,.0f}", +1),
    _f("log_ideal_compute_ms", "ideal compute time per request (ms)", "{:.2f}"),
    _f("log_ideal_decode_ms", "ideal memory-bound decode time per request (ms)", "{:.2f}"),
    _f("log_physics_service_ms", "roofline service time (ms)", "{:.2f}"),
    _f("log_physics_rps", "roofline capacity at the SLO (rps)", "{:.2f}"),
    _f("log_physics_saturation_rps", "roofline saturation throughput (rps)", "{:.2f}"),
    _f("physics_tail_to_slo", "roofline idle p95 / SLO", "{:.2f}"),
    _f("memory_fit_ratio", "memory need / usable memory", "{:.0%}"),
    _f("weight_gib", "weights (GiB)", "{:,.1f}"),
    _f("memory_headroom_gib", "memory left after the weights (GiB)", "{:,.1f}"),
    _f("log_sequences_in_memory", "requests whose KV cache fits beside the weights", "{:.2f}"),
    _f("log_weight_stream_ms", "time to stream the weights once (ms)", "{:.2f}"),
    _f("log_batched_decode_rps", "memory-bound decode throughput at the batch memory allows (rps)",
       "{:.2f}"),
    _f("arithmetic_intensity_ratio", "model FLOPs per weight byte / GPU FLOPs per byte", "{:.2g}"),
    _f("vcpus_per_gpu", "vCPUs per GPU", "{:,.1f}"),
    _f("log_roofline_saturation_rps", "batched roofline saturation throughput (rps)", "{:.2f}"),
    _f("log_roofline_batch", "batch size the roofline runs at", "{:.2f}"),
    _f("log_roofline_batch_ms", "roofline time of one batch (ms)", "{:.2f}"),
    _f("tensor_parallel_degree", "GPUs per model copy (tensor parallelism)", "{:g}"),
    _f("model_copies", "model copies per instance", "{:g}"),
    _f("log_free_host_vcpus", "vCPUs left for pre/post-processing", "{:.2f}"),
)

# Latency at a load: the hardware and profile, plus how busy each replica is (the share of
# its saturation throughput it serves; p95 never falls as it rises).
UTILIZATION = _f("utilization", "utilization", "{:.0%}")
LATENCY_FEATURES: tuple[Feature, ...] = PERFORMANCE_FEATURES + (UTILIZATION,)

# Risk: the profile and hardware plus where and how it is bought, and how many machines.
RISK_FEATURES: tuple[Feature, ...] = PERFORMANCE_FEATURES + (
    _c("region", "region"),
    _c("purchase", "purchase option"),
    _f("spot_interruption_rate", "published spot interruption rate", "{:.1%}"),
    _f("price_hour_usd", "on-demand price ($/h)", "${:,.2f}"),
    _f("spot_discount", "spot price / on-demand price", "{:.0%}"),
    # More machines to find, more chances one is short: a deployment's size is part of its risk.
    _f("log_replicas", "replicas", "{:.2f}"),
)

FEATURE_GROUPS: dict[str, tuple[Feature, ...]] = {
    "performance": PERFORMANCE_FEATURES, "latency": LATENCY_FEATURES, "risk": RISK_FEATURES,
}
ALL_FEATURES: tuple[Feature, ...] = RISK_FEATURES + (UTILIZATION,)

CATEGORICAL = tuple(f.name for f in ALL_FEATURES if f.categorical)


def _default_groups() -> dict[str, tuple[str, ...]]:
    return {group: tuple(f.name for f in feats) for group, feats in FEATURE_GROUPS.items()}


@dataclass(frozen=True)
class FeatureSpec:
    """The feature lists and fixed category lists that give a model's inputs their meaning.

    Saved with every model (``features.json``): codes are looked up in *these* lists at
    serving time, never in lists rebuilt from whatever catalog is loaded then.
    """

    categories: Mapping[str, tuple[str, ...]]
    schema_version: int = FEATURES_SCHEMA_VERSION
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=_default_groups)

    @classmethod
    def for_catalog(cls, offerings: Iterable[Offering]) -> FeatureSpec:
        offerings = tuple(offerings)
        return cls(categories={
            "task": tuple(t.value for t in Task),
            "framework": tuple(KNOWN_FRAMEWORKS),
            "precision": tuple(p.value for p in Precision),
            "cloud": tuple(c.value for c in Cloud),
            "purchase": tuple(p.value for p in Purchase),
            "region": tuple(sorted({o.region for o in offerings})),
            "family": tuple(sorted({o.family for o in offerings})),
            "arch": tuple(sorted({o.arch for o in offerings})),
            "accelerator": (CPU_ONLY, *sorted({o.accelerator for o in offerings if o.accelerator})),
        })

    def names(self, group: str) -> tuple[str, ...]:
        return self.groups[group]

    def to_dict(self) -> dict:
        return {
            "schema_version": self.schema_version,
            "groups": {g: list(v) for g, v in self.groups.items()},
            "categorical": list(CATEGORICAL),
            "monotone": {f.name: f.monotone for f in ALL_FEATURES if f.monotone},
            "categories": {k: list(v) for k, v in sorted(self.categories.items())},
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> FeatureSpec:
        return cls(categories={k: tuple(v) for k, v in data["categories"].items()},
                   schema_version=int(data["schema_version"]),
                   groups={g: tuple(v) for g, v in data["groups"].items()})

    def mismatch(self) -> str | None:
        """Why this spec cannot drive this version of the code, or None when it can."""
        if self.schema_version != FEATURES_SCHEMA_VERSION:
            return f"feature schema {self.schema_version} (this roost computes schema {FEATURES_SCHEMA_VERSION})"
        expected = _default_groups()
        for group, names in self.groups.items():
            if group not in expected:
                return f"unknown feature group {group!r}"
            if tuple(names) != expected[group]:
                return f"its {group} feature list differs from the one this roost computes"
        missing = [c for c in CATEGORICAL if c not in self.categories]
        if missing:
            return f"no category list for {', '.join(missing)}"
        return None


FEATURE_BY_NAME: dict[str, Feature] = {f.name: f for f in ALL_FEATURES}


# ---------------------------------------------------------------------------------------
# Raw columns


def offering_columns(offerings: Sequence[Offering]) -> dict[str, np.ndarray]:
    """Raw columns (key + OFFERING_COLUMNS) of catalog offerings, one row each."""
    def col(values: Iterable, dtype=float) -> np.ndarray:
        return np.fromiter(values, dtype=dtype, count=len(offerings)) if dtype is float \
            else np.array(list(values), dtype=object)

    def gpu(attr: str) -> np.ndarray:
        return col((getattr(o.gpu, attr) or np.nan) if o.gpu is not None and o.has_gpu else np.nan
                   for o in offerings)

    return {
        "cloud": col((o.cloud.value for o in offerings), object),
        "region": col((o.region for o in offerings), object),
        "instance_type": col((o.instance_type for o in offerings), object),
        "accelerator": col((o.accelerator or "" for o in offerings), object),
        "accelerator_count": col(o.accelerator_count if o.has_gpu else 0.0 for o in offerings),
        "family": col((o.family for o in offerings), object),
        "arch": col((o.arch for o in offerings), object),
        "vcpus": col(float(o.vcpus) for o in offerings),
        "host_memory_gib": col(o.memory_gib for o in offerings),
        "gpu_memory_gib": col(o.accelerator_memory_gib if o.has_gpu else np.nan for o in offerings),
        "gpu_bandwidth_gbps": gpu("memory_bandwidth_gbps"),
        "gpu_fp16_tflops": gpu("fp16_tflops"),
        "gpu_fp32_tflops": gpu("fp32_tflops"),
        "gpu_int8_tops": gpu("int8_tops"),
        "price_hour_usd": col(o.price_hour_usd for o in offerings),
        "spot_price_hour_usd": col(np.nan if o.spot_price_hour_usd is None else o.spot_price_hour_usd
                                   for o in offerings),
        "spot_interruption_rate": col(INTERRUPTION_RATE_BY_BUCKET.get(o.spot_interruption_bucket or "",
                                                                      INTERRUPTION_RATE_UNKNOWN)
                                      for o in offerings),
    }


def offering_frame(offerings: Sequence[Offering]) -> pd.DataFrame:
    """The catalog as a table to join log rows to (on ``OFFERING_KEY``)."""
    return pd.DataFrame(offering_columns(offerings))


def normalise_log_keys(frame: pd.DataFrame) -> pd.DataFrame:
    """Log offering keys in the catalog's spelling: CPU rows have accelerator "" and count 0."""
    out = frame.copy()
    accel = out["accelerator"].astype(object)
    out["accelerator"] = accel.where(accel.notna() & (accel != CPU_ONLY), "").astype(str)
    out["accelerator_count"] = pd.to_numeric(out["accelerator_count"], errors="coerce").fillna(0.0).astype(float)
    out.loc[out["accelerator"] == "", "accelerator_count"] = 0.0
    return out


def join_offerings(log: pd.DataFrame, offerings: Sequence[Offering]) -> pd.DataFrame:
    """Log rows with their offering's columns; rows naming no catalog offering are dropped.

    Returns the joined frame; ``attrs["unmatched"]`` counts the dropped rows.
    """
    left = normalise_log_keys(log)
    right = offering_frame(offerings)
    joined = left.merge(right, on=list(OFFERING_KEY), how="inner", validate="many_to_one", sort=False,
                        suffixes=("", "_catalog"))
    joined.attrs["unmatched"] = len(left) - len(joined)
    return joined


def profile_columns(profile: ModelProfile) -> dict[str, np.ndarray]:
    """Raw columns of one profile (length-1 arrays that broadcast against offering columns)."""
    return {
        "task": np.array([profile.task.value], dtype=object),
        "framework": np.array([profile.framework], dtype=object),
        "params_millions": np.array([profile.params_millions], dtype=float),
        "precision": np.array([profile.precision.value], dtype=object),
        "memory_gib": np.array([profile.memory_gib], dtype=float),
        "input_tokens": np.array([np.nan if profile.input_tokens is None else profile.input_tokens], dtype=float),
        "output_tokens": np.array([np.nan if profile.output_tokens is None else profile.output_tokens], dtype=float),
        "slo_p95_latency_ms": np.array([profile.slo_p95_latency_ms], dtype=float),
        **{name: np.array([value], dtype=float) for name, value in work_values(profile).items()},
    }


def work_values(profile: ModelProfile) -> dict[str, float]:
    """A profile's ``WORK_COLUMNS`` (NaN where it does not say)."""
    height, width = profile.image_size or (np.nan, np.nan)
    return {"image_height": float(height), "image_width": float(width),
            "steps": np.nan if profile.steps is None else float(profile.steps),
            "active_params_millions": np.nan if profile.active_params_millions is None
            else float(profile.active_params_millions),
            "gflops_per_request": np.nan if profile.gflops_per_request is None else float(profile.gflops_per_request)}


def profiles_columns(profiles: Sequence[ModelProfile]) -> dict[str, np.ndarray]:
    """Raw columns of many profiles, a row each: ``profile_columns`` stacked."""
    each = [profile_columns(p) for p in profiles]
    return {name: np.concatenate([cols[name] for cols in each]) for name in (*PROFILE_COLUMNS, *WORK_COLUMNS)}


# ---------------------------------------------------------------------------------------
# Physics, vectorised (mirrors placement.baseline; a test checks they agree)

_TASK_TOKENS = {t.value: v for t, v in workload.TASK_TOKENS.items()}
_DEFAULT_INPUT = {t.value: float(v) for t, v in workload.DEFAULT_INPUT_TOKENS.items()}
_DEFAULT_SIDE = {t.value: float(v) for t, v in workload.DEFAULT_IMAGE_SIZE.items()}
_BYTES = {p.value: v for p, v in BYTES_PER_PARAM.items()}
_LOW_PRECISION = (Precision.INT8.value, Precision.FP8.value, Precision.INT4.value)
KV_LAYER_WIDTH_PER_PARAM_23 = 0.037
MAX_DECODE_BATCH = 256.0  # continuous-batching servers cap the running batch around here


def _lookup(values: np.ndarray, table: Mapping[str, float], default: float = np.nan) -> np.ndarray:
    if values.size == 1:  # a profile's own value, at serving time: skip np.unique
        return np.full(values.shape, table.get(str(values.flat[0]), default), dtype=float)
    uniq, inverse = np.unique(values.astype(str), return_inverse=True)
    return np.array([table.get(u, default) for u in uniq], dtype=float)[inverse].reshape(values.shape)


def _isin(values: np.ndarray, wanted: Sequence[str]) -> np.ndarray:
    """``np.isin`` on strings, without its sorting for a profile's own (length-1) value."""
    if values.size == 1:
        return np.full(values.shape, str(values.flat[0]) in wanted, dtype=bool)
    return np.isin(values, wanted)


def _given(cols: Mapping[str, np.ndarray], name: str) -> np.ndarray:
    """A ``WORK_COLUMNS`` value per row, NaN where absent, empty or not positive."""
    value = cols.get(name)
    if value is None:
        return np.full(np.shape(cols["params_millions"]), np.nan)
    value = np.asarray(value, dtype=float)
    return np.where(value > 0, value, np.nan)


def work_scale(task: np.ndarray, height: np.ndarray, width: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """``workload.work_scale`` over arrays: work relative to the task's default image and steps."""
    task = task.astype(str)
    side = _lookup(task, _DEFAULT_SIDE)
    pixels = np.where(np.isnan(height) | np.isnan(width) | np.isnan(side), 1.0, height * width / side**2)
    t2i = task == Task.TEXT_TO_IMAGE.value
    return pixels * np.where(t2i & ~np.isnan(steps), steps / workload.DEFAULT_STEPS, 1.0)


def request_work(cols: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """What one request costs, from the profile columns (``workload.prefill_flops`` over arrays).

    ``tokens_in`` are the tokens the parallel pass sees (the KV cache holds them),
    ``work_tokens`` the compute-equivalent ones (FLOPs / 2 · active params), ``active``
    the parameters each token passes through and ``flops`` the parallel pass's FLOPs.
    """
    task = np.asarray(cols["task"]).astype(str)
    scale = work_scale(task, _given(cols, "image_height"), _given(cols, "image_width"), _given(cols, "steps"))
    tokens_in, tokens_out = effective_tokens(task, cols["input_tokens"], cols["output_tokens"], scale)
    params = np.asarray(cols["params_millions"], dtype=float) * 1e6
    active = _given(cols, "active_params_millions") * 1e6
    active = np.where(np.isnan(active), params, np.minimum(active, params))
    gflops = _given(cols, "gflops_per_request")
    flops = np.where(np.isnan(gflops), 2.0 * active * tokens_in, gflops * 1e9)
    return {"tokens_in": tokens_in, "tokens_out": tokens_out, "params": params, "active": active,
            "flops": flops, "work_tokens": flops / np.maximum(2.0 * active, 1.0)}


def effective_tokens(task: np.ndarray, input_tokens: np.ndarray, output_tokens: np.ndarray,
                     scale: np.ndarray | float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Tokens a request pushes through the network, as ``workload.input_tokens``/``output_tokens``
    (``scale``: the work relative to the task's default image size and steps)."""
    task = task.astype(str)
    text = _isin(task, [t.value for t in workload.TEXT_TASKS])
    default_in = _lookup(task, _DEFAULT_INPUT)
    given_in = np.where(np.isnan(input_tokens) | (input_tokens <= 0), default_in, input_tokens)
    tokens_in = np.where(text, given_in, _lookup(task, _TASK_TOKENS) * scale)
    llm = task == Task.LLM_GENERATION.value
    speech = task == Task.SPEECH_RECOGNITION.value
    given_out = np.where(np.isnan(output_tokens) | (output_tokens <= 0), np.nan, output_tokens)
    tokens_out = np.where(llm, np.where(np.isnan(given_out), float(workload.DEFAULT_OUTPUT_TOKENS), given_out),
                          np.where(speech, np.where(np.isnan(given_out), 100.0, given_out), 0.0))
    return tokens_in, tokens_out


def tflops_at_precision(precision: np.ndarray, fp16: np.ndarray, fp32: np.ndarray, int8: np.ndarray) -> np.ndarray:
    """``GpuSpec.tflops_at`` over arrays (NaN for CPU rows)."""
    precision = precision.astype(str)
    fp16_or_32 = np.where(np.isnan(fp16) | (fp16 == 0), fp32, fp16)
    low = np.where(np.isnan(int8) | (int8 == 0), fp16_or_32, int8)
    return np.where(precision == Precision.FP32.value, fp32,
                    np.where(_isin(precision, _LOW_PRECISION), low, fp16_or_32))


def physics(cols: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Roofline quantities per row: the baseline heuristic's arithmetic over arrays."""
    work = request_work(cols)
    tokens_in, tokens_out, params, flops = work["tokens_in"], work["tokens_out"], work["params"], work["flops"]
    bytes_per_param = _lookup(cols["precision"], _BYTES)
    weight_bytes = params * bytes_per_param              # what memory holds
    active_bytes = work["active"] * bytes_per_param      # what each decode step streams
    count = cols["accelerator_count"]
    has_gpu = count > 0
    # Fractional counts are vGPU slices: a share of one GPU, with no parallelism penalty.
    parallel = np.where(has_gpu, count, 1.0) * 0.9 ** np.maximum(0.0, np.log2(np.maximum(count, 1.0)))
    tflops = tflops_at_precision(cols["precision"], cols["gpu_fp16_tflops"], cols["gpu_fp32_tflops"],
                                 cols["gpu_int8_tops"])
    bandwidth = cols["gpu_bandwidth_gbps"]
    llm = cols["task"].astype(str) == Task.LLM_GENERATION.value

    with np.errstate(divide="ignore", invalid="ignore"):
        ideal_compute_ms = flops / (tflops * parallel * 1e12) * 1e3
        ideal_decode_ms = tokens_out * active_bytes / (bandwidth * parallel * 1e9) * 1e3
        prefill_ms = flops / (tflops * parallel * baseline.GPU_MFU * 1e12) * 1e3
        step_ms = active_bytes / (bandwidth * 1e9 * parallel * baseline.GPU_BANDWIDTH_EFFICIENCY) * 1e3
        gpu_service = np.where(llm, prefill_ms + tokens_out * step_ms,
                               np.maximum(prefill_ms * baseline.BATCH, 1.0))
        cpu_speed = np.where(_isin(cols["precision"].astype(str), (Precision.INT8.value, Precision.INT4.value)),
                             2.0, 1.0)
        cpu_ms = flops / (baseline.CPU_GFLOPS_PER_VCPU * 1e9 * cpu_speed * 2.0) * 1e3 + baseline.CPU_OVERHEAD_MS
        cpu_ms = cpu_ms + np.where(llm, tokens_out * active_bytes / 10e9 * 1e3, 0.0)
        cpu_ideal_ms = flops / (baseline.CPU_GFLOPS_PER_VCPU * 1e9 * cpu_speed) * 1e3
        service_ms = np.where(has_gpu, gpu_service, cpu_ms)
        concurrency = np.where(has_gpu, float(baseline.BATCH), np.maximum(1.0, cols["vcpus"] / 2.0))
        tail_ms = service_ms * baseline.TAIL_FACTOR
        slo = cols["slo_p95_latency_ms"]
        rho = np.minimum(baseline.MAX_UTILIZATION, 1.0 - tail_ms / slo)
        rps = np.where(tail_ms >= slo, 0.0, concurrency / (service_ms / 1e3) * rho)
        p95 = np.where(tail_ms >= slo, tail_ms, tail_ms / (1.0 - rho))

        usable = np.where(has_gpu, cols["gpu_memory_gib"] * count * candidates.GPU_MEMORY_USABLE,
                          cols["host_memory_gib"] * candidates.HOST_MEMORY_USABLE
                          - candidates.HOST_MEMORY_RESERVED_GIB)
        fit = cols["memory_gib"] / np.maximum(usable, 1e-6)
        # Memory beside the weights, and how many requests' KV cache (generation) fits in it.
        # KV bytes per token ≈ 2 · layers · d_model · 2 bytes, with layers · d_model ≈
        # 0.037 · params^(2/3) for common transformer shapes (Llama-7B: 32 · 4096; 70B: 80 · 8192).
        weight_gib = weight_bytes / workload.GIB
        headroom = usable - weight_gib
        kv_gib = 2.0 * KV_LAYER_WIDTH_PER_PARAM_23 * work["active"] ** (2.0 / 3.0) * 2.0 * (tokens_in + tokens_out) \
            / workload.GIB
        sequences = np.where(llm, np.maximum(headroom, 0.0) / np.maximum(kv_gib, 1e-9), np.nan)
        stream_ms = active_bytes / (bandwidth * 1e9 * parallel) * 1e3
        batch = np.clip(np.nan_to_num(sequences, nan=1.0), 1.0, MAX_DECODE_BATCH)
        decode_rps = np.where(llm & has_gpu, batch / (np.maximum(tokens_out, 1.0) * stream_ms) * 1e3, np.nan)
        intensity = (flops / np.maximum(weight_bytes, 1.0)) / (tflops * 1e12 / (bandwidth * 1e9))
        vcpus_per_gpu = np.where(has_gpu, cols["vcpus"] / np.maximum(count, 1e-9), np.nan)
        roofline = gpu_roofline(cols, work, weight_bytes, active_bytes, tflops)
        slots = roofline.pop("roofline_request_slots")
        saturation = concurrency / (service_ms / 1e3)
    return {
        **roofline,
        # What the saturation model corrects: the batched roofline on GPUs, the whiteboard on CPUs.
        "saturation_anchor_rps": np.where(has_gpu, roofline["roofline_saturation_rps"], saturation),
        # Requests a replica serves at once: the latency anchor's servers (see learned.curve).
        "queue_slots": np.where(has_gpu, slots, concurrency),
        # Two vCPUs feed the GPUs; the rest tokenise, decode images and serialise responses.
        "log_free_host_vcpus": np.log10(np.maximum(np.asarray(cols["vcpus"], dtype=float) - 2.0, 1.0)),
        "weight_gib": weight_gib,
        "memory_headroom_gib": headroom,
        "log_sequences_in_memory": np.log10(np.maximum(sequences, 1e-3)),
        "log_weight_stream_ms": np.where(has_gpu, np.log10(stream_ms + 1e-9), np.nan),
        "log_batched_decode_rps": np.log10(np.maximum(decode_rps, 1e-9)),
        "arithmetic_intensity_ratio": np.where(has_gpu, intensity, np.nan),
        "vcpus_per_gpu": vcpus_per_gpu,
        "input_tokens_eff": work["work_tokens"],
        "output_tokens_eff": tokens_out,
        "gpu_tflops_at_precision": tflops,
        "log_ideal_compute_ms": np.log10(np.where(has_gpu, ideal_compute_ms, cpu_ideal_ms) + 1e-6),
        "log_ideal_decode_ms": np.where(has_gpu, np.log10(ideal_decode_ms + 1e-6), np.nan),
        "log_physics_service_ms": np.log10(service_ms),
        "physics_rps": rps,
        "physics_p95_ms": p95,
        # Floor at 1e-3 rps: "cannot meet the SLO" stays ordered below "barely meets it".
        "log_physics_rps": np.log10(np.maximum(rps, 1e-3)),
        "physics_saturation_rps": saturation,
        "log_physics_saturation_rps": np.log10(saturation),
        "physics_tail_ms": tail_ms,
        "physics_tail_to_slo": tail_ms / slo,
        "memory_fit_ratio": fit,
    }


# ---------------------------------------------------------------------------------------
# The batched GPU roofline: the anchor the saturation model corrects on GPUs
#
# The whiteboard estimate above runs every model at a fixed batch of 8, so its error on a GPU
# swings by an order of magnitude between small models (bound by per-batch overheads) and large
# ones (bound by weight streaming or memory for the batch). That error is what the saturation
# trees had to learn, profile by profile, and they could not learn it for profiles they had not
# seen. The roofline below is a serving engineer's capacity model instead: the smallest
# tensor-parallel group that holds the weights, as many model copies as the GPUs allow, and the
# best batch on a grid — each batch costs a fixed launch overhead plus the larger of its compute
# and its memory traffic, and generation holds a KV cache per sequence. Its constants are
# generic public figures, not fitted: the trees learn what each framework, GPU and task make of it.

ROOFLINE_MFU = 0.45                 # tensor-core utilisation a well-tuned server reaches
ROOFLINE_BANDWIDTH_EFFICIENCY = 0.8
ROOFLINE_BATCH_OVERHEAD_MS = 1.0    # framework and scheduling cost per batch
ROOFLINE_LAUNCH_MS_PER_LAYER = 0.01
ROOFLINE_DECODE_STEP_MS = 0.3       # scheduler work per generation step
ROOFLINE_RUNTIME_GIB = 1.5          # CUDA context, allocator pools, framework per GPU
ROOFLINE_TP_EFFICIENCY = 0.9        # per doubling of the tensor-parallel group
ROOFLINE_BATCHES = np.array([1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0])
GENERATIVE_TASKS = (Task.LLM_GENERATION.value, Task.SPEECH_RECOGNITION.value)
# The roofline's time for one batch of each size (NaN where the batch does not fit): the
# latency anchor's batching options. Not model inputs; ``learned.curve`` reads them.
ROOFLINE_BATCH_COLUMNS = tuple(f"roofline_batch_{int(b)}_ms" for b in ROOFLINE_BATCHES)


def gpu_roofline(cols: Mapping[str, np.ndarray], work: Mapping[str, np.ndarray], weight_bytes: np.ndarray,
                 active_bytes: np.ndarray, tflops: np.ndarray) -> dict[str, np.ndarray]:
    """Saturation throughput (rps per instance) of the best batch on a GPU instance, and how
    it gets there (batch, batch time, tensor-parallel group, copies, requests in flight).
    NaN for CPU rows, except the request slots, which ``physics`` replaces there.
    ``work`` is ``request_work`` of the rows; memory holds ``weight_bytes``, each pass
    streams ``active_bytes`` (they differ for a mixture of experts)."""
    tokens_in, tokens_out, params = work["tokens_in"], work["tokens_out"], work["active"]
    count = np.nan_to_num(np.asarray(cols["accelerator_count"], dtype=float))
    has_gpu = count > 0
    share = np.clip(count, 1e-9, 1.0)  # a vGPU slice has a share of one GPU's memory and speed
    whole = np.maximum(np.floor(count + 1e-9), 1.0)
    usable = np.nan_to_num(np.asarray(cols["gpu_memory_gib"], dtype=float)) * workload.GIB \
        * candidates.GPU_MEMORY_USABLE * share
    generative = _isin(cols["task"].astype(str), GENERATIVE_TASKS)
    kv_per_token = 2.0 * KV_LAYER_WIDTH_PER_PARAM_23 * params ** (2.0 / 3.0) * 2.0
    kv_sequence = np.where(generative, kv_per_token * (tokens_in + tokens_out), 0.0)
    kv_average = kv_per_token * (tokens_in + tokens_out / 2.0)
    runtime = ROOFLINE_RUNTIME_GIB * workload.GIB
    tp = np.full(count.shape, np.nan)
    for group in (8.0, 4.0, 2.0, 1.0):  # smallest group last, so it wins
        fits = (weight_bytes / group + runtime + kv_sequence / group <= usable) & (group <= whole)
        tp = np.where(fits, group, tp)
    tp = np.nan_to_num(tp, nan=1.0)
    copies = np.maximum(np.floor(whole / tp), 1.0)
    free = usable * tp - weight_bytes - runtime * tp
    batch_memory = np.where(generative, np.floor(np.maximum(free, 0.0) / np.maximum(kv_sequence, 1.0)),
                            ROOFLINE_BATCHES[-1])
    scale = tp * ROOFLINE_TP_EFFICIENCY ** np.log2(tp) * share
    compute = np.maximum(np.nan_to_num(tflops) * 1e9 * ROOFLINE_MFU * scale, 1e-9)      # FLOPs per ms
    bandwidth = np.maximum(np.nan_to_num(np.asarray(cols["gpu_bandwidth_gbps"], dtype=float)) * 1e6
                           * ROOFLINE_BANDWIDTH_EFFICIENCY * scale, 1e-9)                # bytes per ms
    fixed = ROOFLINE_BATCH_OVERHEAD_MS + ROOFLINE_LAUNCH_MS_PER_LAYER * 2.0 * np.cbrt(np.maximum(params, 1e6) / 1e6)
    b = ROOFLINE_BATCHES[None, :]
    flops = work["flops"][:, None]
    stream = (active_bytes / bandwidth)[:, None]
    # Non-generative: one pass streams the weights once and computes the whole batch.
    one_pass = fixed[:, None] + np.maximum(b * flops / compute[:, None], stream)
    # Generation (continuous batching): every sequence's prefill, then one step per output token
    # that streams the weights and the batch's KV cache, or computes the batch, whichever is slower.
    step = ROOFLINE_DECODE_STEP_MS + np.maximum(stream + b * (kv_average / bandwidth)[:, None],
                                                b * (2.0 * params / compute)[:, None])
    generate = fixed[:, None] + b * flops / compute[:, None] + tokens_out[:, None] * step
    batch_ms = np.where(generative[:, None], generate, one_pass)
    batch_fits = b <= np.maximum(batch_memory, 1.0)[:, None]
    rate = np.where(batch_fits, b / batch_ms, 0.0)
    best = rate.argmax(axis=1)
    rows = np.arange(len(best))
    saturation = rate[rows, best] * copies * 1e3
    nan = np.nan
    usable_batch = has_gpu[:, None] & batch_fits
    per_batch = np.where(usable_batch, np.broadcast_to(batch_ms, usable_batch.shape), nan)
    return {
        **{name: per_batch[:, j] for j, name in enumerate(ROOFLINE_BATCH_COLUMNS)},
        "roofline_request_slots": ROOFLINE_BATCHES[best] * copies,
        "roofline_saturation_rps": np.where(has_gpu, saturation, nan),
        "log_roofline_saturation_rps": np.where(has_gpu, np.log10(np.maximum(saturation, 1e-9)), nan),
        "log_roofline_batch": np.where(has_gpu, np.log10(ROOFLINE_BATCHES[best]), nan),
        "log_roofline_batch_ms": np.where(has_gpu, np.log10(batch_ms[rows, best]), nan),
        "tensor_parallel_degree": np.where(has_gpu, tp, nan),
        "model_copies": np.where(has_gpu, copies, nan),
    }


# ---------------------------------------------------------------------------------------
# Encoding and the matrix


def encode(values: np.ndarray, categories: Sequence[str]) -> np.ndarray:
    """Codes into a fixed category list as float (NaN where the value is not in the list)."""
    values = np.asarray(values, dtype=object)
    if values.size <= 4:  # a profile's own values: a dict lookup beats building an index
        table = _code_table(tuple(categories))
        return np.array([table.get(v, np.nan) for v in values.ravel()], dtype=float).reshape(values.shape)
    codes = _category_index(tuple(categories)).get_indexer(values)
    return np.where(codes < 0, np.nan, codes).astype(float)


@functools.lru_cache(maxsize=64)
def _category_index(categories: tuple[str, ...]) -> pd.Index:
    return pd.Index(list(categories), dtype=object)


@functools.lru_cache(maxsize=64)
def _code_table(categories: tuple[str, ...]) -> dict[str, float]:
    return {c: float(i) for i, c in enumerate(categories)}


OFFERING_CATEGORICAL = ("cloud", "region", "family", "arch", "accelerator")
PROFILE_CATEGORICAL = ("task", "framework", "precision")


def offering_features(cols: Mapping[str, np.ndarray], spec: FeatureSpec) -> dict[str, np.ndarray]:
    """The features that depend on the offering alone (a server computes them once per catalog)."""
    out: dict[str, np.ndarray] = {}
    for name in ("accelerator_count", "vcpus", "host_memory_gib", "gpu_memory_gib", "gpu_bandwidth_gbps",
                 "price_hour_usd", "spot_interruption_rate"):
        out[name] = np.asarray(cols[name], dtype=float)
    for name in OFFERING_CATEGORICAL:
        values = np.asarray(cols[name], dtype=object)
        if name == "accelerator":
            values = np.where((values == "") | pd.isna(values), CPU_ONLY, values)
        out[name] = encode(values, spec.categories[name])
    with np.errstate(divide="ignore", invalid="ignore"):
        out["spot_discount"] = np.asarray(cols["spot_price_hour_usd"], float) / np.asarray(cols["price_hour_usd"], float)
    return out


def derive(cols: Mapping[str, np.ndarray], spec: FeatureSpec,
           offering: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Every feature, by name, from raw columns (arrays that broadcast to a common length).

    ``offering`` may pass ``offering_features`` of the same rows, computed earlier.
    """
    out: dict[str, np.ndarray] = dict(physics(cols))
    out.update(offering if offering is not None else offering_features(cols, spec))
    for name in ("params_millions", "memory_gib", "slo_p95_latency_ms"):
        out[name] = np.asarray(cols[name], dtype=float)
    for name in PROFILE_CATEGORICAL:
        out[name] = encode(np.asarray(cols[name], dtype=object), spec.categories[name])
    if "purchase" in cols:
        out["purchase"] = encode(np.asarray(cols["purchase"], dtype=object), spec.categories["purchase"])
    if "utilization" in cols:
        out["utilization"] = np.asarray(cols["utilization"], dtype=float)
    if "replicas" in cols:
        out["log_replicas"] = np.log10(np.maximum(np.asarray(cols["replicas"], dtype=float), 1.0))
    return out


def matrix(features: Mapping[str, np.ndarray], names: Sequence[str], missing_ok: bool = False) -> np.ndarray:
    """A C-ordered float64 matrix with ``names`` as columns, broadcasting length-1 columns
    (columns absent from ``features`` are NaN when ``missing_ok``, for the caller to fill)."""
    columns = [features.get(name) for name in names] if missing_ok else [features[name] for name in names]
    # ``.size`` rather than ``np.size``: this runs a few times per model recommended.
    n = max([c.size if isinstance(c, np.ndarray) else np.size(c) for c in columns if c is not None])
    out = np.full((n, len(names)), np.nan) if missing_ok else np.empty((n, len(names)), dtype=np.float64)
    for j, column in enumerate(columns):
        if column is not None:
            out[:, j] = column
    return out


def work_columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """``WORK_COLUMNS`` of log rows as floats, NaN where absent (logs older than those columns)."""
    n = len(frame)
    return {name: pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            if name in frame.columns else np.full(n, np.nan) for name in WORK_COLUMNS}


def log_columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Raw columns of joined log rows (see ``join_offerings``), as arrays.

    ``utilization`` is the busy share of the device that bounds throughput: the GPUs when
    the model ran on them, else the vCPUs (CPU offerings, or CPU-only frameworks on a
    GPU instance, which leave the GPU at 0).
    """
    cols = {name: frame[name].to_numpy() for name in (*PROFILE_COLUMNS, *OFFERING_KEY, *OFFERING_COLUMNS)}
    cols["purchase"] = frame["purchase"].to_numpy()
    cols.update(work_columns(frame))
    for name in ("params_millions", "memory_gib", "input_tokens", "output_tokens", "slo_p95_latency_ms",
                 "accelerator_count"):
        cols[name] = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)
    offered = pd.to_numeric(frame["offered_rps"], errors="coerce").to_numpy(dtype=float)
    replicas = pd.to_numeric(frame["replicas"], errors="coerce").to_numpy(dtype=float)
    gpu = pd.to_numeric(frame["gpu_utilization"], errors="coerce").to_numpy(dtype=float)
    cpu = pd.to_numeric(frame["cpu_utilization"], errors="coerce").to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        cols["load_per_replica"] = offered / replicas
    cols["utilization"] = np.where(gpu > 0, gpu, cpu)
    cols["replicas"] = replicas
    return cols
