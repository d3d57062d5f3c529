"""Shifted worlds (``WorldShift``): slower GPUs and changed prices, and nothing else."""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from history.simulate import simulate
from history.world import World, WorldShift
from placement.errors import InputError
from placement.types import ModelProfile, Precision, Purchase, Task
from roost.cli import main


def _offering(catalog, accelerator=None, cpu=False):
    for o in catalog:
        if cpu and not o.has_gpu and o.vcpus >= 8:
            return o
        if not cpu and o.accelerator == accelerator and o.accelerator_count == 1:
            return o
    raise LookupError(accelerator)


BERT = ModelProfile(task=Task.TEXT_CLASSIFICATION, framework="onnx", params_millions=110, precision=Precision.FP16,
                    memory_gib=1.0, peak_rps=50.0, slo_p95_latency_ms=200.0, input_tokens=128)


def test_slower_gpus_scale_the_gpu_stage_and_leave_cpus_alone(catalog):
    base, slow = World(catalog), World(catalog, shift=WorldShift(gpu_speed=0.6))
    gpu = _offering(catalog, "A10G")
    a, b = base.truth(BERT, gpu, Purchase.ON_DEMAND), slow.truth(BERT, gpu, Purchase.ON_DEMAND)
    assert a.max_rps > 0
    # The host stage keeps its speed, so saturation falls by at most the GPU's factor.
    assert 0.6 * a.max_rps * 0.999 <= b.max_rps < 0.95 * a.max_rps
    assert b.capacity_rps < a.capacity_rps
    cpu = _offering(catalog, cpu=True)
    assert slow.truth(BERT, cpu, Purchase.ON_DEMAND) == base.truth(BERT, cpu, Purchase.ON_DEMAND)


def test_one_accelerator_can_be_shifted_alone(catalog):
    shifted = World(catalog, shift=WorldShift(gpu_speed=0.5, accelerator="L4"))
    base = World(catalog)
    l4, t4 = _offering(catalog, "L4"), _offering(catalog, "T4")
    assert shifted.truth(BERT, l4, Purchase.ON_DEMAND).max_rps < base.truth(BERT, l4, Purchase.ON_DEMAND).max_rps
    assert shifted.truth(BERT, t4, Purchase.ON_DEMAND) == base.truth(BERT, t4, Purchase.ON_DEMAND)


def test_a_price_cut_on_one_cloud_bills_that_cloud_only(catalog):
    base = simulate(600, seed=8, catalog=catalog)
    cut = simulate(600, seed=8, catalog=catalog, world=World(catalog, shift=WorldShift(price_factor=0.7, cloud="gcp")))
    gcp = (base["cloud"] == "gcp").to_numpy()
    assert gcp.any() and (~gcp).any()
    billed = base["cost_usd"].to_numpy() > 0
    np.testing.assert_allclose(cut["cost_usd"].to_numpy()[gcp & billed], 0.7 * base["cost_usd"].to_numpy()[gcp & billed],
                               rtol=1e-6, atol=1e-4)  # costs are logged to 4 decimals
    np.testing.assert_array_equal(cut["cost_usd"].to_numpy()[~gcp], base["cost_usd"].to_numpy()[~gcp])
    # Nothing but the bill changes.
    assert cut.drop(columns="cost_usd").equals(base.drop(columns="cost_usd"))


@pytest.mark.parametrize("kwargs", [{"gpu_speed": 0.0}, {"gpu_speed": -1.0}, {"price_factor": 11.0},
                                    {"gpu_speed": float("nan")}])
def test_a_shift_outside_its_range_is_refused(kwargs):
    with pytest.raises(InputError):
        WorldShift(**kwargs)


def test_cli_simulates_a_shifted_world_and_refuses_unknown_accelerators(tmp_path):
    runner = CliRunner()
    out = tmp_path / "slow.csv"
    ok = runner.invoke(main, ["history", "simulate", "--rows", "200", "--seed", "2", "-o", str(out),
                              "--gpu-speed", "0.6", "--accelerator", "a10g", "--json"])
    assert ok.exit_code == 0, ok.output
    assert '"accelerator": "A10G"' in ok.output and out.exists()
    bad = runner.invoke(main, ["history", "simulate", "--rows", "10", "-o", str(tmp_path / "x.csv"),
                               "--gpu-speed", "0.6", "--accelerator", "A10x"])
    assert bad.exit_code == 2
    assert bad.output.count("\n") == 1 and "unknown accelerator 'A10x'" in bad.output
    assert not (tmp_path / "x.csv").exists()
