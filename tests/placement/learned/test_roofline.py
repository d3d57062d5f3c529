"""The batched GPU roofline the saturation model corrects, and the queueing curve the latency
model corrects: physics a reviewer can check by hand."""
from __future__ import annotations

import math

import numpy as np
import pytest

from placement import features as F
from placement.learned.curve import CURVE_COLUMNS, latency_anchor
from placement.types import ModelProfile, Precision, Task
from placement.workload import derived_memory_gib


def llm(params_millions: float, *, output_tokens: int = 256, input_tokens: int = 512) -> ModelProfile:
    return ModelProfile(task=Task.LLM_GENERATION, framework="vllm", params_millions=params_millions,
                        precision=Precision.FP16,
                        memory_gib=derived_memory_gib(Task.LLM_GENERATION, params_millions, Precision.FP16),
                        peak_rps=1.0, slo_p95_latency_ms=30_000, input_tokens=input_tokens,
                        output_tokens=output_tokens)


def image_model() -> ModelProfile:
    return ModelProfile(task=Task.IMAGE_CLASSIFICATION, framework="pytorch", params_millions=25.0,
                        precision=Precision.FP16,
                        memory_gib=derived_memory_gib(Task.IMAGE_CLASSIFICATION, 25.0, Precision.FP16),
                        peak_rps=100.0, slo_p95_latency_ms=100)


def features(profile: ModelProfile, offerings) -> dict[str, np.ndarray]:
    cols = dict(F.offering_columns(offerings))
    cols.update(F.profile_columns(profile))
    return F.physics(cols)


@pytest.fixture(scope="module")
def machines(catalog):
    def get(cloud, instance_type):
        return catalog.find(cloud, "us-east-1" if cloud == "aws" else "us-central1", instance_type)
    return {
        "1xA100-40": get("gcp", "a2-highgpu-1g"),
        "8xA100-40": get("aws", "p4d.24xlarge"),
        "1xH100": get("gcp", "a3-highgpu-1g"),
        "8xH100": get("aws", "p5.48xlarge"),
        "cpu": get("aws", "m7i.2xlarge") if any(o.instance_type == "m7i.2xlarge" for o in catalog.offerings)
        else next(o for o in catalog.offerings if not o.has_gpu),
    }


def test_a_model_that_fits_one_gpu_runs_a_copy_on_each(machines):
    f = features(llm(30_000), [machines["1xH100"], machines["8xH100"]])
    # 60 GB of fp16 weights fit in one 80 GB H100: no tensor parallelism, eight copies.
    assert list(f["tensor_parallel_degree"]) == [1.0, 1.0]
    assert list(f["model_copies"]) == [1.0, 8.0]
    assert f["roofline_saturation_rps"][1] == pytest.approx(8 * f["roofline_saturation_rps"][0])


def test_weights_larger_than_one_gpu_take_the_smallest_group_that_holds_them(machines):
    f = features(llm(30_000), [machines["1xA100-40"], machines["8xA100-40"]])
    # 60 GB do not fit one 40 GB A100, nor does anything on a single-GPU machine; two do.
    assert f["tensor_parallel_degree"][1] == 2.0 and f["model_copies"][1] == 4.0
    assert f["tensor_parallel_degree"][0] == 1.0 and f["model_copies"][0] == 1.0


def test_longer_generations_cost_throughput_and_batch_room(machines):
    short = features(llm(7_000, output_tokens=64, input_tokens=256), [machines["1xA100-40"]])
    long = features(llm(7_000, output_tokens=2048, input_tokens=4096), [machines["1xA100-40"]])
    assert long["roofline_saturation_rps"][0] < short["roofline_saturation_rps"][0] / 10
    # The KV cache of a long context leaves room for fewer sequences in a batch.
    assert long["log_roofline_batch"][0] < short["log_roofline_batch"][0]


def test_a_faster_gpu_never_lowers_the_roofline(machines):
    for profile in (llm(7_000), image_model()):
        f = features(profile, [machines["1xA100-40"], machines["1xH100"]])
        assert f["roofline_saturation_rps"][1] > f["roofline_saturation_rps"][0]


def test_cpu_rows_keep_the_whiteboard_anchor(machines):
    f = features(image_model(), [machines["cpu"], machines["1xH100"]])
    assert np.isnan(f["roofline_saturation_rps"][0]) and np.isnan(f["tensor_parallel_degree"][0])
    assert f["saturation_anchor_rps"][0] == f["physics_saturation_rps"][0]
    assert f["saturation_anchor_rps"][1] == f["roofline_saturation_rps"][1]


def cpu_curve(n: int, tail_ms: float, slots: float) -> dict[str, np.ndarray]:
    """Curve columns of CPU rows: the whiteboard's tail and slots, no batch times."""
    curve = {name: np.full(n, np.nan) for name in CURVE_COLUMNS}
    curve.update(physics_tail_ms=np.full(n, tail_ms), queue_slots=np.full(n, slots), model_copies=np.full(n, np.nan))
    return curve


def gpu_curve(profile: ModelProfile, offering, n: int) -> dict[str, np.ndarray]:
    f = features(profile, [offering])
    return {name: np.repeat(f[name], n) for name in CURVE_COLUMNS}


def test_a_single_queue_starts_at_the_idle_tail_and_grows_with_load():
    rho = np.array([1e-4, 0.2, 0.5, 0.8, 0.9, 0.95])
    for slots in (1.0, 8.0, 64.0):
        p95 = latency_anchor(cpu_curve(6, 30.0, slots), rho)
        assert p95[0] == pytest.approx(30.0)
        assert np.all(np.diff(p95) >= 0) and p95[-1] > p95[0]


def test_more_request_slots_queue_less_at_the_same_utilization():
    p95 = [latency_anchor(cpu_curve(1, 30.0, slots), np.array([0.9]))[0] for slots in (1.0, 8.0, 64.0)]
    assert p95[0] > p95[1] > p95[2]
    # A replica serving 64 requests at once at 90 % busy is still within ~20 % of its idle tail.
    assert p95[2] < 1.2 * 30.0


def test_one_slot_grows_like_the_single_server_queue_towards_the_knee():
    # M/M/1: p95 sojourn = service · ln 20 / (1 − ρ); the anchor's tail is service · ln 20.
    # Idle tail + p95 wait over-states the p95 of their sum a little, less as the wait dominates.
    rho = np.array([0.5, 0.7, 0.9, 0.95])
    ratio = latency_anchor(cpu_curve(4, 30.0, 1.0), rho) / (30.0 / (1.0 - rho))
    assert np.all(ratio >= 1.0) and np.all(np.diff(ratio) < 0)
    assert ratio[0] < 1.3 and ratio[-1] < 1.05


def test_a_gpu_idles_at_a_batch_of_one_and_batches_up_as_load_grows(machines):
    rho = np.array([1e-4, 0.1, 0.3, 0.5, 0.7, 0.9, 0.97])
    for profile in (llm(7_000), image_model()):
        curve = gpu_curve(profile, machines["1xA100-40"], len(rho))
        p95 = latency_anchor(curve, rho)
        one = curve[F.ROOFLINE_BATCH_COLUMNS[0]][0]
        assert p95[0] == pytest.approx(one * math.log(20.0), rel=1e-3)
        assert np.all(np.diff(p95) >= -1e-9)
        # Near saturation only the largest batches keep up, and each takes longer than one request.
        largest = np.nanmax([curve[c][0] for c in F.ROOFLINE_BATCH_COLUMNS])
        assert p95[-1] >= largest * math.log(20.0) > p95[0]


def test_model_copies_share_the_load():
    # Twice the copies: the same utilization is twice the load, spread over twice the slots — the
    # same batch time, but less queueing at the knee.
    curve = cpu_curve(1, 30.0, 1.0)
    for name in F.ROOFLINE_BATCH_COLUMNS:
        curve[name] = np.array([10.0])
    one, two = dict(curve, model_copies=np.array([1.0])), dict(curve, model_copies=np.array([2.0]))
    rho = np.array([0.9])
    assert latency_anchor(two, rho)[0] < latency_anchor(one, rho)[0]
