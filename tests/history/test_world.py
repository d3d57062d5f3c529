"""The world's physics on hand-computed cases, and its invariants as properties."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from history import world as W
from history.population import sample_specs
from history.world import World, WorldParams, profile_frame
from placement.errors import InputError
from placement.sizing import INTERRUPTION_RATE_BY_BUCKET
from placement.types import ModelProfile, Precision, Purchase, Task


@pytest.fixture(scope="module")
def world(catalog):
    return World(catalog)


def offering(catalog, instance_type, region="us-east-1", cloud="aws", accelerator=None):
    for o in catalog:
        if (o.instance_type == instance_type and o.region == region and o.cloud.value == cloud
                and (accelerator is None or o.accelerator == accelerator)):
            return o
    raise LookupError(instance_type)


def llm(params_millions=8000, precision=Precision.BF16, framework="vllm", slo=20_000.0, **kw) -> ModelProfile:
    return ModelProfile(task=Task.LLM_GENERATION, framework=framework, params_millions=params_millions,
                        precision=precision, memory_gib=20.0, peak_rps=5.0, slo_p95_latency_ms=slo,
                        input_tokens=kw.get("input_tokens", 512), output_tokens=kw.get("output_tokens", 256))


def bert(framework="onnx", slo=100.0) -> ModelProfile:
    return ModelProfile(task=Task.TEXT_CLASSIFICATION, framework=framework, params_millions=110.0,
                        precision=Precision.FP16, memory_gib=1.5, peak_rps=100.0, slo_p95_latency_ms=slo,
                        input_tokens=128)


def test_a_model_that_does_not_fit_ooms(world, catalog):
    # Llama-70B in bf16 is 140 GB of weights; a T4 has 16 GB.
    truth = world.truth(llm(70_000), offering(catalog, "g4dn.xlarge"), Purchase.ON_DEMAND)
    assert not truth.fits
    assert truth.capacity_rps == 0.0
    assert math.isnan(truth.p95_ms)


def test_the_same_model_fits_when_sharded_over_eight_a100s(world, catalog):
    # 140 GB / 8 = 17.5 GB per 40 GB A100: tensor parallel makes it fit.
    truth = world.truth(llm(70_000, slo=60_000), offering(catalog, "p4d.24xlarge"), Purchase.ON_DEMAND)
    assert truth.fits and truth.capacity_rps > 0


def test_kv_cache_of_long_contexts_can_tip_a_model_into_oom(world, catalog):
    # 8 B bf16 = 15 GiB of weights on a 24 GB A10G: a short context fits, 130k tokens of KV do not.
    a10g = offering(catalog, "g5.xlarge")
    assert world.truth(llm(), a10g, Purchase.ON_DEMAND).fits
    assert not world.truth(llm(input_tokens=128_000, output_tokens=2_000), a10g, Purchase.ON_DEMAND).fits


def test_service_time_of_a_batch_of_one_is_the_hand_computed_roofline(world, catalog):
    """BERT-base, 128 tokens, fp16, ONNX on one A10G (70 TFLOPS fp16, 600 GB/s)."""
    a10g = offering(catalog, "g5.xlarge")
    model = world.service_model(profile_frame([bert()]), world.offering_frame([a10g]))
    flops = 2 * 110e6 * 128                        # 28.2 GFLOP
    # Ampere MFU 0.50 and ONNX 0.75, times the calibrated Ampere compute and bandwidth multipliers.
    compute = 70e12 * 0.50 * world.params.of("compute", "Ampere") * 0.75
    weights = 110e6 * 2                            # fp16
    bandwidth = 600e9 * 0.60 * world.params.of("bandwidth", "Ampere")   # ONNX bandwidth efficiency
    activations = 4e6 * math.sqrt(110e6 / 1e8)     # text-classification activations at 128 tokens
    layers = max(4.0, 110 ** (1 / 3) * 1.7)
    expected_ms = 0.8 + layers * 0.006 + 1e3 * max(flops / compute, (weights + activations) / bandwidth)
    speed = world.speed_factor("aws", "us-east-1", "g5")
    assert model.service_ms[0, 0] * speed == pytest.approx(expected_ms, rel=1e-9)
    # Host stage: tokenisation + ONNX serving overhead on 4 vCPUs − 2.
    assert model.host_ms[0] * speed == pytest.approx(0.3 + 0.2)
    assert model.host_slots[0] == 2


def test_doubling_memory_bandwidth_raises_llm_decode_throughput(catalog):
    # The whiteboard world (the calibrated one makes this 8 B model compute bound at its best
    # batch on an A10G, which is the point of calibrating; the physics is checked here).
    world = World(catalog, params=WorldParams())
    a10g = offering(catalog, "g5.xlarge")
    faster = dataclasses.replace(a10g, gpu=dataclasses.replace(a10g.gpu, memory_bandwidth_gbps=2 * 600.0))
    base = world.truth(llm(), a10g, Purchase.ON_DEMAND)
    fast = world.truth(llm(), faster, Purchase.ON_DEMAND)
    assert fast.max_rps > base.max_rps * 1.3
    assert fast.capacity_rps > base.capacity_rps * 1.3
    # Decode is bandwidth bound: doubling FLOPs instead helps far less than doubling bandwidth.
    more_flops = dataclasses.replace(a10g, gpu=dataclasses.replace(a10g.gpu, fp16_tflops=2 * 70.0))
    assert world.truth(llm(), more_flops, Purchase.ON_DEMAND).max_rps < fast.max_rps


def test_doubling_flops_raises_encoder_throughput(world, catalog):
    a10g = offering(catalog, "g5.xlarge")
    more_flops = dataclasses.replace(a10g, gpu=dataclasses.replace(a10g.gpu, fp16_tflops=2 * 70.0))
    base = world.truth(bert(slo=200), a10g, Purchase.ON_DEMAND)
    fast = world.truth(bert(slo=200), more_flops, Purchase.ON_DEMAND)
    assert fast.max_rps > base.max_rps


def test_fp8_is_fast_on_hopper_and_emulated_on_ampere(world, catalog):
    h100 = offering(catalog, "p5.48xlarge")
    a100 = offering(catalog, "p4de.24xlarge")
    profile = llm(70_000, slo=60_000, output_tokens=64, input_tokens=4096)

    def gain(o):
        fp8 = world.truth(dataclasses.replace(profile, precision=Precision.FP8), o, Purchase.ON_DEMAND).max_rps
        bf16 = world.truth(profile, o, Purchase.ON_DEMAND).max_rps
        return fp8 / bf16

    assert gain(h100) > 1.5          # fp8 tensor cores + half the bytes
    assert gain(h100) > gain(a100) * 1.3


def test_continuous_batching_beats_plain_pytorch_for_llms(world, catalog):
    a100 = offering(catalog, "p4de.24xlarge")
    vllm = world.truth(llm(framework="vllm"), a100, Purchase.ON_DEMAND)
    torch = world.truth(llm(framework="pytorch"), a100, Purchase.ON_DEMAND)
    assert vllm.capacity_rps > 2 * torch.capacity_rps


def test_bigger_batches_raise_throughput_and_latency(world, catalog):
    a10g = offering(catalog, "g5.xlarge")
    model = world.service_model(profile_frame([llm()]), world.offering_frame([a10g]))
    valid = model.valid[0]
    throughput = (model.slots[0] / model.service_ms[0])[valid]
    service = model.service_ms[0][valid]
    assert len(throughput) >= 4
    assert np.all(np.diff(service) > 0)                # each request takes longer in a bigger batch
    assert throughput[-1] > 4 * throughput[0]          # but far more requests are served
    gains = np.diff(throughput) / throughput[:-1]
    assert gains[-1] < gains[0]                        # and the gain saturates


def test_cpu_only_frameworks_leave_the_gpu_idle_and_gpu_only_ones_cannot_run_on_cpus(world, catalog):
    gbdt = ModelProfile(task=Task.TABULAR, framework="lightgbm", params_millions=2, precision=Precision.FP32,
                        memory_gib=1.0, peak_rps=100, slo_p95_latency_ms=20)
    model = world.service_model(profile_frame([gbdt]), world.offering_frame([offering(catalog, "g5.xlarge")]))
    assert not model.gpu_path[0] and model.runs[0]
    trt = dataclasses.replace(bert(), framework="tensorrt")
    truth = world.truth(trt, offering(catalog, "c6i.4xlarge"), Purchase.ON_DEMAND)
    assert not truth.runs and truth.capacity_rps == 0


def test_small_hosts_starve_big_gpus_on_image_work(world, catalog):
    resnet = ModelProfile(task=Task.IMAGE_CLASSIFICATION, framework="tensorrt", params_millions=25.6,
                          precision=Precision.FP16, memory_gib=1.0, peak_rps=100, slo_p95_latency_ms=200)
    small = world.truth(resnet, offering(catalog, "g5.xlarge"), Purchase.ON_DEMAND)     # 4 vCPUs
    large = world.truth(resnet, offering(catalog, "g5.8xlarge"), Purchase.ON_DEMAND)    # 32 vCPUs, same GPU
    host_limit = (4 - 2) / (4.0 + 0.1) * 1e3 * world.speed_factor("aws", "us-east-1", "g5")
    assert small.max_rps == pytest.approx(host_limit, rel=1e-6)
    assert large.max_rps > 2 * small.max_rps


def test_capacity_is_the_load_where_p95_reaches_the_slo(world, catalog):
    a10g = offering(catalog, "g5.xlarge")
    profile = bert(slo=60.0)
    truth = world.truth(profile, a10g, Purchase.ON_DEMAND)
    assert truth.capacity_rps > 0
    assert truth.p95_ms <= profile.slo_p95_latency_ms * (1 + 1e-6)
    beyond = world.truth(profile, a10g, Purchase.ON_DEMAND, rps_per_replica=truth.capacity_rps * 1.05)
    utilisation_capped = truth.capacity_rps >= 0.95 * truth.max_rps * 0.999
    assert beyond.p95_ms > profile.slo_p95_latency_ms or utilisation_capped


def test_an_slo_tighter_than_the_idle_latency_has_no_capacity(world, catalog):
    truth = world.truth(llm(slo=500.0), offering(catalog, "g5.xlarge"), Purchase.ON_DEMAND)
    assert truth.fits and truth.capacity_rps == 0 and truth.p95_ms > 500.0


def test_spot_interruption_rates_follow_the_advisor_bucket(world, catalog):
    for o in catalog:
        if o.cloud.value == "aws" and o.spot_interruption_bucket in INTERRUPTION_RATE_BY_BUCKET:
            spot = world.truth(bert(), o, Purchase.SPOT)
            assert spot.interruption_rate_per_month == INTERRUPTION_RATE_BY_BUCKET[o.spot_interruption_bucket]
            assert world.truth(bert(), o, Purchase.ON_DEMAND).interruption_rate_per_month == 0.0
            break
    else:
        pytest.fail("no AWS offering with an advisor bucket")


def test_scarce_gpus_fail_for_capacity_more_often_especially_on_spot(world, catalog):
    t4 = world.truth(bert(), offering(catalog, "g4dn.xlarge"), Purchase.ON_DEMAND).capacity_failure_prob
    h100 = world.truth(bert(), offering(catalog, "p5.48xlarge"), Purchase.ON_DEMAND).capacity_failure_prob
    h100_spot = world.truth(bert(), offering(catalog, "p5.48xlarge"), Purchase.SPOT).capacity_failure_prob
    assert t4 < h100 < h100_spot


def _frame_for(specs, offerings) -> pd.DataFrame:
    prof = pd.DataFrame([{
        "task": s.task.value, "framework": s.framework, "params_millions": s.params_millions,
        "precision": s.precision.value, "memory_gib": s.memory_gib, "input_tokens": s.load.input_tokens,
        "output_tokens": s.load.output_tokens, "slo_p95_latency_ms": s.slo_p95_latency_ms} for s in specs])
    off = pd.DataFrame([{"cloud": o.cloud.value, "region": o.region, "instance_type": o.instance_type,
                         "accelerator": o.accelerator, "accelerator_count": o.accelerator_count,
                         "purchase": "spot" if o.spot_price_hour_usd else "on_demand"} for o in offerings])
    return prof.merge(off, how="cross")


def test_truth_frame_matches_truth_row_by_row(world, catalog):
    specs = sample_specs(6, seed=11)
    offerings = list(catalog.offerings)[::60]
    frame = _frame_for(specs, offerings)
    table = world.truth_frame(frame)
    for i in range(0, len(frame), 7):
        spec, o = specs[i // len(offerings)], offerings[i % len(offerings)]
        one = world.truth(spec.profile, o, Purchase(frame.loc[i, "purchase"]))
        row = table.iloc[i]
        assert bool(row.fits) == one.fits
        assert row.capacity_rps == pytest.approx(one.capacity_rps, rel=1e-9, abs=1e-12)
        assert row.interruption_rate_per_month == one.interruption_rate_per_month
        if one.capacity_rps > 0:
            assert row.p95_ms == pytest.approx(one.p95_ms, rel=1e-9)


def test_truth_frame_latency_quantiles_are_ordered_everywhere(world, catalog):
    frame = _frame_for(sample_specs(40, seed=3), list(catalog.offerings)[::4])
    table = world.truth_frame(frame)
    has = table["p50_ms"].notna()
    assert has.sum() > 1000
    assert (table.loc[has, "p95_ms"] >= table.loc[has, "p50_ms"]).all()
    assert (table.loc[has, "p99_ms"] >= table.loc[has, "p95_ms"]).all()
    assert ((table.capacity_rps > 0) <= table.fits).all()


def test_truth_frame_rejects_offerings_the_catalog_does_not_have(world):
    frame = pd.DataFrame([{
        "task": "tabular", "framework": "lightgbm", "params_millions": 1.0, "precision": "fp32",
        "memory_gib": 1.0, "input_tokens": None, "output_tokens": None, "slo_p95_latency_ms": 10.0,
        "cloud": "aws", "region": "us-east-1", "instance_type": "g5.huge", "accelerator": "A10G",
        "accelerator_count": 1, "purchase": "on_demand"}])
    with pytest.raises(InputError, match="g5.huge"):
        world.truth_frame(frame)


def test_the_world_is_fixed_by_its_seed(catalog):
    assert World(catalog).speed_factor("aws", "us-east-1", "g5") == World(catalog, seed=0).speed_factor(
        "aws", "us-east-1", "g5")
    assert World(catalog, seed=1).speed_factor("aws", "us-east-1", "g5") != World(catalog).speed_factor(
        "aws", "us-east-1", "g5")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec_seed=st.integers(0, 10_000), offering_index=st.integers(0, 536),
       load_share=st.floats(0.0, 1.5), purchase=st.sampled_from(list(Purchase)))
def test_latency_quantiles_are_ordered_and_grow_with_load(world, catalog, spec_seed, offering_index,
                                                          load_share, purchase):
    spec = sample_specs(1, seed=spec_seed)[0]
    o = catalog.offerings[offering_index % len(catalog)]
    idle = world.truth(spec.profile, o, purchase)
    if not (idle.fits and idle.runs) or idle.max_rps <= 0:
        return
    load = load_share * idle.max_rps
    low = world.truth(spec.profile, o, purchase, rps_per_replica=load)
    high = world.truth(spec.profile, o, purchase, rps_per_replica=load * 1.2 + 1e-6)
    for t in (low, high):
        assert t.p50_ms <= t.p95_ms <= t.p99_ms
    assert high.p95_ms >= low.p95_ms * (1 - 1e-9)


def test_constants_stay_in_physical_ranges():
    for name, gen in W.GPU_GENERATIONS.items():
        assert 0.2 <= gen.mfu <= 0.7, name
    for name, fw in W.FRAMEWORKS.items():
        assert 0 <= fw.gpu_eff <= 1 and 0 <= fw.bw_eff <= 1 and fw.max_batch >= 1, name
    assert W.MAX_UTILIZATION < 1


def test_a_deployment_meets_its_slo_only_with_enough_replicas(world, catalog):
    a10g = offering(catalog, "g5.xlarge")
    profile = dataclasses.replace(bert(slo=60.0), peak_rps=2_000.0)
    per_replica = world.truth(profile, a10g, Purchase.ON_DEMAND).capacity_rps
    enough = math.ceil(profile.peak_rps / per_replica)
    assert world.deployment(profile, a10g, Purchase.ON_DEMAND, enough).meets_slo
    short = world.deployment(profile, a10g, Purchase.ON_DEMAND, max(1, enough // 2))
    assert not short.meets_slo
    spot = world.deployment(profile, a10g, Purchase.SPOT, 4)
    assert spot.expected_interruptions_per_month == pytest.approx(4 * spot.replica.interruption_rate_per_month)
    assert spot.capacity_failure_prob > spot.replica.capacity_failure_prob
