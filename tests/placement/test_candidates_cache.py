"""Enumeration shares its work between models (per scope, per fitting set); the answers must be
exactly those of enumerating each model from scratch."""
from __future__ import annotations

import dataclasses
import random

import numpy as np

from placement.candidates import (
    GPU_MEMORY_USABLE,
    HOST_MEMORY_RESERVED_GIB,
    HOST_MEMORY_USABLE,
    Candidate,
    enumerate_candidates,
    fits_memory,
    scope_label,
)
from placement.types import CPU_ONLY_FRAMEWORKS, GPU_ONLY_FRAMEWORKS, AcceleratorPolicy, Cloud, Purchase, SpotPolicy


def reference(spec, catalog) -> tuple[tuple[Candidate, ...], str | None]:
    """Enumeration as the docstring of ``placement.candidates`` states it, one offering at a time."""
    scope = scope_label(spec)
    offerings = catalog.filter(clouds=spec.clouds, regions=spec.regions)
    if not offerings:
        return (), f"the catalog has no offering in {scope}"
    if spec.accelerator is AcceleratorPolicy.NONE:
        offerings = tuple(o for o in offerings if not o.has_gpu)
        if not offerings:
            return (), f"no CPU-only offering in {scope} (accelerator: none)"
    elif spec.accelerator is AcceleratorPolicy.REQUIRED:
        offerings = tuple(o for o in offerings if o.has_gpu)
        if not offerings:
            return (), f"no GPU offering in {scope} (accelerator: required)"
    if spec.framework in GPU_ONLY_FRAMEWORKS:
        offerings = tuple(o for o in offerings if o.has_gpu)
        if not offerings:
            policy = " (accelerator: none)" if spec.accelerator is AcceleratorPolicy.NONE else ""
            return (), (f"framework {spec.framework} serves on NVIDIA GPUs only, and no GPU offering "
                        f"is allowed in {scope}{policy}")
    if spec.framework in CPU_ONLY_FRAMEWORKS:
        offerings = tuple(o for o in offerings if not o.has_gpu)
        if not offerings:
            policy = " (accelerator: required)" if spec.accelerator is AcceleratorPolicy.REQUIRED else ""
            return (), (f"framework {spec.framework} cannot use NVIDIA GPUs, and no CPU-only offering "
                        f"is allowed in {scope}{policy}")
    fitting = tuple(o for o in offerings if fits_memory(spec.memory_gib, o))
    if not fitting:
        need = spec.memory_gib
        if spec.accelerator is AcceleratorPolicy.REQUIRED:
            largest = max(o.total_gpu_memory_gib for o in offerings)
            return (), (f"no offering in {scope} has ≥ {need / GPU_MEMORY_USABLE:.0f} GiB of GPU memory "
                        f"(model needs {need:.1f} GiB; largest is {largest:.0f} GiB)")
        if spec.accelerator is AcceleratorPolicy.NONE or spec.framework in CPU_ONLY_FRAMEWORKS:
            return (), (f"no CPU offering in {scope} has ≥ "
                        f"{(need + HOST_MEMORY_RESERVED_GIB) / HOST_MEMORY_USABLE:.0f} GiB of memory "
                        f"(model needs {need:.1f} GiB)")
        return (), (f"no offering in {scope} has ≥ {need / GPU_MEMORY_USABLE:.0f} GiB of GPU memory "
                    f"or enough host memory (model needs {need:.1f} GiB)")
    out = []
    for o in fitting:
        if spec.spot is not SpotPolicy.PREFER or o.spot_price_hour_usd is None:
            out.append(Candidate(o, Purchase.ON_DEMAND))
        if spec.spot is not SpotPolicy.NEVER and o.spot_price_hour_usd is not None:
            out.append(Candidate(o, Purchase.SPOT))
    return tuple(out), None


def random_specs(catalog, n: int, seed: int):
    from history.population import sample_specs

    rng = random.Random(seed)
    regions = sorted({(o.cloud, o.region) for o in catalog.offerings})
    # Memory needs right at an offering's threshold, where a rounding difference would show.
    thresholds = sorted({o.total_gpu_memory_gib * GPU_MEMORY_USABLE if o.has_gpu
                         else o.memory_gib * HOST_MEMORY_USABLE - HOST_MEMORY_RESERVED_GIB
                         for o in catalog.offerings})
    for base in sample_specs(n, seed=seed):
        clouds = tuple(rng.sample(list(Cloud), rng.randint(1, 3))) if rng.random() < 0.4 else None
        picked = None
        if rng.random() < 0.3:
            pool = [r for c, r in regions if clouds is None or c in clouds] + ["nowhere-1"]
            picked = tuple(rng.sample(pool, rng.randint(1, 2)))
        memory = base.memory_gib
        roll = rng.random()
        if roll < 0.2:
            memory = rng.choice(thresholds)
        elif roll < 0.3:
            memory = rng.choice(thresholds) * (1 + 1e-12)
        elif roll < 0.35:
            memory = rng.uniform(1_000, 5_000)
        yield dataclasses.replace(
            base, clouds=clouds, regions=picked, memory_gib=memory,
            accelerator=rng.choice(list(AcceleratorPolicy)), spot=rng.choice(list(SpotPolicy)),
            framework=rng.choice(["pytorch", "onnx", "vllm", "tensorrt", "tgi", "xgboost", "sklearn", "openvino",
                                  base.framework]))


def test_cached_enumeration_equals_enumerating_from_scratch(catalog):
    outcomes = set()
    for spec in random_specs(catalog, 600, seed=5):
        for _ in range(2):  # the second call is answered from the caches
            enum = enumerate_candidates(spec, catalog)
            cands, binding = reference(spec, catalog)
            assert enum.candidates == cands
            assert enum.binding_constraint == binding
            if cands:
                assert [c.offering for c in cands] == list(enum.offerings)
                assert [c.purchase for c in cands] == list(enum.purchases)
                assert [c.purchase is Purchase.SPOT for c in cands] == enum.spot.tolist()
                assert all(catalog.offerings[i] is c.offering
                           for i, c in zip(enum.offerings.positions.tolist(), cands))
        outcomes.add(binding.split(" ")[0] + binding.split(" ")[1] if binding else "placed")
    # Every kind of binding constraint came up, not just the easy path.
    assert len(outcomes) >= 5, outcomes


def test_enumeration_follows_the_catalog_object(catalog):
    from history.population import sample_specs

    spec = sample_specs(1, seed=1)[0]
    discounted = catalog.with_discounts({Cloud.AWS: 0.5})
    first = enumerate_candidates(spec, catalog)
    second = enumerate_candidates(spec, discounted)
    assert all(a.offering is b for a, b in zip(first.candidates, first.offerings))
    assert {id(c.offering) for c in second.candidates} <= {id(o) for o in discounted.offerings}
    assert np.array_equal(first.offerings.positions, second.offerings.positions)
