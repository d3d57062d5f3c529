"""Enumerate the (offering, purchase) pairs a model may run on, before any prediction.

Hard constraints are applied in a fixed order: scope (clouds, regions), accelerator
policy, the framework's own hardware needs (GPU-only servers), memory fit, spot policy. When a step empties the set, that step is the binding
constraint and ``NoCandidates`` says so in words a user can act on.
"""
from __future__ import annotations

from dataclasses import dataclass

from placement.catalog import Catalog
from placement.types import GPU_ONLY_FRAMEWORKS, AcceleratorPolicy, Cloud, ModelSpec, Offering, Purchase, SpotPolicy

GPU_MEMORY_USABLE = 0.90   # drivers report a few % less than the nominal size; keep slack
HOST_MEMORY_USABLE = 0.85  # OS, agents and page cache need the rest
HOST_MEMORY_RESERVED_GIB = 1.0


@dataclass(frozen=True)
class Candidate:
    offering: Offering
    purchase: Purchase


@dataclass(frozen=True)
class Enumeration:
    candidates: tuple[Candidate, ...]
    binding_constraint: str | None  # set when candidates is empty


def fits_memory(spec_memory_gib: float, offering: Offering) -> bool:
    if offering.has_gpu:
        return spec_memory_gib <= offering.total_gpu_memory_gib * GPU_MEMORY_USABLE
    return spec_memory_gib <= offering.memory_gib * HOST_MEMORY_USABLE - HOST_MEMORY_RESERVED_GIB


def scope_label(spec: ModelSpec) -> str:
    clouds = ", ".join(c.value for c in spec.clouds) if spec.clouds else "any cloud"
    label = f"[{clouds}]"
    if spec.regions:
        label += f" regions [{', '.join(spec.regions)}]"
    return label


def enumerate_candidates(spec: ModelSpec, catalog: Catalog) -> Enumeration:
    scope = scope_label(spec)
    offerings = catalog.filter(clouds=spec.clouds, regions=spec.regions)
    if not offerings:
        return Enumeration((), f"the catalog has no offering in {scope}")

    if spec.accelerator is AcceleratorPolicy.NONE:
        offerings = tuple(o for o in offerings if not o.has_gpu)
        if not offerings:
            return Enumeration((), f"no CPU-only offering in {scope} (accelerator: none)")
    elif spec.accelerator is AcceleratorPolicy.REQUIRED:
        offerings = tuple(o for o in offerings if o.has_gpu)
        if not offerings:
            return Enumeration((), f"no GPU offering in {scope} (accelerator: required)")

    if spec.framework in GPU_ONLY_FRAMEWORKS:
        offerings = tuple(o for o in offerings if o.has_gpu)
        if not offerings:
            policy = " (accelerator: none)" if spec.accelerator is AcceleratorPolicy.NONE else ""
            return Enumeration((), f"framework {spec.framework} serves on NVIDIA GPUs only, and no GPU offering "
                                   f"is allowed in {scope}{policy}")

    fitting = tuple(o for o in offerings if fits_memory(spec.memory_gib, o))
    if not fitting:
        need = spec.memory_gib
        if spec.accelerator is AcceleratorPolicy.REQUIRED:
            largest = max(o.total_gpu_memory_gib for o in offerings)
            return Enumeration((), f"no offering in {scope} has ≥ {need / GPU_MEMORY_USABLE:.0f} GiB of GPU memory "
                                   f"(model needs {need:.1f} GiB; largest is {largest:.0f} GiB)")
        if spec.accelerator is AcceleratorPolicy.NONE:
            return Enumeration((), f"no CPU offering in {scope} has ≥ "
                                   f"{(need + HOST_MEMORY_RESERVED_GIB) / HOST_MEMORY_USABLE:.0f} GiB of memory "
                                   f"(model needs {need:.1f} GiB)")
        return Enumeration((), f"no offering in {scope} has ≥ {need / GPU_MEMORY_USABLE:.0f} GiB of GPU memory "
                               f"or enough host memory (model needs {need:.1f} GiB)")

    candidates: list[Candidate] = []
    for o in fitting:
        if spec.spot is not SpotPolicy.PREFER or o.spot_price_hour_usd is None:
            candidates.append(Candidate(o, Purchase.ON_DEMAND))
        if spec.spot is not SpotPolicy.NEVER and o.spot_price_hour_usd is not None:
            candidates.append(Candidate(o, Purchase.SPOT))
    return Enumeration(tuple(candidates), None if candidates else f"no offering in {scope} fits")


def clouds_label(clouds: tuple[Cloud, ...] | None) -> str:
    return "[" + ", ".join(c.value for c in clouds) + "]" if clouds else "[any cloud]"
