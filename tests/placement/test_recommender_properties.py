"""The learned recommender never breaks a hard constraint, whatever the fleet (property-based)."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from placement.candidates import fits_memory
from placement.errors import InfeasibleError
from placement.learned.explain import LearnedExplainer
from placement.optimizer import MIN_SUCCESS_PROBABILITY, place
from placement.types import AcceleratorPolicy, Cloud, Load, ModelSpec, Precision, Purchase, SpotPolicy, Task
from placement.workload import derived_memory_gib

REGIONS = {Cloud.AWS: ("us-east-1", "us-west-2", "eu-west-1"), Cloud.GCP: ("us-central1", "us-east1", "europe-west4"),
           Cloud.AZURE: ("eastus", "westus2", "westeurope")}


@st.composite
def specs(draw) -> ModelSpec:
    task = draw(st.sampled_from(list(Task)))
    precision = draw(st.sampled_from(list(Precision)))
    params = draw(st.floats(0.5, 80_000))
    clouds = draw(st.none() | st.lists(st.sampled_from(list(Cloud)), min_size=1, max_size=3, unique=True))
    regions = None
    if draw(st.booleans()):
        pool = [r for c in (clouds or list(Cloud)) for r in REGIONS[c]]
        regions = tuple(draw(st.lists(st.sampled_from(pool), min_size=1, max_size=2, unique=True)))
    min_replicas = draw(st.integers(1, 4))
    max_replicas = draw(st.none() | st.integers(min_replicas, 30))
    peak = draw(st.floats(0.05, 3000))
    mean_share = draw(st.none() | st.floats(0.05, 1.0))
    text = task in (Task.TEXT_EMBEDDING, Task.TEXT_CLASSIFICATION, Task.LLM_GENERATION)
    accel = AcceleratorPolicy.REQUIRED if task is Task.TEXT_TO_IMAGE else draw(st.sampled_from(list(AcceleratorPolicy)))
    return ModelSpec(
        name="m", task=task, framework=draw(st.sampled_from(["pytorch", "onnx", "vllm", "tensorrt", "xgboost"])),
        params_millions=params, precision=precision, memory_gib=derived_memory_gib(task, params, precision),
        memory_gib_derived=True, accelerator=accel, image="r/m:1",
        load=Load(peak_rps=peak, mean_rps=None if mean_share is None else peak * mean_share,
                  input_tokens=draw(st.sampled_from([None, 128, 2048])) if text else None,
                  output_tokens=draw(st.sampled_from([None, 64, 512])) if task is Task.LLM_GENERATION else None),
        slo_p95_latency_ms=draw(st.floats(5, 120_000)), spot=draw(st.sampled_from(list(SpotPolicy))),
        clouds=tuple(clouds) if clouds else None, regions=regions, min_replicas=min_replicas,
        max_replicas=max_replicas, budget_monthly_usd=draw(st.none() | st.floats(50, 200_000)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(spec=specs())
def test_hard_constraints_hold(catalog, learned, spec):
    try:
        placement = place(spec, catalog, learned, explain=LearnedExplainer(learned).explain)
    except InfeasibleError as exc:
        assert exc.reason  # says why, in words
        return
    for choice in [placement.chosen] + [a.choice for a in placement.alternatives if a.feasible]:
        offering = catalog.find(choice.cloud, choice.region, choice.instance_type, choice.accelerator)
        if spec.clouds:
            assert choice.cloud in spec.clouds
        if spec.regions:
            assert choice.region in spec.regions
        if spec.spot is SpotPolicy.NEVER:
            assert choice.purchase is Purchase.ON_DEMAND
        if spec.accelerator is AcceleratorPolicy.REQUIRED:
            assert offering.has_gpu
        if spec.accelerator is AcceleratorPolicy.NONE:
            assert not offering.has_gpu
        assert fits_memory(spec.memory_gib, offering)
        assert choice.replicas >= spec.min_replicas
        assert choice.min_replicas <= choice.replicas <= choice.max_replicas
        if spec.max_replicas is not None:
            assert choice.replicas <= spec.max_replicas
        if spec.budget_monthly_usd is not None:
            assert choice.monthly_cost_usd <= spec.budget_monthly_usd + 1e-6
        assert choice.predicted_rps_per_replica * choice.replicas >= spec.load.peak_rps * (1 - 1e-9)
        assert choice.predicted_p95_latency_ms <= spec.slo_p95_latency_ms
        assert choice.success_probability >= MIN_SUCCESS_PROBABILITY
    # Deterministic: the same inputs give the same decision.
    assert place(spec, catalog, learned, explain=LearnedExplainer(learned).explain) == placement
