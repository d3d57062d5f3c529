"""How much work and memory one model needs, from its shape alone.

These are first-order estimates shared by the baseline heuristic, the features of the
learned models and the fleet parser (which derives ``memory_gib`` when it is absent).
They deliberately know nothing about a particular offering.
"""
from __future__ import annotations

from placement.types import BYTES_PER_PARAM, ModelProfile, Precision, Task

GIB = 1024**3

# Effective "tokens" a request pushes through the network for tasks whose input is not
# text: FLOPs ≈ 2 · params · tokens. Calibrated on well-known models, e.g. ResNet-50
# (25.6 M params, ≈ 8.2 GFLOPs per 224² image → ≈ 160) and ViT-B/16 (197 patches).
TASK_TOKENS: dict[Task, float] = {
    Task.TABULAR: 1.0,
    Task.RECOMMENDATION: 1.0,
    Task.IMAGE_CLASSIFICATION: 160.0,
    Task.OBJECT_DETECTION: 400.0,
    Task.IMAGE_SEGMENTATION: 600.0,
    Task.SPEECH_RECOGNITION: 1500.0,  # 30 s of audio → 1,500 encoder frames (Whisper)
    Task.TEXT_TO_IMAGE: 30 * 1024.0,  # ~30 denoising steps over a 64×64 latent (4,096 px / 4)
}

# The work a request does when the fleet file does not say (``load.image_size``, ``load.steps``):
# what a typical model of the task is served at. ``TASK_TOKENS`` holds at these sizes; the
# work scales with the pixels (convolutions and patches both grow with the area) and, for
# text-to-image, with the denoising steps. docs/fleet-file.md documents them.
IMAGE_TASKS = frozenset({Task.IMAGE_CLASSIFICATION, Task.OBJECT_DETECTION, Task.IMAGE_SEGMENTATION,
                         Task.TEXT_TO_IMAGE})
DEFAULT_IMAGE_SIZE: dict[Task, int] = {
    Task.IMAGE_CLASSIFICATION: 224,   # ImageNet models (ResNet, ViT, EfficientNet-B0)
    Task.OBJECT_DETECTION: 640,       # YOLO family
    Task.IMAGE_SEGMENTATION: 512,     # ADE20K / Cityscapes crops (SegFormer, DeepLab)
    Task.TEXT_TO_IMAGE: 512,          # Stable Diffusion 1.x/2.x output
}
DEFAULT_STEPS = 30                    # denoising steps of a typical diffusion pipeline
MAX_IMAGE_SIDE = 16_384
MAX_STEPS = 1_000

DEFAULT_INPUT_TOKENS: dict[Task, int] = {
    Task.TEXT_EMBEDDING: 256,
    Task.TEXT_CLASSIFICATION: 128,
    Task.LLM_GENERATION: 512,
}
DEFAULT_OUTPUT_TOKENS = 256

TEXT_TASKS = frozenset({Task.TEXT_EMBEDDING, Task.TEXT_CLASSIFICATION, Task.LLM_GENERATION})


def weight_bytes(params_millions: float, precision: Precision) -> float:
    return params_millions * 1e6 * BYTES_PER_PARAM[precision]


def derived_memory_gib(task: Task, params_millions: float, precision: Precision,
                       input_tokens: int | None = None, output_tokens: int | None = None) -> float:
    """Serving memory: weights, activations and runtime (+ KV cache for generation).

    20% on top of the weights for activations and allocator slack, 1 GiB of runtime
    (CUDA context, framework); generative models keep a KV cache sized for a modest batch,
    which scales with the weights (≈ 30% for typical context lengths).
    """
    weights = weight_bytes(params_millions, precision) / GIB
    need = weights * 1.2 + 1.0
    if task is Task.LLM_GENERATION:
        context = (input_tokens or DEFAULT_INPUT_TOKENS[task]) + (output_tokens or DEFAULT_OUTPUT_TOKENS)
        need += weights * 0.3 * min(4.0, max(0.5, context / 2048))
    return round(need, 2)


def work_scale(task: Task, image_size: tuple[int, int] | None, steps: int | None) -> float:
    """How much more work than at the task's default image size and steps (1 for other tasks)."""
    scale = 1.0
    if task in DEFAULT_IMAGE_SIZE and image_size is not None:
        side = DEFAULT_IMAGE_SIZE[task]
        scale *= image_size[0] * image_size[1] / (side * side)
    if task is Task.TEXT_TO_IMAGE and steps is not None:
        scale *= steps / DEFAULT_STEPS
    return scale


def compute_params_millions(profile: ModelProfile) -> float:
    """Parameters each token goes through: the active ones of a mixture of experts."""
    return profile.active_params_millions or profile.params_millions


def input_tokens(profile: ModelProfile) -> float:
    if profile.task in TEXT_TASKS:
        return float(profile.input_tokens or DEFAULT_INPUT_TOKENS[profile.task])
    return TASK_TOKENS[profile.task] * work_scale(profile.task, profile.image_size, profile.steps)


def output_tokens(profile: ModelProfile) -> float:
    if profile.task is Task.LLM_GENERATION:
        return float(profile.output_tokens or DEFAULT_OUTPUT_TOKENS)
    if profile.task is Task.SPEECH_RECOGNITION:
        return float(profile.output_tokens or 100)
    return 0.0


def prefill_flops(profile: ModelProfile) -> float:
    """FLOPs of the parallel part of one request (the whole request for non-generative tasks);
    ``gflops_per_request`` overrides the derivation."""
    if profile.gflops_per_request is not None:
        return profile.gflops_per_request * 1e9
    return 2.0 * compute_params_millions(profile) * 1e6 * input_tokens(profile)


def decode_bytes_per_token(profile: ModelProfile) -> float:
    """Bytes streamed from memory per generated token at batch 1 (the active weights dominate)."""
    return weight_bytes(compute_params_millions(profile), profile.precision)
