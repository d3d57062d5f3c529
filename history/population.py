"""A population of model profiles like the ones real teams serve, for simulation.

Families of real-world shapes (parameters, precisions, frameworks, token counts), each
with the loads and latency SLOs such models are run under: gradient-boosted scorers and
recommenders behind interactive pages, CNN/ViT vision models, BERT-class encoders,
Whisper-class speech, diffusion models, and LLMs from 0.5 B to 405 B parameters.
Sampling is deterministic for a seed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from placement.types import AcceleratorPolicy, Cloud, Load, ModelSpec, Precision, SpotPolicy, Task
from placement.workload import derived_memory_gib


@dataclass(frozen=True)
class Family:
    name: str
    task: Task
    weight: float                                 # share of the population
    params_millions: tuple[float, ...]            # real checkpoints' sizes
    frameworks: tuple[tuple[str, float], ...]
    precisions: tuple[tuple[str, float], ...]
    peak_rps: tuple[float, float]                 # log-uniform range
    slo_ms: tuple[float, float]                   # log-uniform range
    input_tokens: tuple[int, ...] = ()
    output_tokens: tuple[int, ...] = ()
    accelerator: AcceleratorPolicy = AcceleratorPolicy.AUTO
    # How much work a request is; None among the options = the task's default, unstated.
    image_sizes: tuple[int | tuple[int, int] | None, ...] = (None,)
    steps: tuple[int | None, ...] = (None,)
    active_params: tuple[tuple[float, float], ...] = ()   # mixture of experts: (params, active)


FAMILIES: tuple[Family, ...] = (
    Family("gbdt-scorer", Task.TABULAR, 0.10, (0.2, 0.5, 1, 2, 5, 10, 20, 50),
           (("lightgbm", 0.4), ("xgboost", 0.4), ("sklearn", 0.2)), (("fp32", 1.0),),
           (50, 5000), (5, 60)),
    Family("tabular-mlp", Task.TABULAR, 0.03, (1, 5, 20, 100),
           (("pytorch", 0.5), ("onnx", 0.3), ("tensorflow", 0.2)), (("fp32", 0.7), ("fp16", 0.3)),
           (100, 3000), (10, 80)),
    Family("ranker", Task.RECOMMENDATION, 0.07, (50, 200, 1000, 5000, 20000),
           (("pytorch", 0.5), ("tensorflow", 0.3), ("triton", 0.2)), (("fp32", 0.5), ("fp16", 0.4), ("int8", 0.1)),
           (50, 3000), (20, 150)),
    Family("image-classifier", Task.IMAGE_CLASSIFICATION, 0.10, (5.3, 11.7, 25.6, 86, 88, 307, 632),
           (("onnx", 0.3), ("pytorch", 0.3), ("tensorrt", 0.2), ("tensorflow", 0.1), ("openvino", 0.1)),
           (("fp16", 0.5), ("fp32", 0.3), ("int8", 0.2)), (10, 2000), (30, 500),
           image_sizes=(None, None, 224, 256, 384, 512)),
    Family("detector", Task.OBJECT_DETECTION, 0.07, (3.2, 11.2, 25.9, 43.7, 68.2, 218),
           (("pytorch", 0.4), ("tensorrt", 0.3), ("onnx", 0.3)), (("fp16", 0.6), ("fp32", 0.2), ("int8", 0.2)),
           (5, 500), (50, 800), image_sizes=(None, None, 416, 640, 800, 1024, (800, 1333))),
    Family("segmenter", Task.IMAGE_SEGMENTATION, 0.04, (13, 42, 93, 308, 636),
           (("pytorch", 0.6), ("onnx", 0.2), ("tensorrt", 0.2)), (("fp16", 0.7), ("fp32", 0.3)),
           (2, 200), (100, 2000), image_sizes=(None, None, 256, 512, 768, 1024)),
    Family("embedder", Task.TEXT_EMBEDDING, 0.10, (22, 33, 110, 335, 568, 1500, 7000),
           (("pytorch", 0.35), ("onnx", 0.25), ("tensorrt", 0.15), ("triton", 0.15), ("tgi", 0.1)),
           (("fp16", 0.6), ("fp32", 0.2), ("int8", 0.2)), (20, 3000), (20, 300), input_tokens=(64, 128, 256, 512)),
    Family("text-classifier", Task.TEXT_CLASSIFICATION, 0.08, (66, 110, 125, 355, 435),
           (("pytorch", 0.45), ("onnx", 0.3), ("tensorflow", 0.1), ("tensorrt", 0.15)),
           (("fp16", 0.6), ("fp32", 0.3), ("int8", 0.1)), (10, 2000), (20, 250), input_tokens=(64, 128, 256, 512)),
    Family("speech", Task.SPEECH_RECOGNITION, 0.06, (39, 74, 244, 769, 809, 1550),
           (("pytorch", 0.5), ("tensorrt", 0.2), ("onnx", 0.2), ("jax", 0.1)), (("fp16", 0.8), ("fp32", 0.1), ("int8", 0.1)),
           (0.5, 60), (1000, 15000), output_tokens=(50, 100, 150, 200), accelerator=AcceleratorPolicy.AUTO),
    Family("llm-small", Task.LLM_GENERATION, 0.10, (500, 1100, 1500, 2700, 3800),
           (("vllm", 0.5), ("tgi", 0.2), ("pytorch", 0.15), ("tensorrt", 0.15)),
           (("bf16", 0.5), ("fp16", 0.25), ("int8", 0.1), ("int4", 0.15)), (0.5, 50), (2000, 30000),
           input_tokens=(128, 256, 512, 1024, 2048), output_tokens=(32, 64, 128, 256, 512)),
    Family("llm-mid", Task.LLM_GENERATION, 0.12, (7000, 8000, 12000, 13000, 14000),
           (("vllm", 0.55), ("tgi", 0.2), ("tensorrt", 0.15), ("pytorch", 0.1)),
           (("bf16", 0.45), ("fp16", 0.15), ("fp8", 0.15), ("int8", 0.1), ("int4", 0.15)), (0.3, 30), (4000, 60000),
           input_tokens=(256, 512, 1024, 2048, 4096), output_tokens=(64, 128, 256, 512, 1024),
           accelerator=AcceleratorPolicy.REQUIRED),
    Family("llm-large", Task.LLM_GENERATION, 0.06, (32000, 34000, 46700, 70000),
           (("vllm", 0.6), ("tensorrt", 0.25), ("tgi", 0.15)),
           (("bf16", 0.35), ("fp8", 0.3), ("int8", 0.1), ("int4", 0.25)), (0.2, 15), (8000, 60000),
           input_tokens=(512, 1024, 2048, 4096), output_tokens=(128, 256, 512),
           accelerator=AcceleratorPolicy.REQUIRED, active_params=((46700, 12900),)),  # Mixtral 8x7B
    Family("llm-frontier", Task.LLM_GENERATION, 0.02, (117000, 141000, 180000, 405000),
           (("vllm", 0.6), ("tensorrt", 0.4)), (("fp8", 0.6), ("int4", 0.3), ("bf16", 0.1)),
           (0.1, 5), (15000, 90000), input_tokens=(1024, 2048, 4096), output_tokens=(128, 256, 512),
           accelerator=AcceleratorPolicy.REQUIRED,
           active_params=((117000, 5100), (141000, 39000))),  # gpt-oss-120b, Mixtral 8x22B
    Family("diffusion", Task.TEXT_TO_IMAGE, 0.05, (860, 865, 2600, 3500, 12000),
           (("pytorch", 0.6), ("tensorrt", 0.3), ("onnx", 0.1)), (("fp16", 0.7), ("bf16", 0.2), ("fp8", 0.1)),
           (0.1, 10), (3000, 60000), accelerator=AcceleratorPolicy.REQUIRED,
           image_sizes=(None, 512, 768, 1024), steps=(None, 4, 20, 25, 30, 50)),
)

CLOUD_SCOPE = ((None, 0.80), ((Cloud.AWS,), 0.08), ((Cloud.GCP,), 0.05), ((Cloud.AZURE,), 0.03),
               ((Cloud.AWS, Cloud.GCP), 0.04))
REGION_SCOPE_SHARE = 0.08   # teams pinned to one region (data residency)
REGIONS = {Cloud.AWS: ("us-east-1", "us-west-2", "eu-west-1"), Cloud.GCP: ("us-central1", "us-east1", "europe-west4"),
           Cloud.AZURE: ("eastus", "westus2", "westeurope")}
SPOT_POLICY = ((SpotPolicy.NEVER, 0.5), (SpotPolicy.ALLOW, 0.35), (SpotPolicy.PREFER, 0.15))
TEAMS = ("search", "ads", "risk", "catalog", "support", "platform", "vision", "assistant", "speech", "growth")


def _pick(rng: np.random.Generator, options: tuple[tuple[object, float], ...]) -> object:
    weights = np.array([w for _, w in options], dtype=float)
    return options[int(rng.choice(len(options), p=weights / weights.sum()))][0]


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def sample_specs(n: int, *, seed: int) -> list[ModelSpec]:
    """``n`` realistic model specs: shapes, loads, SLOs, spot policies and scope constraints."""
    rng = np.random.default_rng([seed, 0x9E3779B9])
    weights = np.array([f.weight for f in FAMILIES])
    family_index = rng.choice(len(FAMILIES), size=n, p=weights / weights.sum())
    specs = []
    for i, fi in enumerate(family_index):
        specs.append(_spec(rng, FAMILIES[int(fi)], i))
    return specs


def _work(rng: np.random.Generator, fam: Family, checkpoint: float, params: float
          ) -> tuple[tuple[int, int] | None, int | None, float | None]:
    """(image size, steps, active params) of one profile. Families that state none draw
    nothing, so their profiles are what they were before these keys existed."""
    size = fam.image_sizes[int(rng.integers(len(fam.image_sizes)))] if len(fam.image_sizes) > 1 else None
    if isinstance(size, int):
        size = (size, size)
    steps = fam.steps[int(rng.integers(len(fam.steps)))] if len(fam.steps) > 1 else None
    active = dict(fam.active_params).get(checkpoint)
    return size, steps, round(active * params / checkpoint, 2) if active else None


def _spec(rng: np.random.Generator, fam: Family, i: int) -> ModelSpec:
    checkpoint = float(fam.params_millions[int(rng.integers(len(fam.params_millions)))])
    params = round(checkpoint * float(np.exp(rng.normal(0.0, 0.05))), 2)  # fine-tunes, pruned heads
    framework = str(_pick(rng, fam.frameworks))
    precision = Precision(str(_pick(rng, fam.precisions)))
    input_tokens = int(rng.choice(fam.input_tokens)) if fam.input_tokens else None
    output_tokens = int(rng.choice(fam.output_tokens)) if fam.output_tokens else None
    peak = round(_log_uniform(rng, *fam.peak_rps), 3)
    mean = round(peak * float(rng.uniform(0.2, 0.7)), 3)
    slo = _log_uniform(rng, *fam.slo_ms)
    # Bigger models of a family get looser SLOs (nobody asks a 7 B embedder for 20 ms).
    reference = float(np.exp(np.mean(np.log(fam.params_millions))))
    slo = round(slo * max(1.0, params / reference) ** 0.5, 1)
    if fam.task is Task.LLM_GENERATION and output_tokens:
        # An LLM SLO is end-to-end: make it at least ~25 ms per generated token.
        slo = max(slo, round(output_tokens * float(rng.uniform(25.0, 90.0)) + 500.0, 1))
    memory = derived_memory_gib(fam.task, params, precision, input_tokens, output_tokens)
    derived = bool(rng.random() < 0.6)
    if not derived:
        # Teams that measured declare what they saw, usually with some slack.
        memory = round(memory * float(np.exp(rng.normal(0.1, 0.15))), 2)
    clouds = _pick(rng, CLOUD_SCOPE)
    regions = None
    if rng.random() < REGION_SCOPE_SHARE:
        cloud = clouds[0] if clouds else (Cloud.AWS, Cloud.GCP, Cloud.AZURE)[int(rng.integers(3))]
        clouds = (cloud,)
        regions = (REGIONS[cloud][int(rng.integers(3))],)
    name = f"{fam.name}-{i:05d}"
    size, steps, active = _work(rng, fam, checkpoint, params)
    return ModelSpec(
        name=name, task=fam.task, framework=framework, params_millions=params, precision=precision,
        memory_gib=memory, memory_gib_derived=derived, accelerator=fam.accelerator,
        image=f"registry.example.com/{fam.name}/{name}:1.{i % 7}.0",
        load=Load(peak_rps=peak, mean_rps=mean, input_tokens=input_tokens, output_tokens=output_tokens,
                  image_size=size, steps=steps),
        active_params_millions=active,
        slo_p95_latency_ms=slo, spot=SpotPolicy(_pick(rng, SPOT_POLICY)),
        clouds=tuple(clouds) if clouds else None, regions=regions,
        min_replicas=int(rng.choice([1, 2, 2, 2, 3])), team=TEAMS[int(rng.integers(len(TEAMS)))],
    )
