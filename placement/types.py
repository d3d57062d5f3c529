"""Typed value objects shared by every layer of roost.

All of them are frozen, keyword-only dataclasses: change one with
``dataclasses.replace``. Nothing here does I/O.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

HOURS_PER_MONTH = 730.0  # the figure AWS, GCP and Azure calculators use


class Cloud(StrEnum):
    AWS = "aws"
    GCP = "gcp"
    AZURE = "azure"


class Purchase(StrEnum):
    ON_DEMAND = "on_demand"
    SPOT = "spot"


class SpotPolicy(StrEnum):
    NEVER = "never"
    ALLOW = "allow"
    PREFER = "prefer"


class AcceleratorPolicy(StrEnum):
    AUTO = "auto"
    REQUIRED = "required"
    NONE = "none"


class Task(StrEnum):
    TABULAR = "tabular"
    IMAGE_CLASSIFICATION = "image-classification"
    OBJECT_DETECTION = "object-detection"
    IMAGE_SEGMENTATION = "image-segmentation"
    TEXT_EMBEDDING = "text-embedding"
    TEXT_CLASSIFICATION = "text-classification"
    SPEECH_RECOGNITION = "speech-recognition"
    LLM_GENERATION = "llm-generation"
    TEXT_TO_IMAGE = "text-to-image"
    RECOMMENDATION = "recommendation"


class Precision(StrEnum):
    FP32 = "fp32"
    FP16 = "fp16"
    BF16 = "bf16"
    FP8 = "fp8"
    INT8 = "int8"
    INT4 = "int4"


BYTES_PER_PARAM: dict[Precision, float] = {
    Precision.FP32: 4.0,
    Precision.FP16: 2.0,
    Precision.BF16: 2.0,
    Precision.FP8: 1.0,
    Precision.INT8: 1.0,
    Precision.INT4: 0.5,
}

KNOWN_FRAMEWORKS = (
    "pytorch", "tensorflow", "onnx", "tensorrt", "vllm", "triton", "sklearn",
    "xgboost", "lightgbm", "tgi", "jax", "openvino",
)
# Servers that have no CPU backend: TensorRT compiles engines for NVIDIA GPUs only, and
# Hugging Face TGI's serving image targets CUDA (its CPU path is a separate, unsupported build).
GPU_ONLY_FRAMEWORKS = frozenset({"tensorrt", "tgi"})
# Servers that cannot use an NVIDIA GPU: scikit-learn has no GPU backend, OpenVINO targets Intel
# CPUs and GPUs, and LightGBM predicts on CPU (its CUDA build accelerates training only). On a
# GPU instance they would run on its vCPUs and leave the GPUs idle at GPU prices.
CPU_ONLY_FRAMEWORKS = frozenset({"sklearn", "openvino", "lightgbm"})


@dataclass(frozen=True, kw_only=True)
class GpuSpec:
    """Per-GPU hardware figures (vendor datasheets)."""

    name: str
    memory_gib: float
    memory_bandwidth_gbps: float
    fp16_tflops: float
    fp32_tflops: float
    int8_tops: float | None = None
    tdp_watts: float | None = None
    architecture: str = ""
    launch_year: int | None = None

    def tflops_at(self, precision: Precision) -> float:
        """Dense tensor throughput at a precision, falling back to the next wider path.

        FP8 and INT4 have no separate column: FP8 runs at INT8 rate on Hopper and newer,
        INT4 at INT8 rate (weights dequantised); GPUs without an INT8 path run them at FP16.
        """
        if precision is Precision.FP32:
            return self.fp32_tflops
        if precision in (Precision.INT8, Precision.FP8, Precision.INT4):
            return self.int8_tops or self.fp16_tflops or self.fp32_tflops
        return self.fp16_tflops or self.fp32_tflops


@dataclass(frozen=True, kw_only=True)
class Offering:
    """One thing a cloud sells in one region: an instance type, with or without GPUs.

    ``accelerator_count`` may be fractional for vGPU slices. On GCP N1, GPUs are attached
    as guest accelerators: ``instance_type`` is the real machine type (``n1-standard-8``) and
    ``guest_accelerator`` the accelerator type to attach (``nvidia-tesla-t4``).
    """

    cloud: Cloud
    region: str
    instance_type: str
    family: str
    vcpus: int
    memory_gib: float
    arch: str
    price_hour_usd: float
    spot_price_hour_usd: float | None
    accelerator: str | None = None
    accelerator_count: float = 0.0
    accelerator_memory_gib: float = 0.0  # per GPU
    gpu: GpuSpec | None = None
    guest_accelerator: str | None = None
    spot_interruption_bucket: str | None = None

    @property
    def offering_id(self) -> str:
        if self.guest_accelerator:
            count = int(self.accelerator_count)
            return f"{self.cloud}/{self.region}/{self.instance_type}+{self.guest_accelerator}x{count}"
        return f"{self.cloud}/{self.region}/{self.instance_type}"

    @property
    def display_type(self) -> str:
        """Instance type as users read it (GCP N1 shows its attached GPUs)."""
        if self.guest_accelerator:
            return f"{self.instance_type}+{self.accelerator}x{int(self.accelerator_count)}"
        return self.instance_type

    @property
    def has_gpu(self) -> bool:
        return self.accelerator is not None and self.accelerator_count > 0

    @property
    def total_gpu_memory_gib(self) -> float:
        return self.accelerator_memory_gib * self.accelerator_count

    def hourly_price(self, purchase: Purchase) -> float | None:
        if purchase is Purchase.SPOT:
            return self.spot_price_hour_usd
        return self.price_hour_usd


@dataclass(frozen=True, kw_only=True)
class Load:
    peak_rps: float
    mean_rps: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    image_size: tuple[int, int] | None = None  # (height, width) in pixels; image tasks only
    steps: int | None = None                   # denoising steps; text-to-image only


@dataclass(frozen=True, kw_only=True)
class ModelProfile:
    """What determines how a model performs on hardware: the shape of the workload.

    This is the part of a fleet entry that the history logs record and that the
    features are built from; serving details (image, team, env) live in ``ModelSpec``.
    """

    task: Task
    framework: str
    params_millions: float
    precision: Precision
    memory_gib: float
    peak_rps: float
    slo_p95_latency_ms: float
    mean_rps: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    # How much work one request is (see placement.workload for the defaults when absent).
    image_size: tuple[int, int] | None = None      # (height, width) in pixels
    steps: int | None = None                       # denoising steps (text-to-image)
    active_params_millions: float | None = None    # mixture-of-experts: parameters per token
    gflops_per_request: float | None = None        # explicit figure, overrides every derivation


@dataclass(frozen=True, kw_only=True)
class ModelSpec:
    """One entry of a fleet file, after defaults were applied and validated."""

    name: str
    task: Task
    framework: str
    params_millions: float
    precision: Precision
    memory_gib: float
    memory_gib_derived: bool
    accelerator: AcceleratorPolicy
    image: str
    load: Load
    slo_p95_latency_ms: float
    spot: SpotPolicy
    clouds: tuple[Cloud, ...] | None = None
    regions: tuple[str, ...] | None = None
    min_replicas: int = 2
    max_replicas: int | None = None
    team: str | None = None
    budget_monthly_usd: float | None = None
    active_params_millions: float | None = None
    gflops_per_request: float | None = None
    port: int = 8080
    health_path: str = "/health"
    env: tuple[tuple[str, str], ...] = ()
    secrets: tuple[str, ...] = ()

    @property
    def profile(self) -> ModelProfile:
        return ModelProfile(
            task=self.task,
            framework=self.framework,
            params_millions=self.params_millions,
            precision=self.precision,
            memory_gib=self.memory_gib,
            peak_rps=self.load.peak_rps,
            mean_rps=self.load.mean_rps,
            slo_p95_latency_ms=self.slo_p95_latency_ms,
            input_tokens=self.load.input_tokens,
            output_tokens=self.load.output_tokens,
            image_size=self.load.image_size,
            steps=self.load.steps,
            active_params_millions=self.active_params_millions,
            gflops_per_request=self.gflops_per_request,
        )


@dataclass(frozen=True, kw_only=True)
class Fleet:
    models: tuple[ModelSpec, ...]
    source: str = "fleet.yaml"
    sha256: str = ""

    def model(self, name: str) -> ModelSpec:
        for spec in self.models:
            if spec.name == name:
                return spec
        raise KeyError(name)


@dataclass(frozen=True, kw_only=True)
class Choice:
    """A fully sized configuration: where, what, how bought, how many, what it costs.

    ``on_demand_base`` replicas are held on-demand under ``spot: allow`` so a mass
    interruption never takes the whole service down; the rest run on spot.
    """

    cloud: Cloud
    region: str
    instance_type: str
    accelerator: str | None
    accelerator_count: float
    purchase: Purchase
    replicas: int
    min_replicas: int
    max_replicas: int
    predicted_rps_per_replica: float
    predicted_p95_latency_ms: float
    hourly_cost_usd: float
    on_demand_base: int = 0
    guest_accelerator: str | None = None
    success_probability: float | None = None
    # What the same replicas would cost all on-demand: the reference for spot savings.
    on_demand_hourly_cost_usd: float | None = None

    @property
    def monthly_cost_usd(self) -> float:
        return self.hourly_cost_usd * HOURS_PER_MONTH

    @property
    def spot_savings_monthly_usd(self) -> float:
        if self.on_demand_hourly_cost_usd is None:
            return 0.0
        return max(0.0, self.on_demand_hourly_cost_usd - self.hourly_cost_usd) * HOURS_PER_MONTH

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.cloud.value, self.region, self.instance_type, self.purchase.value)

    def to_dict(self) -> dict:
        return {
            "cloud": self.cloud.value,
            "region": self.region,
            "instance_type": self.instance_type,
            "accelerator": self.accelerator,
            "accelerator_count": _count(self.accelerator_count),
            "purchase": self.purchase.value,
            "replicas": self.replicas,
            "min_replicas": self.min_replicas,
            "max_replicas": self.max_replicas,
            "on_demand_base": self.on_demand_base,
            "guest_accelerator": self.guest_accelerator,
            "predicted_rps_per_replica": round(self.predicted_rps_per_replica, 3),
            "predicted_p95_latency_ms": round(self.predicted_p95_latency_ms, 2),
            "success_probability": None if self.success_probability is None else round(self.success_probability, 4),
            # Monthly is derived from the rounded hourly figure so that a plan read back
            # from JSON serializes to the same bytes (and the same decisions hash).
            "hourly_cost_usd": round(self.hourly_cost_usd, 6),
            "monthly_cost_usd": round(round(self.hourly_cost_usd, 6) * HOURS_PER_MONTH, 2),
            "on_demand_hourly_cost_usd": None if self.on_demand_hourly_cost_usd is None
            else round(self.on_demand_hourly_cost_usd, 6),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Choice:
        return cls(
            cloud=Cloud(data["cloud"]),
            region=data["region"],
            instance_type=data["instance_type"],
            accelerator=data.get("accelerator"),
            accelerator_count=float(data.get("accelerator_count") or 0),
            purchase=Purchase(data["purchase"]),
            replicas=int(data["replicas"]),
            min_replicas=int(data["min_replicas"]),
            max_replicas=int(data["max_replicas"]),
            on_demand_base=int(data.get("on_demand_base", 0)),
            guest_accelerator=data.get("guest_accelerator"),
            predicted_rps_per_replica=float(data["predicted_rps_per_replica"]),
            predicted_p95_latency_ms=float(data["predicted_p95_latency_ms"]),
            success_probability=data.get("success_probability"),
            hourly_cost_usd=float(data["hourly_cost_usd"]),
            on_demand_hourly_cost_usd=None if data.get("on_demand_hourly_cost_usd") is None
            else float(data["on_demand_hourly_cost_usd"]),
        )


def _count(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


@dataclass(frozen=True, kw_only=True)
class Alternative:
    """A runner-up: its sized configuration and why it was not chosen."""

    choice: Choice
    reason: str
    feasible: bool

    def to_dict(self, chosen: Choice) -> dict:
        data = self.choice.to_dict()
        data["feasible"] = self.feasible
        data["reason"] = self.reason
        data["monthly_cost_delta_usd"] = round(self.choice.monthly_cost_usd - chosen.monthly_cost_usd, 2)
        return data


@dataclass(frozen=True, kw_only=True)
class Placement:
    model: str
    chosen: Choice
    alternatives: tuple[Alternative, ...] = ()
    explanation: tuple[str, ...] = ()
    confidence: float | None = None
    candidates_considered: int = 0

    def to_dict(self) -> dict:
        data = {"model": self.model, **self.chosen.to_dict()}
        data["alternatives"] = [alt.to_dict(self.chosen) for alt in self.alternatives]
        data["explanation"] = list(self.explanation)
        data["confidence"] = None if self.confidence is None else round(self.confidence, 3)
        data["candidates_considered"] = self.candidates_considered
        return data


@dataclass(frozen=True, kw_only=True)
class Recommendation:
    catalog_version: str
    model_version: str | None
    placements: tuple[Placement, ...] = field(default_factory=tuple)

    @property
    def monthly_cost_usd(self) -> float:
        return sum(p.chosen.monthly_cost_usd for p in self.placements)

    def to_dict(self) -> dict:
        return {
            "catalog_version": self.catalog_version,
            "model_version": self.model_version,
            "placements": [p.to_dict() for p in self.placements],
            "monthly_cost_usd": round(self.monthly_cost_usd, 2),
        }
