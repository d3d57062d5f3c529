"""The physics baseline on hand-checked cases, and the optimizer's hard constraints."""
from __future__ import annotations

import math
import textwrap

import pytest

from placement.baseline import HeuristicPredictor, service_time_ms
from placement.errors import InfeasibleError
from placement.fleet import parse_fleet_text
from placement.optimizer import place, recommend
from placement.types import HOURS_PER_MONTH, Cloud, Purchase


def spec(**fields):
    base = {
        "name": "m", "task": "image-classification", "framework": "onnx", "params_millions": 25.6,
        "precision": "fp16", "image": "ghcr.io/acme/m:1", "load": {"peak_rps": 400}, "slo": {"p95_latency_ms": 150},
    }
    base.update(fields)
    import yaml
    text = "version: 1\nmodels:\n" + textwrap.indent(yaml.safe_dump([base], sort_keys=False), "  ")
    return parse_fleet_text(text).models[0]


def test_resnet50_on_t4_matches_the_hand_computed_roofline(catalog):
    # 2 · 25.6e6 params · 160 tokens = 8.19 GFLOP; T4 fp16 65 TFLOP/s · 35% MFU = 22.75 TFLOP/s
    # → 0.36 ms per image, batches of 8 → 2.88 ms; p95 tail 2.88 · ln 20 = 8.63 ms ≪ 150 ms SLO,
    # so utilisation caps at 70%: 8 / 2.88 ms · 0.7 = 1,944 rps per replica.
    s = spec()
    t4 = catalog.find("aws", "us-east-1", "g4dn.xlarge")
    service, concurrency = service_time_ms(s.profile, t4)
    assert service == pytest.approx(2 * 25.6e6 * 160 / (65e12 * 0.35) * 1e3 * 8, rel=1e-6)
    pred = HeuristicPredictor().predict_one(s.profile, t4)
    assert pred.rps_per_replica == pytest.approx(8 / (service / 1e3) * 0.7, rel=1e-6)
    assert pred.p95_latency_ms == pytest.approx(service * math.log(20) / 0.3, rel=1e-6)


def test_llm_decode_is_bandwidth_bound(catalog):
    s = spec(name="llm", task="llm-generation", framework="vllm", params_millions=8000, precision="bf16",
             load={"peak_rps": 2, "input_tokens": 512, "output_tokens": 256}, slo={"p95_latency_ms": 60000})
    a100_40 = catalog.find("aws", "us-east-1", "p4d.24xlarge")
    l4 = catalog.find("gcp", "us-central1", "g2-standard-8")
    fast, _ = service_time_ms(s.profile, a100_40)
    slow, _ = service_time_ms(s.profile, l4)
    assert fast < slow  # 8 × 1,555 GB/s beats 300 GB/s


def test_70b_fp16_never_lands_on_a_single_24gib_gpu(catalog):
    s = spec(name="llama-70b", task="llm-generation", framework="vllm", params_millions=70000, precision="fp16",
             accelerator="required", load={"peak_rps": 1, "input_tokens": 512, "output_tokens": 128},
             slo={"p95_latency_ms": 120000})
    p = place(s, catalog, HeuristicPredictor())
    assert p.chosen.accelerator is not None
    offering = catalog.find(p.chosen.cloud, p.chosen.region, p.chosen.instance_type, p.chosen.accelerator)
    assert offering.total_gpu_memory_gib >= 140
    assert not (offering.accelerator_memory_gib == 24 and offering.accelerator_count == 1)


def test_spot_never_never_yields_spot_and_prefer_does(catalog):
    never = place(spec(spot="never"), catalog, HeuristicPredictor())
    assert never.chosen.purchase is Purchase.ON_DEMAND
    assert all(a.choice.purchase is Purchase.ON_DEMAND for a in never.alternatives)
    prefer = place(spec(spot="prefer"), catalog, HeuristicPredictor())
    assert prefer.chosen.purchase is Purchase.SPOT and prefer.chosen.on_demand_base == 0
    allow = place(spec(spot="allow"), catalog, HeuristicPredictor())
    if allow.chosen.purchase is Purchase.SPOT:
        assert allow.chosen.on_demand_base >= 1  # spot allow keeps an on-demand base


def test_clouds_and_regions_are_honoured(catalog):
    p = place(spec(clouds=["gcp"]), catalog, HeuristicPredictor())
    assert p.chosen.cloud is Cloud.GCP
    assert all(a.choice.cloud is Cloud.GCP for a in p.alternatives)
    r = place(spec(regions=["westeurope"]), catalog, HeuristicPredictor())
    assert r.chosen.region == "westeurope"


def test_accelerator_none_stays_on_cpu(catalog):
    p = place(spec(accelerator="none", load={"peak_rps": 20}, slo={"p95_latency_ms": 2000}), catalog, HeuristicPredictor())
    assert p.chosen.accelerator is None


def test_replicas_cover_peak_and_respect_min_replicas(catalog):
    p = place(spec(load={"peak_rps": 5000, "mean_rps": 1000}, min_replicas=3), catalog, HeuristicPredictor())
    c = p.chosen
    assert c.replicas * c.predicted_rps_per_replica >= 5000
    assert c.min_replicas >= 3 and c.min_replicas <= c.replicas <= c.max_replicas
    small = place(spec(load={"peak_rps": 1}, min_replicas=4), catalog, HeuristicPredictor())
    assert small.chosen.replicas == 4


def test_chosen_is_the_cheapest_feasible_and_alternatives_cost_more(catalog):
    p = place(spec(), catalog, HeuristicPredictor())
    for alt in p.alternatives:
        if alt.feasible:
            assert alt.choice.monthly_cost_usd >= p.chosen.monthly_cost_usd
        else:
            assert alt.reason.startswith("rejected: ")


def test_impossible_memory_names_the_constraint(catalog):
    s = spec(name="giant", task="llm-generation", framework="vllm", params_millions=800000, precision="fp32",
             accelerator="required", clouds=["aws"], load={"peak_rps": 1, "input_tokens": 10, "output_tokens": 10},
             slo={"p95_latency_ms": 1e6})
    with pytest.raises(InfeasibleError) as info:
        place(s, catalog, HeuristicPredictor())
    assert "giant: no feasible placement: no offering in [aws] has ≥" in str(info.value)
    assert "GiB of GPU memory" in str(info.value)


def test_impossible_slo_and_budget_name_the_constraint(catalog):
    with pytest.raises(InfeasibleError, match=r"meets p95 ≤ 0.1 ms"):
        place(spec(slo={"p95_latency_ms": 0.1}), catalog, HeuristicPredictor())
    with pytest.raises(InfeasibleError, match=r"over budget_monthly_usd \$1"):
        place(spec(budget_monthly_usd=1), catalog, HeuristicPredictor())
    with pytest.raises(InfeasibleError, match=r"above max_replicas 2"):
        place(spec(load={"peak_rps": 1e7}, max_replicas=2), catalog, HeuristicPredictor())


def test_recommendation_is_deterministic(catalog, project_root):
    from placement.fleet import load_fleet

    fleet = load_fleet(project_root / "examples/fleet.yaml")
    a = recommend(fleet, catalog, HeuristicPredictor()).to_dict()
    b = recommend(fleet, catalog, HeuristicPredictor()).to_dict()
    assert a == b
    assert a["model_version"] is None and a["catalog_version"] == catalog.version


def test_cost_summary_groups_by_team_and_cloud_and_counts_spot_savings(catalog, project_root):
    from placement.costs import summarize
    from placement.fleet import load_fleet
    from placement.plan import DeploymentPlan

    fleet = load_fleet(project_root / "examples/fleet.yaml")
    rec = recommend(fleet, catalog, HeuristicPredictor())
    plan = DeploymentPlan.from_recommendation(fleet, rec)
    summary = summarize(plan.deployments)
    assert summary.monthly_cost_usd == pytest.approx(rec.monthly_cost_usd)
    assert sum(summary.by_team.values()) == pytest.approx(summary.monthly_cost_usd)
    assert sum(summary.by_cloud.values()) == pytest.approx(summary.monthly_cost_usd)
    spot = [d for d in plan.deployments if d.choice.purchase is Purchase.SPOT]
    assert spot, "the example fleet lets some models run on spot"
    expected = sum((d.choice.on_demand_hourly_cost_usd - d.choice.hourly_cost_usd) * HOURS_PER_MONTH for d in spot)
    assert summary.spot_savings_monthly_usd == pytest.approx(expected)
    assert summary.spot_savings_monthly_usd > 0


def test_plan_round_trips_through_json(catalog, project_root):
    import json

    from placement.fleet import load_fleet
    from placement.plan import DeploymentPlan

    fleet = load_fleet(project_root / "examples/fleet.yaml")
    plan = DeploymentPlan.from_recommendation(fleet, recommend(fleet, catalog, HeuristicPredictor()))
    again = DeploymentPlan.from_dict(json.loads(json.dumps(plan.to_dict())))
    assert again.decisions_sha256() == plan.decisions_sha256()
    assert again.deployments[0].choice.cloud == plan.deployments[0].choice.cloud


def test_gpu_only_servers_never_land_on_cpu_instances(catalog):
    # A CPU-only instance is the cheapest for a tiny model at 1 rps, but TensorRT cannot run there.
    p = place(spec(framework="tensorrt", params_millions=3, load={"peak_rps": 1}, slo={"p95_latency_ms": 5000}),
              catalog, HeuristicPredictor())
    assert p.chosen.accelerator is not None
    assert all(a.choice.accelerator is not None for a in p.alternatives)
    with pytest.raises(InfeasibleError) as info:
        place(spec(name="trt", framework="tensorrt", accelerator="none"), catalog, HeuristicPredictor())
    assert "trt: no feasible placement: framework tensorrt serves on NVIDIA GPUs only" in str(info.value)


def test_cpu_only_servers_never_pay_for_idle_gpus(catalog):
    # scikit-learn and OpenVINO cannot use an NVIDIA GPU: a GPU instance would be paid for idle.
    for framework in ("sklearn", "openvino"):
        p = place(spec(framework=framework, task="tabular", params_millions=5, precision="fp32", load={"peak_rps": 500},
                       slo={"p95_latency_ms": 2000}), catalog, HeuristicPredictor())
        assert p.chosen.accelerator is None
        assert all(a.choice.accelerator is None for a in p.alternatives)
    with pytest.raises(InfeasibleError) as info:
        place(spec(name="skl", framework="sklearn", accelerator="required"), catalog, HeuristicPredictor())
    assert "skl: no feasible placement: framework sklearn cannot use NVIDIA GPUs" in str(info.value)


def test_rejection_reasons_never_read_as_equal_to_the_threshold(catalog):
    """A success just under 90 % or a p95 just over the SLO must not print as 90 % or as the SLO."""
    from placement.optimizer import score_candidates
    from placement.predictor import Prediction

    class JustShort:
        version = None
        throughput_margin = 1.0

        def __init__(self, success, p95):
            self.success, self.p95 = success, p95

        def predict(self, profile, offerings, purchases):
            return [Prediction(rps_per_replica=100.0, p95_latency_ms=self.p95, success_probability=self.success)
                    for _ in offerings]

    s = spec(slo={"p95_latency_ms": 150})
    reasons = {c.rejection for c in score_candidates(s, catalog, JustShort(0.89996, 100.0))}
    assert reasons == {"predicted success 89.9% < 90%"}
    reasons = {c.rejection for c in score_candidates(s, catalog, JustShort(0.99, 150.2))}
    assert reasons == {"p95 151 ms > SLO 150 ms"}
