"""The world: noise-free ground truth of how a model serves on an offering.

The simulator samples deployment logs from this world, and evaluation uses it as the
oracle ("the cheapest configuration that truly meets the SLO"). It is deliberately richer
than, and different from, the whiteboard roofline in ``placement/baseline.py``.

Everything is computed per (profile, offering, purchase) with numpy over columns; the
scalar ``World.truth`` is the one-row case of the same code.

Calibration
    The constants below are whiteboard figures; ``WorldParams`` multiplies them (compute and
    bandwidth efficiency per GPU generation, work per task, low-precision tensor rates, CPU
    rate) with the values ``roost calibrate`` fitted to public benchmarks
    (``history/calibration.py``, ``history/data/world.json``; docs/calibration.md).

Work per request
    FLOPs ≈ 2 · active params · work tokens (× the calibrated work factor of the task), or
    the profile's explicit ``gflops_per_request``. Text tasks use their input tokens; images
    use the patches/pixels of their default resolution (classification 224² ≈ 180,
    detection 640² ≈ 1,500, segmentation 512² ≈ 2,000), scaled by the stated image's
    pixels; text-to-image 25,000 tokens at 512² and 30 steps, scaled by pixels and steps;
    speech runs an encoder (half the parameters) over its frames (30 s of audio = 1,500)
    and decodes ``output_tokens`` with the other half; LLMs prefill the prompt
    (compute-bound) and decode ``output_tokens`` one step at a time. A mixture of experts
    holds ``params_millions`` in memory and computes and streams its active parameters; a
    ranking model streams its dense part and gathers its embedding rows.

GPU service time (one replica, a batch of B requests)
    effective compute = peak(precision) · MFU(GPU generation) · framework efficiency
    effective bandwidth = HBM bandwidth · framework bandwidth efficiency
    Non-generative:  S(B) = framework overhead + kernel launches + max(B·FLOPs / compute,
                     (weights + B·activations) / bandwidth)         (saturating in B)
    LLM decode step: step(B) = step overhead + max((weights + B·KV per sequence) / bandwidth,
                     B · 2·params / compute) + all-reduce latency (tensor parallel)
    LLM request:     continuous batching (vllm, tgi, tensorrt):
                         S(B) = prefill + out·step(B) + (B−1)·prefill   (peers' prefills stall decode)
                     static batching (others): S(B) = B·prefill + 1.3·out·step(B) (padding)
    Precision paths: bf16 is emulated at fp32 rate on Volta/Turing; int8 runs on INT8
    tensor cores only with frameworks that ship int8 kernels, else weight-only at fp16
    rate; fp8 is fast only on Ada, Hopper and Blackwell with fp8-capable frameworks; int4
    is weight-only (fp16 compute, half the bytes to stream).
    Tensor parallelism over t GPUs scales compute and bandwidth by t · e^log2(t), e = 0.92
    over NVLink (SXM parts), 0.78 over PCIe. Models that fit on one GPU run one copy per
    GPU instead (data parallel streams). vGPU slices get their fraction of a GPU.

Memory (per GPU)
    usable = nominal GB · 0.931 (GB→GiB) · 0.97 (driver/ECC) · slice fraction
    need   = weights / t + runtime (CUDA context + framework, 1–2 GiB) + per-request
             activations, or for LLMs a KV cache of 2 · layers · d_model · bytes · GQA share
             per token over (input + output) tokens, divided by the framework's KV memory
             efficiency (paged attention ≈ 0.95, pre-allocated ≈ 0.5). Layers and d_model
             follow params ≈ 12 · layers · d², d ≈ 128 · layers. OOM when a single request
             does not fit on the largest tensor-parallel group the instance has; the batch is
             further capped by the memory left.

CPU service time (no GPU, or a CPU-only framework: sklearn, xgboost, lightgbm, openvino)
    per-vCPU GFLOP/s by CPU generation (AVX-512/VNNI, AMX, AVX2, Graviton SVE, Neoverse N1),
    precision factors (int8 with VNNI/AMX/i8mm, bf16 with AMX/SVE-bf16), framework factor;
    t threads per worker with Amdahl speed-up, vCPUs / t workers; decoding on CPU is bound
    by DRAM bandwidth (≈ 4–9 GB/s per vCPU, ≤ 150 GB/s per instance).

Host stage (GPU path)
    Every request also costs CPU time on the host (JPEG decode 4 ms, audio features 30 ms,
    tokenisation 0.3 ms, …) served by vCPUs − 2 workers: small hosts starve big GPUs.

Latency and capacity
    Each stage is a c-server queue (c = streams · B slots, service S). Service time varies
    lognormally (σ by framework; output-length variance for generation). Waiting time
    follows the M/M/c tail with Sakasegawa's P(wait) ≈ ρ^(√(2(c+1))−1), scaled by
    (1 + cv²)/2 (Allen–Cunneen): w_p = (1+cv²)/2 · S / (c(1−ρ)) · ln(P(wait)/(1−p)).
    Latency p-quantile = service quantile + waiting quantile (both stages), so
    p99 ≥ p95 ≥ p50 always. Capacity at the SLO is the largest load with p95 ≤ SLO and
    utilisation ≤ 0.95, maximised over the batch size (threads per worker on CPU). Bigger
    batches raise throughput and latency: only capacity at the SLO counts.

Systematic effects and risk
    A persistent per (cloud, region, family) speed factor (lognormal, σ = 0.04, from the
    world seed) models host generations and neighbours. Spot interruption rates per month
    are the AWS Spot Advisor bucket midpoints (``placement.sizing``), with priors for GCP
    and Azure by GPU scarcity. Capacity shortages: a per-deployment failure probability by
    GPU scarcity (H100/H200/B200 ≫ A100 ≫ T4/L4), ×3 on spot, ×1.5 for 8-GPU machines.
"""
from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from placement import features as F
from placement.catalog import Catalog
from placement.errors import InputError
from placement.sizing import INTERRUPTION_RATE_BY_BUCKET, INTERRUPTION_RATE_UNKNOWN
from placement.types import BYTES_PER_PARAM, Cloud, ModelProfile, Offering, Precision, Purchase, Task

GIB = 1024.0**3
Z = {0.50: 0.0, 0.95: 1.6448536269514722, 0.99: 2.3263478740408408}

# --- grids and caps ---------------------------------------------------------------------
# In-flight batching engines (TensorRT-LLM) run decode batches of a thousand sequences when
# memory allows; the benchmark ceilings are only reachable with them.
BATCH_GRID = np.array([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024], dtype=float)
MAX_UTILIZATION = 0.95          # nobody runs a replica hotter than this on purpose
REQUEST_TIMEOUT_MS = 120_000.0  # latencies of overloaded replicas are cut here

# --- tasks ---------------------------------------------------------------------------------
TASKS = tuple(t.value for t in Task)
PRECISIONS = tuple(p.value for p in Precision)
_T = {t: i for i, t in enumerate(TASKS)}

DEFAULT_INPUT_TOKENS = {"text-embedding": 256, "text-classification": 128, "llm-generation": 512,
                        "speech-recognition": 1500}
DEFAULT_OUTPUT_TOKENS = {"llm-generation": 256, "speech-recognition": 100}
# Work tokens for tasks whose input is not text (FLOPs ≈ 2 · params · tokens).
WORK_TOKENS = {"tabular": 1.0, "recommendation": 128.0, "image-classification": 180.0,
               "object-detection": 1500.0, "image-segmentation": 2000.0, "text-to-image": 25_000.0}
# Activation memory per in-flight request (bytes) at a 100 M-parameter scale.
ACTIVATION_BYTES = {"tabular": 1e6, "recommendation": 5e6, "image-classification": 30e6,
                    "object-detection": 150e6, "image-segmentation": 300e6, "text-embedding": 8e6,
                    "text-classification": 4e6, "speech-recognition": 100e6, "llm-generation": 0.0,
                    "text-to-image": 0.4e9}  # memory-efficient attention: SDXL at 1024² ≈ 8 GB
# Host CPU work per request on the GPU path (decode, resize, tokenise, encode), ms·vCPU.
HOST_CPU_MS = {"tabular": 0.2, "recommendation": 0.5, "image-classification": 4.0,
               "object-detection": 8.0, "image-segmentation": 10.0, "text-embedding": 0.3,
               "text-classification": 0.3, "speech-recognition": 30.0, "llm-generation": 1.0,
               "text-to-image": 20.0}
# Layers per cube root of params (millions): kernel launches and all-reduces scale with it.
LAYER_FACTOR = {"image-classification": 12.0, "object-detection": 14.0, "image-segmentation": 14.0,
                "text-to-image": 10.0}
LAYER_FACTOR_DEFAULT = 1.7
# Embedding gathers of a ranking request: 128 items × 26 sparse features × 64 dims × 4 bytes.
RECOMMENDATION_GATHER_BYTES = 128 * 26 * 64 * 4.0


@dataclass(frozen=True)
class FrameworkTraits:
    gpu: bool                 # has a CUDA backend
    cpu: bool                 # has a CPU backend
    max_batch: int            # largest batch its server forms
    overhead_ms: float        # per batch: request handling, scheduling, launch
    host_ms: float            # per request on the host CPU (Python serving)
    launch_ms: float          # per layer and batch (eager ≫ compiled/graphs)
    gpu_eff: float            # share of the GPU's achievable compute it reaches
    bw_eff: float             # share of peak HBM bandwidth in decode
    continuous: bool          # continuous (in-flight) batching for generation
    kv_eff: float             # KV-cache memory efficiency (paged ≈ 0.95)
    int8: bool                # INT8 tensor-core kernels
    fp8: bool                 # FP8 kernels (Ada/Hopper/Blackwell)
    int4: bool                # fast int4 weight-only kernels
    sigma: float              # lognormal spread of service time
    cpu_eff: float            # factor on the CPU's GFLOP/s
    runtime_gib: float        # CUDA context + framework memory per GPU


FRAMEWORKS: dict[str, FrameworkTraits] = {
    "pytorch": FrameworkTraits(True, True, 8, 2.0, 0.5, 0.020, 0.60, 0.50, False, 0.50, False, False, False, 0.25, 0.75, 1.5),
    "tensorflow": FrameworkTraits(True, True, 16, 2.5, 0.5, 0.020, 0.60, 0.50, False, 0.50, False, False, False, 0.25, 0.80, 2.0),
    "onnx": FrameworkTraits(True, True, 32, 0.8, 0.2, 0.006, 0.75, 0.60, False, 0.60, True, False, False, 0.15, 1.10, 1.0),
    "tensorrt": FrameworkTraits(True, False, 1024, 0.4, 0.1, 0.004, 0.95, 0.80, True, 0.95, True, True, True, 0.10, 0.0, 1.2),
    "vllm": FrameworkTraits(True, True, 256, 3.0, 0.3, 0.004, 0.80, 0.80, True, 0.95, True, True, True, 0.15, 0.40, 1.5),
    "triton": FrameworkTraits(True, True, 64, 0.6, 0.2, 0.006, 0.85, 0.70, False, 0.60, True, False, False, 0.12, 1.00, 1.2),
    "tgi": FrameworkTraits(True, False, 128, 2.5, 0.4, 0.006, 0.75, 0.75, True, 0.90, False, True, True, 0.15, 0.0, 1.5),
    "jax": FrameworkTraits(True, True, 32, 1.5, 0.4, 0.006, 0.80, 0.65, False, 0.60, False, False, False, 0.15, 0.90, 1.0),
    "sklearn": FrameworkTraits(False, True, 1, 1.00, 0.0, 0.0, 0.0, 0.0, False, 1.0, False, False, False, 0.30, 0.50, 0.0),
    "xgboost": FrameworkTraits(False, True, 1, 0.60, 0.0, 0.0, 0.0, 0.0, False, 1.0, False, False, False, 0.20, 1.00, 0.0),
    "lightgbm": FrameworkTraits(False, True, 1, 0.50, 0.0, 0.0, 0.0, 0.0, False, 1.0, False, False, False, 0.20, 1.00, 0.0),
    "openvino": FrameworkTraits(False, True, 1, 0.50, 0.0, 0.0, 0.0, 0.0, False, 1.0, False, False, False, 0.12, 1.40, 0.0),
}
FRAMEWORK_FALLBACK = "pytorch"  # an unknown framework behaves like plain PyTorch
FRAMEWORK_NAMES = tuple(FRAMEWORKS)


@dataclass(frozen=True)
class GpuGeneration:
    mfu: float      # model FLOPs utilisation a well-fed large GEMM reaches
    bf16: bool
    fp8: bool


GPU_GENERATIONS: dict[str, GpuGeneration] = {
    "Volta": GpuGeneration(0.40, False, False),
    "Turing": GpuGeneration(0.40, False, False),
    "Ampere": GpuGeneration(0.50, True, False),
    "Ada Lovelace": GpuGeneration(0.45, True, True),
    "Hopper": GpuGeneration(0.45, True, True),
    "Blackwell": GpuGeneration(0.40, True, True),
    "Blackwell Ultra": GpuGeneration(0.40, True, True),
}
GPU_GENERATION_FALLBACK = GpuGeneration(0.40, True, False)
NVLINK_GPUS = frozenset({"V100", "V100-32GB", "A100-40GB", "A100-80GB", "H100", "H100-NVL", "H200", "B200", "B300"})
TP_EFFICIENCY_NVLINK = 0.92
TP_EFFICIENCY_PCIE = 0.78
ALLREDUCE_MS_NVLINK = 0.008
ALLREDUCE_MS_PCIE = 0.025
STEP_OVERHEAD_MS = {"vllm": 0.3, "tensorrt": 0.15, "tgi": 0.4}
STEP_OVERHEAD_DEFAULT_MS = 1.0
# Datasheet variants sold under the same GPU name (see the catalog data notes).
FAMILY_GPU_OVERRIDES = {
    "NCads_A100_v4": {"memory_bandwidth_gbps": 1935.0},           # A100 80GB PCIe
    "NCs_v3": {"fp16_tflops": 112.0, "fp32_tflops": 14.0},        # V100 PCIe
    "NCrs_v3": {"fp16_tflops": 112.0, "fp32_tflops": 14.0},
}
GPU_MEMORY_USABLE = 0.931 * 0.97


@dataclass(frozen=True)
class CpuGeneration:
    gflops: float          # achieved fp32 GFLOP/s per vCPU on inference kernels
    int8: float            # speed-up of int8 (VNNI / AMX / i8mm)
    bf16: float
    fp16: float
    dram_gbps: float       # DRAM bandwidth per vCPU


CPU_GENERATIONS: dict[str, CpuGeneration] = {
    "icelake": CpuGeneration(60.0, 3.0, 0.9, 0.9, 5.0),      # AVX-512 + VNNI
    "sapphire": CpuGeneration(70.0, 8.0, 6.0, 0.9, 6.0),     # + AMX (int8, bf16)
    "granite": CpuGeneration(80.0, 8.0, 6.0, 6.0, 7.0),      # + AMX-FP16
    "skylake": CpuGeneration(50.0, 2.0, 0.9, 0.9, 4.0),
    "milan": CpuGeneration(40.0, 1.5, 0.9, 0.9, 5.0),        # AVX2 only
    "shared": CpuGeneration(30.0, 1.3, 0.9, 0.9, 3.0),       # mixed generations, shared cores
    "graviton3": CpuGeneration(50.0, 2.5, 2.0, 1.8, 8.0),    # SVE 256-bit, bf16, i8mm; 1 vCPU = 1 core
    "graviton2": CpuGeneration(25.0, 2.0, 0.9, 1.5, 5.0),
    "axion": CpuGeneration(60.0, 3.0, 2.5, 2.0, 9.0),        # Neoverse V2
    "altra": CpuGeneration(25.0, 1.8, 0.9, 1.6, 4.0),        # Neoverse N1
    "x86": CpuGeneration(40.0, 2.0, 0.9, 0.9, 4.0),
    "arm": CpuGeneration(30.0, 2.0, 0.9, 1.5, 5.0),
}
CPU_FAMILY_GENERATION = {
    "c6i": "icelake", "m6i": "icelake", "r6i": "icelake", "n2-standard": "icelake", "n2-highcpu": "icelake",
    "Ds_v5": "icelake", "Es_v5": "icelake", "c7i": "sapphire", "m7i": "sapphire", "c3-standard": "sapphire",
    "m8i": "granite", "Fs_v2": "skylake", "n2d-standard": "milan", "e2-standard": "shared",
    "c7g": "graviton3", "m7g": "graviton3", "g5g": "graviton2", "c4a-standard": "axion", "Dps_v5": "altra",
}
CPU_INSTANCE_BANDWIDTH_GBPS = 150.0
CPU_RUNTIME_GIB = 1.0      # interpreter + framework
HOST_OS_GIB = 1.0
HOST_MEMORY_USABLE = 0.92
HOST_SIGMA = 0.30

# --- the calibrated constants -----------------------------------------------------------------
@dataclass(frozen=True)
class WorldParams:
    """The world's free constants, as ``roost calibrate`` fits them to public benchmarks.

    Multipliers on the whiteboard figures above (1 = as written): compute and bandwidth
    efficiency per GPU generation, work per request per task, CPU rates. One frozen object,
    so a shifted world (faster GPUs, other prices) is ``dataclasses.replace`` of it.
    ``version`` names the calibration it came from and is written into every simulated row.
    """

    version: str = "uncalibrated"
    compute: tuple[tuple[str, float], ...] = ()     # GPU generation → × MFU
    bandwidth: tuple[tuple[str, float], ...] = ()   # GPU generation → × bandwidth efficiency
    work: tuple[tuple[str, float], ...] = ()        # task → × work per request
    precision: tuple[tuple[str, float], ...] = ()   # precision → × tensor rate reached (fp8, int8, int4 paths)
    cpu_rate: float = 1.0                           # × per-vCPU GFLOP/s of every CPU generation

    def of(self, table: str, key: str) -> float:
        return dict(getattr(self, table)).get(key, 1.0)

    def to_dict(self) -> dict:
        return {"version": self.version, "compute": dict(self.compute), "bandwidth": dict(self.bandwidth),
                "work": dict(self.work), "precision": dict(self.precision), "cpu_rate": self.cpu_rate}

    @classmethod
    def from_dict(cls, data: dict) -> WorldParams:
        def pairs(name: str) -> tuple[tuple[str, float], ...]:
            return tuple(sorted((str(k), float(v)) for k, v in (data.get(name) or {}).items()))
        return cls(version=str(data.get("version", "uncalibrated")), compute=pairs("compute"),
                   bandwidth=pairs("bandwidth"), work=pairs("work"), precision=pairs("precision"),
                   cpu_rate=float(data.get("cpu_rate", 1.0)))


UNCALIBRATED = WorldParams()


# --- spot and capacity risk ------------------------------------------------------------------
# Priors for clouds that publish no per-type interruption data (fraction interrupted per month).
SPOT_PRIOR = {Cloud.GCP.value: {"cpu": 0.10, "small": 0.15, "large": 0.25, "scarce": 0.30},
              Cloud.AZURE.value: {"cpu": 0.08, "small": 0.15, "large": 0.25, "scarce": 0.30}}
GPU_CLASS = {"T4": "small", "T4G": "small", "L4": "small", "A10": "small", "A10G": "small", "V100": "small",
             "V100-32GB": "small", "L40S": "large", "RTX-PRO-6000": "large", "A100-40GB": "large",
             "A100-80GB": "large", "H100": "scarce", "H100-NVL": "scarce", "H200": "scarce", "B200": "scarce",
             "B300": "scarce"}
CAPACITY_FAILURE = {"cpu": 0.001, "small": 0.005, "large": 0.03, "scarce": 0.06}
CAPACITY_FAILURE_SPOT_FACTOR = 3.0
CAPACITY_FAILURE_BIG_MACHINE_FACTOR = 1.5   # 8-GPU machines
CAPACITY_FAILURE_REGION_FACTOR = {"us-east-1": 1.3, "us-central1": 1.2, "eastus": 1.2}
CAPACITY_FAILURE_MAX = 0.8
REGION_SPEED_SIGMA = 0.04

PROFILE_COLUMNS = ("task", "framework", "params_millions", "precision", "memory_gib", "input_tokens",
                   "output_tokens", "slo_p95_latency_ms")
# Optional: how much work a request is (absent: the task's default; placement.workload).
WORK_COLUMNS = F.WORK_COLUMNS
OFFERING_KEY = ("cloud", "region", "instance_type", "accelerator", "accelerator_count")


@dataclass(frozen=True)
class Truth:
    """Noise-free behaviour of one replica of a model on one offering.

    ``capacity_rps``: the largest load one replica sustains with p95 ≤ SLO (0 when it does
    not fit, cannot run, or misses the SLO even idle). Latencies are at the load given to
    ``World.truth`` or, without one, at capacity (idle when capacity is 0).
    ``max_rps`` is the saturation throughput ignoring the SLO.
    """

    fits: bool
    capacity_rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    interruption_rate_per_month: float
    capacity_failure_prob: float
    runs: bool = True
    max_rps: float = 0.0


@dataclass(frozen=True)
class DeploymentTruth:
    """Noise-free outcome of a whole deployment: ``replicas`` replicas under ``offered_rps``."""

    replica: Truth                      # one replica at offered_rps / replicas
    replicas: int
    offered_rps: float
    meets_slo: bool                     # fits, runs, and p95 at the per-replica load ≤ SLO
    capacity_failure_prob: float        # for all replicas (more machines to find)
    expected_interruptions_per_month: float


def deployment_failure_prob(per_deployment: np.ndarray | float, replicas: np.ndarray | float) -> np.ndarray:
    """Capacity-shortage probability of a deployment of ``replicas`` machines: 1 − (1 − p)^∛replicas."""
    return 1.0 - (1.0 - np.asarray(per_deployment, dtype=float)) ** np.cbrt(np.asarray(replicas, dtype=float))


@dataclass(frozen=True)
class ServiceModel:
    """Per (profile, offering) queueing parameters for each batch size option.

    Arrays are (n, len(BATCH_GRID)) for the main stage and (n,) for the host stage.
    """

    service_ms: np.ndarray
    slots: np.ndarray
    valid: np.ndarray
    sigma: np.ndarray
    host_ms: np.ndarray
    host_slots: np.ndarray
    fits: np.ndarray
    runs: np.ndarray
    gpu_path: np.ndarray
    slo_ms: np.ndarray

    def take(self, index: np.ndarray) -> ServiceModel:
        return ServiceModel(**{k: getattr(self, k)[index] for k in self.__dataclass_fields__})

    def scaled(self, speed: np.ndarray) -> ServiceModel:
        """The same replicas running ``speed`` times faster (speed < 1: slower)."""
        fields = {k: getattr(self, k) for k in self.__dataclass_fields__}
        fields["service_ms"] = self.service_ms / speed[:, None]
        fields["host_ms"] = self.host_ms / speed
        return ServiceModel(**fields)

    @property
    def device_max_rps(self) -> np.ndarray:
        """Saturation throughput of the accelerators alone (no host pre-processing, no SLO):
        what a benchmark that feeds pre-processed samples measures."""
        main = np.where(self.valid, self.slots / self.service_ms, 0.0).max(axis=1)
        return main * 1e3 * (self.fits & self.runs)

    @property
    def max_rps(self) -> np.ndarray:
        """Saturation throughput (requests/s) at the best batch size, ignoring the SLO."""
        main = np.where(self.valid, self.slots / self.service_ms, 0.0).max(axis=1)
        host = np.where(self.host_ms > 0, self.host_slots / np.maximum(self.host_ms, 1e-12), np.inf)
        return np.minimum(main, host) * 1e3 * (self.fits & self.runs)


@dataclass(frozen=True)
class WorldShift:
    """A changed world, for dry runs of the feedback loop (``roost history simulate --gpu-speed``).

    ``gpu_speed``: GPUs serve at this multiple of their speed (0.6: 40 % slower), every
    accelerator or only ``accelerator``; the host CPU stage and CPU-path serving keep their
    speed. ``price_factor``: instances cost this multiple of their catalog price, on every
    cloud or only ``cloud``. The physics and the catalog stay as they are, so a model trained
    on the unshifted world is now wrong by exactly these factors.
    """

    gpu_speed: float = 1.0
    accelerator: str | None = None
    price_factor: float = 1.0
    cloud: str | None = None

    def __post_init__(self) -> None:
        for name in ("gpu_speed", "price_factor"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0.0 < value <= 10.0):
                raise InputError(f"world shift: {name} must be in (0, 10], got {value:g}")

    @property
    def identity(self) -> bool:
        return self.gpu_speed == 1.0 and self.price_factor == 1.0

    def gpu_speed_of(self, accelerator: str | None) -> float:
        """Speed factor of an offering's GPUs (1 for CPU offerings and unshifted accelerators)."""
        if not accelerator or (self.accelerator and accelerator.lower() != self.accelerator.lower()):
            return 1.0
        return self.gpu_speed

    def price_factor_of(self, cloud: str) -> float:
        return self.price_factor if self.cloud is None or cloud == self.cloud else 1.0

    def to_dict(self) -> dict:
        return {"gpu_speed": self.gpu_speed, "accelerator": self.accelerator,
                "price_factor": self.price_factor, "cloud": self.cloud}


class World:
    """The ground truth the simulator samples from and evaluation scores against.

    The world is fixed by its seed (default 0: the world the bundled sample was drawn
    from); the simulator's own seed only drives sampling. ``shift`` changes GPU speed or
    prices (``WorldShift``); the default is the unshifted world.
    """

    def __init__(self, catalog: Catalog | None, *, seed: int = 0, params: WorldParams | None = None,
                 shift: WorldShift | None = None) -> None:
        # ``catalog`` may be None for a world that only rates machines it is handed
        # (``offering_frame``), as the calibration does with benchmark machines.
        self.catalog = catalog
        self.seed = seed
        if params is None:
            from history.calibration import bundled_world_params  # the bundled calibration

            params = bundled_world_params()
        self.params = params
        self.shift = shift or WorldShift()
        self._speed_cache: dict[str, float] = {}

    @property
    def version(self) -> str:
        return self.params.version

    # -- public API -------------------------------------------------------------------------
    def truth(self, profile: ModelProfile, offering: Offering, purchase: Purchase,
              rps_per_replica: float | None = None) -> Truth:
        prof = profile_frame([profile])
        off = self.offering_frame([offering])
        model = self.service_model(prof, off)
        purchase = Purchase(purchase)
        if rps_per_replica is None:
            cap, p50, p95, p99 = capacity_and_latency(model)
        else:
            cap = capacity(model)
            p50, p95, p99 = latencies(model, np.array([float(rps_per_replica)]))
        risk_spot = np.array([purchase is Purchase.SPOT])
        return Truth(
            fits=bool(model.fits[0]),
            capacity_rps=float(cap[0]),
            p50_ms=float(p50[0]), p95_ms=float(p95[0]), p99_ms=float(p99[0]),
            interruption_rate_per_month=float(interruption_rate(off, risk_spot)[0]),
            capacity_failure_prob=float(capacity_failure_prob(off, risk_spot)[0]),
            runs=bool(model.runs[0]),
            max_rps=float(model.max_rps[0]),
        )

    def deployment(self, profile: ModelProfile, offering: Offering, purchase: Purchase, replicas: int,
                   offered_rps: float | None = None) -> DeploymentTruth:
        """Truth for (profile, offering, replicas) under ``offered_rps`` (default: the profile's peak)."""
        if replicas < 1:
            raise ValueError("replicas must be ≥ 1")
        load = profile.peak_rps if offered_rps is None else offered_rps
        replica = self.truth(profile, offering, purchase, rps_per_replica=load / replicas)
        meets = replica.fits and replica.runs and replica.p95_ms <= profile.slo_p95_latency_ms
        return DeploymentTruth(
            replica=replica, replicas=replicas, offered_rps=load, meets_slo=bool(meets),
            capacity_failure_prob=float(deployment_failure_prob(replica.capacity_failure_prob, replicas)),
            expected_interruptions_per_month=replica.interruption_rate_per_month * replicas,
        )

    def truth_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Vectorised truth for every row of ``frame`` (profile + offering + purchase columns).

        Returns a frame on the same index with fits, runs, capacity_rps, max_rps, p50_ms,
        p95_ms, p99_ms (at capacity), interruption_rate_per_month, capacity_failure_prob.
        """
        missing = [c for c in (*PROFILE_COLUMNS, *OFFERING_KEY, "purchase") if c not in frame.columns]
        if missing:
            raise InputError(f"truth_frame: missing column(s) {', '.join(missing)}")
        off = self.lookup_offerings(frame)
        model = self.service_model(frame, off)
        cap, p50, p95, p99 = capacity_and_latency(model)
        spot = (frame["purchase"].astype(str).to_numpy() == Purchase.SPOT.value)
        return pd.DataFrame({
            "fits": model.fits, "runs": model.runs, "capacity_rps": cap, "max_rps": model.max_rps,
            "p50_ms": p50, "p95_ms": p95, "p99_ms": p99,
            "interruption_rate_per_month": interruption_rate(off, spot),
            "capacity_failure_prob": capacity_failure_prob(off, spot),
        }, index=frame.index)

    # -- offerings ----------------------------------------------------------------------------
    @cached_property
    def catalog_offerings(self) -> pd.DataFrame:
        """Physics and risk columns of every catalog offering, in catalog order, with its key."""
        return self.offering_frame(list(self.catalog.offerings))

    def lookup_offerings(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The catalog offering of each row (by cloud, region, instance_type, accelerator, count)."""
        return self.catalog_offerings.iloc[self.offering_index(frame)].reset_index(drop=True)

    def offering_index(self, frame: pd.DataFrame) -> np.ndarray:
        """Position in ``catalog_offerings`` of each row's offering; InputError if unknown."""
        keys = frame[list(OFFERING_KEY)].copy()
        keys["accelerator"] = keys["accelerator"].astype(object).where(keys["accelerator"].notna(), "")
        keys["accelerator_count"] = pd.to_numeric(keys["accelerator_count"], errors="coerce").fillna(0.0)
        # Keys are built for the distinct offerings only: frames repeat a few thousand of them.
        group = keys.groupby(list(OFFERING_KEY), sort=False, dropna=False).ngroup().to_numpy()
        first = np.unique(group, return_index=True)[1]
        distinct = keys.iloc[first]
        names = np.array([_key(*row) for row in distinct.itertuples(index=False, name=None)], dtype=object)
        position = pd.Index(self.catalog_offerings["key"]).get_indexer(names)
        if (position < 0).any():
            bad = names[position < 0]
            raise InputError(f"{len(bad)} offering(s) are not in the catalog, e.g. {bad[0]!r}")
        return position[group]

    def offering_frame(self, offerings: Sequence[Offering]) -> pd.DataFrame:
        rows = []
        for o in offerings:
            gpu = o.gpu
            over = FAMILY_GPU_OVERRIDES.get(o.family, {})
            gen = GPU_GENERATIONS.get(gpu.architecture, GPU_GENERATION_FALLBACK) if gpu else None
            arch = gpu.architecture if gpu else ""
            cpu_name = CPU_FAMILY_GENERATION.get(o.family, "arm" if o.arch == "arm64" else "x86")
            cpu_gen = CPU_GENERATIONS[cpu_name]
            gpu_class = GPU_CLASS.get(o.accelerator or "", "small") if o.has_gpu else "cpu"
            rows.append({
                "key": _key(o.cloud.value, o.region, o.instance_type, o.accelerator, o.accelerator_count),
                "cloud": o.cloud.value, "region": o.region, "family": o.family,
                "vcpus": float(o.vcpus), "host_memory_gib": o.memory_gib,
                "has_gpu": bool(o.has_gpu and gpu is not None),
                "accelerator": o.accelerator or "",
                "gpu_count": float(o.accelerator_count) if gpu else 0.0,
                "gpu_memory_gib": float(gpu.memory_gib) if gpu else 0.0,
                "gpu_bandwidth_gbps": float(over.get("memory_bandwidth_gbps", gpu.memory_bandwidth_gbps)) if gpu else 0.0,
                "gpu_fp16_tflops": float(over.get("fp16_tflops", gpu.fp16_tflops or gpu.fp32_tflops)) if gpu else 0.0,
                "gpu_fp32_tflops": float(over.get("fp32_tflops", gpu.fp32_tflops)) if gpu else 0.0,
                "gpu_int8_tops": float(gpu.int8_tops) if gpu and gpu.int8_tops else np.nan,
                "gpu_mfu": gen.mfu * self.params.of("compute", arch) if gen else 0.0,
                "gpu_bw_eff": self.params.of("bandwidth", arch) if gen else 0.0,
                "gpu_bf16": bool(gen.bf16) if gen else False,
                "gpu_fp8": bool(gen.fp8) if gen else False,
                "nvlink": bool(gpu and gpu.name in NVLINK_GPUS),
                "cpu_arm": o.arch == "arm64",
                "cpu_gflops": cpu_gen.gflops * self.params.cpu_rate, "cpu_int8": cpu_gen.int8, "cpu_bf16": cpu_gen.bf16,
                "cpu_fp16": cpu_gen.fp16, "cpu_dram_gbps": cpu_gen.dram_gbps,
                "spot_bucket": o.spot_interruption_bucket or "",
                "has_spot": o.spot_price_hour_usd is not None,
                "speed": self.speed_factor(o.cloud.value, o.region, o.family),
                "gpu_speed": self.shift.gpu_speed_of(o.accelerator) if gpu else 1.0,
                "spot_interruption_rate": _spot_rate(o.cloud.value, o.spot_interruption_bucket, gpu_class),
                "capacity_failure_on_demand": _capacity_failure(gpu_class, o.region, o.accelerator_count, False),
                "capacity_failure_spot": _capacity_failure(gpu_class, o.region, o.accelerator_count, True),
            })
        return pd.DataFrame(rows)

    def speed_factor(self, cloud: str, region: str, family: str) -> float:
        """Persistent performance of a (cloud, region, family): hosts, neighbours, firmware."""
        key = f"{cloud}/{region}/{family}"
        if key not in self._speed_cache:
            rng = np.random.default_rng([self.seed, zlib.crc32(key.encode())])
            self._speed_cache[key] = float(math.exp(REGION_SPEED_SIGMA * rng.standard_normal()))
        return self._speed_cache[key]

    # -- physics ---------------------------------------------------------------------------------
    def service_model(self, profiles: pd.DataFrame, offerings: pd.DataFrame) -> ServiceModel:
        return service_model(profiles, offerings, self.params)


def _key(cloud: str, region: str, instance_type: str, accelerator: str | None, count: float) -> str:
    count = float(count or 0) if accelerator else 0.0
    return f"{cloud}/{region}/{instance_type}/{accelerator or ''}/{count:g}"


def profile_frame(profiles: Sequence[ModelProfile]) -> pd.DataFrame:
    return pd.DataFrame({
        "task": [p.task.value for p in profiles],
        "framework": [p.framework for p in profiles],
        "params_millions": [p.params_millions for p in profiles],
        "precision": [p.precision.value for p in profiles],
        "memory_gib": [p.memory_gib for p in profiles],
        "input_tokens": [np.nan if p.input_tokens is None else float(p.input_tokens) for p in profiles],
        "output_tokens": [np.nan if p.output_tokens is None else float(p.output_tokens) for p in profiles],
        "slo_p95_latency_ms": [p.slo_p95_latency_ms for p in profiles],
        **{name: [F.work_values(p)[name] for p in profiles] for name in WORK_COLUMNS},
    })


def _codes(values: pd.Series, categories: Sequence[str], what: str) -> np.ndarray:
    codes = pd.Categorical(values, categories=list(categories)).codes
    if (codes < 0).any():
        bad = values.to_numpy(dtype=object)[codes < 0][0]
        raise InputError(f"unknown {what} {bad!r}")
    return codes


def _table(mapping: dict[str, float], keys: Sequence[str], default: float = 0.0) -> np.ndarray:
    return np.array([mapping.get(k, default) for k in keys], dtype=float)


def _fw_table(attr: str) -> np.ndarray:
    return np.array([float(getattr(FRAMEWORKS[f], attr)) for f in FRAMEWORK_NAMES])


def _optional(frame: pd.DataFrame, column: str) -> np.ndarray:
    """An optional profile column (``WORK_COLUMNS``) as floats; NaN where absent, empty or ≤ 0."""
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    values = _num(frame, column)
    return np.where(values > 0, values, np.nan)


def _num(frame: pd.DataFrame, column: str) -> np.ndarray:
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def service_model(profiles: pd.DataFrame, off: pd.DataFrame, world_params: WorldParams = UNCALIBRATED
                  ) -> ServiceModel:
    """Queueing parameters of every (profile row, offering row) pair, row by row.

    Per-row scalars first; then the (rows × batch options) arrays of each path only for
    the rows that take that path. ``off`` already carries ``world_params``' hardware multipliers
    (``World.offering_frame``); the work multipliers apply here.
    """
    n = len(profiles)
    task = _codes(profiles["task"], TASKS, "task")
    precision = _codes(profiles["precision"], PRECISIONS, "precision")
    fw = pd.Categorical(profiles["framework"], categories=list(FRAMEWORK_NAMES)).codes
    fw = np.where(fw < 0, FRAMEWORK_NAMES.index(FRAMEWORK_FALLBACK), fw)

    params = _num(profiles, "params_millions") * 1e6
    in_tok = _num(profiles, "input_tokens")
    out_tok = _num(profiles, "output_tokens")
    in_tok = np.where(np.isnan(in_tok), _table(DEFAULT_INPUT_TOKENS, TASKS)[task], in_tok)
    out_tok = np.where(np.isnan(out_tok), _table(DEFAULT_OUTPUT_TOKENS, TASKS)[task], out_tok)
    slo = _num(profiles, "slo_p95_latency_ms")

    is_llm = task == _T["llm-generation"]
    is_speech = task == _T["speech-recognition"]
    is_text = (task == _T["text-embedding"]) | (task == _T["text-classification"])
    generative = is_llm | is_speech
    is_reco = task == _T["recommendation"]

    bpp_table = np.array([BYTES_PER_PARAM[Precision(p)] for p in PRECISIONS])
    int4 = precision == PRECISIONS.index("int4")
    bpp = bpp_table[precision] * np.where(int4, 1.06, 1.0)  # int4 group scales
    weights = params * bpp                  # what memory holds
    # A mixture of experts holds every expert but runs (and streams) the active ones.
    active = np.fmin(_optional(profiles, "active_params_millions") * 1e6, params)
    active = np.where(np.isnan(active), params, active)

    # Work per request: tokens (or the image's pixels and steps) × the calibrated work factor.
    task_names = profiles["task"].to_numpy(dtype=object)
    height, width = _optional(profiles, "image_height"), _optional(profiles, "image_width")
    pixels = F.work_scale(task_names, height, width, np.full(n, np.nan))   # activations follow the image
    scale = F.work_scale(task_names, height, width, _optional(profiles, "steps"))
    work_factor = np.array([world_params.of("work", t) for t in TASKS])[task]
    work_tokens = np.where(is_text | is_llm | is_speech, in_tok, _table(WORK_TOKENS, TASKS)[task] * scale)
    enc_params = np.where(is_speech, active / 2, np.where(is_reco, np.minimum(active * 0.05, 5e7), active))
    gflops = _optional(profiles, "gflops_per_request")
    flops = np.where(np.isnan(gflops), 2.0 * enc_params * work_tokens * work_factor, gflops * 1e9)
    dec_tokens = np.where(generative, out_tok, 0.0)
    dec_params = np.where(is_speech, active / 2, active)
    # What one pass streams: the active weights; a ranking model's tables are gathered
    # (``extra_bytes``), never streamed whole, so it streams only its dense part.
    dec_weights = np.where(is_reco, enc_params, dec_params) * bpp
    extra_bytes = np.where(is_reco, RECOMMENDATION_GATHER_BYTES * work_factor, 0.0)

    # Transformer shape: params ≈ 12·L·d², d ≈ 128·L.
    d_model = np.cbrt(np.maximum(dec_params, 1e6) * 128.0 / 12.0)
    layers_llm = d_model / 128.0
    gqa = np.where(dec_params >= 30e9, 0.125, np.where(dec_params >= 3e9, 0.25, 1.0))
    kv_bytes = np.where(precision == PRECISIONS.index("fp8"), 1.0, 2.0)
    kv_per_token = 2.0 * layers_llm * d_model * kv_bytes * gqa
    context = in_tok + out_tok
    kv_seq_avg = kv_per_token * (in_tok + out_tok / 2)

    layers = np.maximum(4.0, np.cbrt(params / 1e6) * _table(LAYER_FACTOR, TASKS, LAYER_FACTOR_DEFAULT)[task])
    act_bytes = _table(ACTIVATION_BYTES, TASKS)[task] * np.sqrt(np.maximum(params, 1e6) / 1e8) * pixels
    act_bytes = np.where(is_text, act_bytes * in_tok / 128.0, act_bytes)

    fw_gpu = _fw_table("gpu")[fw] > 0
    fw_cpu = _fw_table("cpu")[fw] > 0
    has_gpu = off["has_gpu"].to_numpy(dtype=bool)
    gpu_path = has_gpu & fw_gpu
    runs = gpu_path | fw_cpu
    speed = off["speed"].to_numpy(dtype=float)
    vcpus = off["vcpus"].to_numpy(dtype=float)
    sigma_fw = _fw_table("sigma")[fw]
    overhead = _fw_table("overhead_ms")[fw]
    host_task_ms = _table(HOST_CPU_MS, TASKS)[task]

    precision_rate = np.array([world_params.of("precision", p) for p in PRECISIONS])[precision]
    k = len(BATCH_GRID)
    service = np.ones((n, k))
    slots = np.ones((n, k))
    valid = np.zeros((n, k), dtype=bool)
    fits = np.zeros(n, dtype=bool)
    sigma = np.where(generative, 0.45, sigma_fw)

    g = np.flatnonzero(gpu_path)
    if len(g):
        s_g, c_g, v_g, fit_g, sig_g = _gpu_path(
            off.iloc[g], fw[g], precision[g], weights[g], flops[g], dec_tokens[g], dec_params[g],
            dec_weights[g], extra_bytes[g], kv_per_token[g] * context[g], kv_seq_avg[g], layers[g],
            layers_llm[g], act_bytes[g], generative[g], is_speech[g], overhead[g], sigma_fw[g], precision_rate[g])
        service[g], slots[g], valid[g], fits[g], sigma[g] = s_g, c_g, v_g, fit_g, sig_g
    c = np.flatnonzero(~gpu_path)
    if len(c):
        s_c, c_c, v_c, fit_c = _cpu_path(
            off.iloc[c], fw[c], precision[c], weights[c], flops[c], dec_tokens[c], dec_weights[c],
            extra_bytes[c], act_bytes[c], kv_per_token[c] * context[c], kv_seq_avg[c], generative[c],
            overhead[c] + host_task_ms[c])
        service[c], slots[c], valid[c], fits[c] = s_c, c_c, v_c, fit_c

    valid &= (fits & runs)[:, None] & (slots >= 1)
    if "gpu_speed" in off.columns:  # a shifted world (WorldShift): only the GPU stage changes speed
        service = np.where(gpu_path[:, None], service / off["gpu_speed"].to_numpy(dtype=float)[:, None], service)
    host_ms = np.where(gpu_path, (host_task_ms + _fw_table("host_ms")[fw]) / speed, 0.0)
    return ServiceModel(
        service_ms=service / speed[:, None], slots=np.maximum(slots, 1.0), valid=valid, sigma=sigma,
        host_ms=host_ms, host_slots=np.where(gpu_path, np.maximum(vcpus - 2.0, 1.0), 1.0),
        fits=fits, runs=runs, gpu_path=gpu_path, slo_ms=slo,
    )


def _gpu_path(off: pd.DataFrame, fw: np.ndarray, precision: np.ndarray, weights: np.ndarray, flops: np.ndarray,
              dec_tokens: np.ndarray, dec_params: np.ndarray, dec_weights: np.ndarray, extra_bytes: np.ndarray,
              kv_seq: np.ndarray, kv_seq_avg: np.ndarray, layers: np.ndarray, layers_llm: np.ndarray,
              act_bytes: np.ndarray, generative: np.ndarray, is_speech: np.ndarray, overhead: np.ndarray,
              sigma_fw: np.ndarray, precision_rate: np.ndarray) -> tuple[np.ndarray, ...]:
    count = off["gpu_count"].to_numpy(dtype=float)
    share = np.minimum(count, 1.0)  # vGPU slices get their fraction of one GPU
    whole = np.maximum(np.floor(count + 1e-9), 1.0)
    usable = off["gpu_memory_gib"].to_numpy(dtype=float) * GIB * GPU_MEMORY_USABLE * share
    runtime = _fw_table("runtime_gib")[fw] * GIB
    per_request = np.where(generative, kv_seq / _fw_table("kv_eff")[fw], act_bytes)
    per_request = np.where(is_speech, per_request + act_bytes, per_request)

    # Smallest tensor-parallel group that holds the weights and one request.
    tp = np.full(len(fw), np.nan)
    for t in (8.0, 4.0, 2.0, 1.0):
        fits_t = (weights / t + runtime + per_request / t <= usable) & (t <= whole)
        tp = np.where(fits_t, t, tp)
    fits = ~np.isnan(tp)
    tp = np.where(fits, tp, 1.0)
    streams = np.maximum(np.floor(whole / tp), 1.0)
    free = usable * tp - weights - runtime * tp
    batch_mem = np.floor(np.maximum(free, 0.0) / np.maximum(per_request, 1.0))

    nvlink = off["nvlink"].to_numpy(dtype=bool)
    link = np.where(nvlink, TP_EFFICIENCY_NVLINK, TP_EFFICIENCY_PCIE)
    tp_scale = tp * link ** np.log2(tp)

    fp16 = off["gpu_fp16_tflops"].to_numpy(dtype=float)
    fp32 = off["gpu_fp32_tflops"].to_numpy(dtype=float)
    int8 = off["gpu_int8_tops"].to_numpy(dtype=float)
    has_int8 = ~np.isnan(int8)
    int8_rate = np.where(has_int8, int8, fp16)
    fw_int8 = _fw_table("int8")[fw] > 0
    fw_fp8 = _fw_table("fp8")[fw] > 0
    fw_int4 = _fw_table("int4")[fw] > 0
    P = {name: precision == i for i, name in enumerate(PRECISIONS)}
    peak = np.select(
        [P["fp32"], P["bf16"], P["int8"], P["fp8"], P["int4"]],
        [fp32,
         np.where(off["gpu_bf16"].to_numpy(dtype=bool), fp16, fp32 * 0.9),
         np.where(fw_int8 & has_int8, int8_rate, fp16 * 0.85),
         np.where(fw_fp8 & off["gpu_fp8"].to_numpy(dtype=bool) & has_int8, int8_rate, fp16 * 0.85),
         fp16 * np.where(fw_int4, 0.95, 0.6)],
        default=fp16) * precision_rate
    # Quantised weights without fast kernels are dequantised on the fly: half the bandwidth.
    slow_dequant = (P["int4"] & ~fw_int4) | ((P["int8"] | P["fp8"]) & ~(fw_int8 | fw_fp8))
    quant_bw = np.where(slow_dequant, 0.5, 1.0)
    compute = np.maximum(peak * 1e9 * off["gpu_mfu"].to_numpy(dtype=float) * _fw_table("gpu_eff")[fw]
                         * share * tp_scale, 1e-9)                                   # FLOPs per ms
    bandwidth = np.maximum(off["gpu_bandwidth_gbps"].to_numpy(dtype=float) * 1e6 * _fw_table("bw_eff")[fw]
                           * off["gpu_bw_eff"].to_numpy(dtype=float)
                           * quant_bw * share * tp_scale, 1e-9)                     # bytes per ms

    fill = layers * _fw_table("launch_ms")[fw]
    allreduce = np.where(tp > 1, layers_llm * 2 * np.where(nvlink, ALLREDUCE_MS_NVLINK, ALLREDUCE_MS_PCIE), 0.0)
    step_overhead = np.array([STEP_OVERHEAD_MS.get(f, STEP_OVERHEAD_DEFAULT_MS) for f in FRAMEWORK_NAMES])[fw]
    continuous = _fw_table("continuous")[fw] > 0

    B = BATCH_GRID[None, :]
    col = _col
    # Non-generative: one batch of B streams the weights once and computes B requests.
    s_batch = col(overhead + fill) + np.maximum(
        B * col(flops / compute), col(dec_weights / bandwidth) + B * col((act_bytes + extra_bytes) / bandwidth))
    # Generation: prefill is compute bound; each decode step streams weights + KV of the batch.
    prefill = fill + flops / compute
    step = (col(step_overhead + allreduce)
            + np.maximum(col(dec_weights / bandwidth) + B * col(kv_seq_avg / bandwidth),
                         B * col(2.0 * dec_params / compute)))
    s_cont = col(overhead + prefill) + col(dec_tokens) * step + (B - 1) * col(prefill)
    s_static = col(overhead) + B * col(prefill) + col(dec_tokens) * step * np.where(B > 1, 1.3, 1.0)
    service = np.where(col(generative), np.where(col(continuous), s_cont, s_static), s_batch)
    valid = (B <= col(_fw_table("max_batch")[fw])) & (B <= col(np.maximum(batch_mem, 1.0))) & col(fits)
    sigma = np.where(generative, np.where(continuous, 0.45, 0.30), sigma_fw)
    return service, col(streams) * B, valid, fits, sigma


def _cpu_path(off: pd.DataFrame, fw: np.ndarray, precision: np.ndarray, weights: np.ndarray, flops: np.ndarray,
              dec_tokens: np.ndarray, dec_weights: np.ndarray, extra_bytes: np.ndarray, act_bytes: np.ndarray,
              kv_seq: np.ndarray, kv_seq_avg: np.ndarray, generative: np.ndarray, fixed_ms: np.ndarray
              ) -> tuple[np.ndarray, ...]:
    P = {name: precision == i for i, name in enumerate(PRECISIONS)}
    cpu_int8 = off["cpu_int8"].to_numpy(dtype=float)
    cpu_bf16 = off["cpu_bf16"].to_numpy(dtype=float)
    precision_speed = np.select([P["int8"], P["int4"], P["fp8"], P["bf16"], P["fp16"]],
                                [cpu_int8, cpu_int8 * 0.8, cpu_bf16 * 0.8, cpu_bf16,
                                 off["cpu_fp16"].to_numpy(dtype=float)], default=1.0)
    openvino_on_arm = (fw == FRAMEWORK_NAMES.index("openvino")) & off["cpu_arm"].to_numpy(dtype=bool)
    fw_speed = np.where(openvino_on_arm, 0.6, _fw_table("cpu_eff")[fw])
    per_vcpu = off["cpu_gflops"].to_numpy(dtype=float) * 1e6 * precision_speed * np.maximum(fw_speed, 1e-3)
    # Amdahl: small models parallelise badly inside one request.
    p_par = 0.5 + 0.45 * flops / (flops + 2e8)
    T = BATCH_GRID[None, :]
    col = _col
    speedup = 1.0 / ((1.0 - col(p_par)) + col(p_par) / T)
    vcpu_avail = np.maximum(off["vcpus"].to_numpy(dtype=float) - 0.5, 1.0)
    dram = np.minimum(T * col(off["cpu_dram_gbps"].to_numpy(dtype=float)), CPU_INSTANCE_BANDWIDTH_GBPS) * 1e6
    streamed = col(extra_bytes + act_bytes * 0.1 + dec_tokens * (dec_weights + kv_seq_avg))
    service = col(fixed_ms) + col(flops / per_vcpu) / speedup + streamed / dram
    workers = np.floor(col(vcpu_avail) / T)
    host_usable = off["host_memory_gib"].to_numpy(dtype=float) * GIB * HOST_MEMORY_USABLE - HOST_OS_GIB * GIB
    fits = weights * 1.1 + CPU_RUNTIME_GIB * GIB + np.where(generative, kv_seq, act_bytes) <= host_usable
    valid = (T <= col(vcpu_avail)) & col(fits)
    return service, workers, valid, fits


def _col(a: np.ndarray) -> np.ndarray:
    return a[:, None]


def _spot_rate(cloud: str, bucket: str | None, gpu_class: str) -> float:
    if cloud == Cloud.AWS.value:
        return INTERRUPTION_RATE_BY_BUCKET.get(bucket or "", INTERRUPTION_RATE_UNKNOWN)
    return SPOT_PRIOR.get(cloud, {}).get(gpu_class, INTERRUPTION_RATE_UNKNOWN)


def _capacity_failure(gpu_class: str, region: str, count: float, spot: bool) -> float:
    p = CAPACITY_FAILURE[gpu_class] * CAPACITY_FAILURE_REGION_FACTOR.get(region, 1.0)
    if count >= 8:
        p *= CAPACITY_FAILURE_BIG_MACHINE_FACTOR
    if spot:
        p *= CAPACITY_FAILURE_SPOT_FACTOR
    return min(p, CAPACITY_FAILURE_MAX)


# --- queueing ---------------------------------------------------------------------------------
def _quantile(p: float, service: np.ndarray, slots: np.ndarray, sigma: np.ndarray,
              lam: np.ndarray) -> np.ndarray:
    """p-quantile of sojourn time (ms) of a c-server stage at arrival rate ``lam`` (per ms)."""
    z = Z[p]
    svc = service * np.exp(z * sigma - sigma**2 / 2)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        rho = np.clip(lam * service / slots, 0.0, 0.999999)
        exponent = np.sqrt(2.0 * (slots + 1.0)) - 1.0
        log_wait = exponent * np.log(np.maximum(rho, 1e-300))          # ln P(wait)
        k = np.exp(sigma**2) / 2.0                                      # (1 + cv²)/2
        wait = k * service / (slots * (1.0 - rho)) * np.maximum(log_wait - math.log(1.0 - p), 0.0)
    return svc + np.where(service > 0, wait, 0.0)


def _p(model: ServiceModel, p: float, lam: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """Latency p-quantile at load ``lam`` (per ms); per batch option, or at option ``b``."""
    if b is None:
        service, slots = model.service_ms, model.slots
        sig, lam2 = model.sigma[:, None], lam[:, None]
        host = _quantile(p, model.host_ms, model.host_slots, np.full_like(model.host_ms, HOST_SIGMA), lam)[:, None]
    else:
        rows = np.arange(len(b))
        service, slots = model.service_ms[rows, b], model.slots[rows, b]
        sig, lam2 = model.sigma, lam
        host = _quantile(p, model.host_ms, model.host_slots, np.full_like(model.host_ms, HOST_SIGMA), lam)
    host = np.where((model.host_ms > 0)[:, None] if b is None else model.host_ms > 0, host, 0.0)
    return _quantile(p, service, slots, sig, lam2) + host


def _capacity_per_option(model: ServiceModel) -> np.ndarray:
    """Largest load (per ms) with p95 ≤ SLO and utilisation ≤ MAX_UTILIZATION, per batch option."""
    n, k = model.service_ms.shape
    service = model.service_ms
    slots = model.slots
    sigma = np.broadcast_to(model.sigma[:, None], (n, k))
    host_mu = np.where(model.host_ms > 0, model.host_slots / np.maximum(model.host_ms, 1e-12), np.inf)
    host_svc = np.where(model.host_ms > 0, model.host_ms * np.exp(Z[0.95] * HOST_SIGMA - HOST_SIGMA**2 / 2), 0.0)
    slo = model.slo_ms[:, None]
    budget = slo - service * np.exp(Z[0.95] * sigma - sigma**2 / 2) - host_svc[:, None]
    out = np.zeros((n, k))
    ok = model.valid & (budget > 0)
    if not ok.any():
        return out
    s, c, sg, a = service[ok], slots[ok], sigma[ok], budget[ok]
    e = np.sqrt(2.0 * (c + 1.0)) - 1.0
    kf = np.exp(sg**2) / 2.0
    ln20 = math.log(20.0)
    # g(ρ) = a·c·(1−ρ) − k·S·(ln 20 + e·ln ρ) is convex and decreasing: Newton from the left
    # (ρ_w, where waiting first reaches the p95) converges monotonically.
    rho = np.exp(-ln20 / e)
    for _ in range(12):
        g = a * c * (1.0 - rho) - kf * s * (ln20 + e * np.log(rho))
        dg = -a * c - kf * s * e / rho
        rho = np.clip(rho - g / dg, 1e-9, 1.0)
    rho = np.minimum(rho, MAX_UTILIZATION)
    lam = rho * c / s
    host_mu_ok = np.broadcast_to(host_mu[:, None], (n, k))[ok]
    lam = np.minimum(lam, host_mu_ok * MAX_UTILIZATION)
    out[ok] = lam
    # The host stage's queue also takes from the budget: where it does, bisect on the load.
    rows, cols = np.nonzero(ok)
    p95 = (_quantile(0.95, s, c, sg, lam)
           + np.where(model.host_ms[rows] > 0,
                      _quantile(0.95, model.host_ms[rows], model.host_slots[rows],
                                np.full(len(rows), HOST_SIGMA), lam), 0.0))
    over = p95 > model.slo_ms[rows] * (1 + 1e-9)
    if over.any():
        r, cc = rows[over], cols[over]
        lo, hi = np.zeros(len(r)), lam[over]
        s2, c2, sg2 = s[over], c[over], sg[over]
        hms, hsl, slo2 = model.host_ms[r], model.host_slots[r], model.slo_ms[r]
        for _ in range(30):
            mid = (lo + hi) / 2
            val = (_quantile(0.95, s2, c2, sg2, mid)
                   + np.where(hms > 0, _quantile(0.95, hms, hsl, np.full(len(r), HOST_SIGMA), mid), 0.0))
            good = val <= slo2
            lo = np.where(good, mid, lo)
            hi = np.where(good, hi, mid)
        out[r, cc] = lo
    return out


def capacity(model: ServiceModel) -> np.ndarray:
    """Capacity at the SLO, requests/s per replica."""
    return _capacity_per_option(model).max(axis=1) * 1e3


def capacity_and_latency(model: ServiceModel) -> tuple[np.ndarray, ...]:
    """Capacity (rps) and p50/p95/p99 at capacity (idle latencies where capacity is 0)."""
    per = _capacity_per_option(model)
    best = per.argmax(axis=1)
    lam = per[np.arange(len(best)), best]
    cap = lam * 1e3
    p50, p95, p99 = latencies(model, cap)
    return cap, p50, p95, p99


def latencies(model: ServiceModel, rps: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """p50/p95/p99 (ms) at ``rps`` per replica, at the batch size that minimises p95.

    Servers adapt their batch to load (dynamic/continuous batching), so the best option is
    the one that serves this load fastest. Overloaded replicas report the timeout.
    Rows that do not fit or cannot run report NaN.
    """
    lam = np.asarray(rps, dtype=float) / 1e3
    n = len(lam)
    host_mu = np.where(model.host_ms > 0, model.host_slots / np.maximum(model.host_ms, 1e-12), np.inf)
    stable = model.valid & (lam[:, None] * model.service_ms / model.slots < 1.0) & (lam < host_mu)[:, None]
    p95_all = np.where(stable, _p(model, 0.95, lam), np.inf)
    best = p95_all.argmin(axis=1)
    any_stable = stable.any(axis=1)
    # Overloaded: the queue grows for the whole window; requests time out.
    mu = np.where(model.valid, model.slots / model.service_ms, 0.0)
    best = np.where(any_stable, best, mu.argmax(axis=1))
    timeout = np.maximum(REQUEST_TIMEOUT_MS, 2 * model.slo_ms)
    out = []
    for p in (0.50, 0.95, 0.99):
        v = _p(model, p, lam, best)
        v = np.where(any_stable, v, np.nan)
        out.append(v)
    p50, p95, p99 = out
    # Timeouts cut each quantile at its own rung (½, 0.95, 1 × timeout): order and monotonicity
    # in load survive the cut, and overloaded replicas sit exactly on the ladder.
    p50 = np.where(any_stable, np.minimum(p50, timeout * 0.5), timeout * 0.5)
    p95 = np.where(any_stable, np.minimum(p95, timeout * 0.95), timeout * 0.95)
    p99 = np.where(any_stable, np.minimum(p99, timeout), timeout)
    usable = model.fits & model.runs & model.valid.any(axis=1)
    nan = np.full(n, np.nan)
    return (np.where(usable, p50, nan), np.where(usable, p95, nan), np.where(usable, p99, nan))


# --- risk -------------------------------------------------------------------------------------
def interruption_rate(off: pd.DataFrame, spot: np.ndarray) -> np.ndarray:
    """Expected interruptions per instance-month (0 on-demand)."""
    return np.where(np.asarray(spot, dtype=bool), off["spot_interruption_rate"].to_numpy(dtype=float), 0.0)


def capacity_failure_prob(off: pd.DataFrame, spot: np.ndarray) -> np.ndarray:
    """Probability that a deployment of this configuration cannot get its machines."""
    return np.where(np.asarray(spot, dtype=bool), off["capacity_failure_spot"].to_numpy(dtype=float),
                    off["capacity_failure_on_demand"].to_numpy(dtype=float))
