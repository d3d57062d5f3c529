"""Enumerate the (offering, purchase) pairs a model may run on, before any prediction.

Hard constraints are applied in a fixed order: scope (clouds, regions), accelerator
policy, the framework's own hardware needs (GPU-only servers), memory fit, spot policy. When a step empties the set, that step is the binding
constraint and ``NoCandidates`` says so in words a user can act on.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from placement.catalog import Catalog
from placement.types import (
    CPU_ONLY_FRAMEWORKS,
    GPU_ONLY_FRAMEWORKS,
    AcceleratorPolicy,
    ModelSpec,
    Offering,
    Purchase,
    SpotPolicy,
)

GPU_MEMORY_USABLE = 0.90   # drivers report a few % less than the nominal size; keep slack
HOST_MEMORY_USABLE = 0.85  # OS, agents and page cache need the rest
HOST_MEMORY_RESERVED_GIB = 1.0


@dataclass(frozen=True)
class Candidate:
    offering: Offering
    purchase: Purchase


class CatalogOfferings(tuple):
    """Offerings drawn from one catalog tuple, each with its index in it, so that consumers
    can index their per-catalog arrays instead of looking every object up again."""

    catalog_offerings: tuple[Offering, ...]
    positions: np.ndarray


def catalog_offerings(catalog_offerings: tuple[Offering, ...], positions: np.ndarray) -> CatalogOfferings:
    """``catalog_offerings[positions]`` as a ``CatalogOfferings``."""
    out = CatalogOfferings(catalog_offerings[i] for i in positions.tolist())
    out.catalog_offerings = catalog_offerings
    out.positions = positions
    positions.setflags(write=False)  # shared by every model with this candidate list
    return out


@dataclass(frozen=True)
class Enumeration:
    candidates: tuple[Candidate, ...]
    binding_constraint: str | None  # set when candidates is empty
    # Per candidate, precomputed for the optimizer: its offering (with catalog positions)
    # and purchase option. Empty when there are no candidates.
    offerings: CatalogOfferings | tuple[Offering, ...] = field(default=(), compare=False, repr=False)
    purchases: tuple[Purchase, ...] = field(default=(), compare=False, repr=False)
    spot: np.ndarray | None = field(default=None, compare=False, repr=False)  # purchase is spot


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
    scope = _scope(spec, catalog)
    if scope.error is not None:
        return Enumeration((), scope.error)
    need = spec.memory_gib
    fit = need <= scope.usable
    if not fit.any():
        label = scope_label(spec)
        if spec.accelerator is AcceleratorPolicy.REQUIRED:
            return Enumeration((), f"no offering in {label} has ≥ {need / GPU_MEMORY_USABLE:.0f} GiB of GPU memory "
                                   f"(model needs {need:.1f} GiB; largest is {scope.largest_gpu_memory:.0f} GiB)")
        if spec.accelerator is AcceleratorPolicy.NONE or spec.framework in CPU_ONLY_FRAMEWORKS:
            return Enumeration((), f"no CPU offering in {label} has ≥ "
                                   f"{(need + HOST_MEMORY_RESERVED_GIB) / HOST_MEMORY_USABLE:.0f} GiB of memory "
                                   f"(model needs {need:.1f} GiB)")
        return Enumeration((), f"no offering in {label} has ≥ {need / GPU_MEMORY_USABLE:.0f} GiB of GPU memory "
                               f"or enough host memory (model needs {need:.1f} GiB)")
    # Models of similar size fit the same offerings: share one Enumeration per fitting set, which
    # also lets predictors recognise a candidate list they have seen.
    key = (spec.spot, fit.tobytes())
    cached = scope.enumerations.get(key)
    if cached is None:
        if len(scope.enumerations) >= _MAX_ENUMERATIONS_PER_SCOPE:
            scope.enumerations.clear()
        cached = scope.enumerations[key] = scope.enumeration(spec, fit)
    return cached


_MAX_SCOPES = 256
_MAX_ENUMERATIONS_PER_SCOPE = 512


class _Scope:
    """Enumeration up to the memory fit, which depends only on the catalog, the clouds and
    regions, the accelerator policy and whether the framework needs a GPU."""

    def __init__(self, spec: ModelSpec, catalog: Catalog):
        self.error: str | None = None
        self.offerings: tuple[Offering, ...] = ()
        self.enumerations: dict[tuple, Enumeration] = {}
        self._pool: list[Candidate | None] | None = None
        self.catalog_offerings = catalog.offerings  # held, so that the cache key's id stays valid
        scope = scope_label(spec)
        offerings = catalog.filter(clouds=spec.clouds, regions=spec.regions)
        if not offerings:
            self.error = f"the catalog has no offering in {scope}"
            return
        if spec.accelerator is AcceleratorPolicy.NONE:
            offerings = tuple(o for o in offerings if not o.has_gpu)
            if not offerings:
                self.error = f"no CPU-only offering in {scope} (accelerator: none)"
                return
        elif spec.accelerator is AcceleratorPolicy.REQUIRED:
            offerings = tuple(o for o in offerings if o.has_gpu)
            if not offerings:
                self.error = f"no GPU offering in {scope} (accelerator: required)"
                return
        if spec.framework in GPU_ONLY_FRAMEWORKS:
            offerings = tuple(o for o in offerings if o.has_gpu)
            if not offerings:
                policy = " (accelerator: none)" if spec.accelerator is AcceleratorPolicy.NONE else ""
                self.error = (f"framework {spec.framework} serves on NVIDIA GPUs only, and no GPU offering "
                              f"is allowed in {scope}{policy}")
                return
        if spec.framework in CPU_ONLY_FRAMEWORKS:
            offerings = tuple(o for o in offerings if not o.has_gpu)
            if not offerings:
                policy = " (accelerator: required)" if spec.accelerator is AcceleratorPolicy.REQUIRED else ""
                self.error = (f"framework {spec.framework} cannot use NVIDIA GPUs, and no CPU-only offering "
                              f"is allowed in {scope}{policy}")
                return
        self.offerings = offerings
        index = {id(o): i for i, o in reversed(list(enumerate(catalog.offerings)))}
        self.positions = np.array([index[id(o)] for o in offerings], dtype=np.int64)
        # The thresholds of ``fits_memory``, computed the same way so that comparisons agree exactly.
        self.usable = np.array([o.total_gpu_memory_gib * GPU_MEMORY_USABLE if o.has_gpu
                                else o.memory_gib * HOST_MEMORY_USABLE - HOST_MEMORY_RESERVED_GIB
                                for o in offerings], dtype=float)
        self.largest_gpu_memory = max(o.total_gpu_memory_gib for o in offerings)
        self.has_spot = np.array([o.spot_price_hour_usd is not None for o in offerings], dtype=bool)

    def enumeration(self, spec: ModelSpec, fit: np.ndarray) -> Enumeration:
        # Per fitting offering, in catalog order: on-demand first, then spot.
        on_demand = fit & ~self.has_spot if spec.spot is SpotPolicy.PREFER else fit
        spot = fit & self.has_spot if spec.spot is not SpotPolicy.NEVER else np.zeros_like(fit)
        which = np.flatnonzero(np.column_stack((on_demand, spot)).ravel())
        if not len(which):
            return Enumeration((), f"no offering in {scope_label(spec)} fits")
        index, is_spot = np.divmod(which, 2)
        pool = self._candidates()
        cands = tuple(pool[i] for i in which.tolist())
        is_spot = is_spot.astype(bool)
        is_spot.setflags(write=False)
        return Enumeration(cands, None, catalog_offerings(self.catalog_offerings, self.positions[index]),
                           tuple(c.purchase for c in cands), is_spot)

    def _candidates(self) -> list[Candidate | None]:
        """Both candidates of every offering (on-demand, spot), shared by all its enumerations."""
        if self._pool is None:
            self._pool = [c for o in self.offerings for c in
                          (Candidate(o, Purchase.ON_DEMAND),
                           Candidate(o, Purchase.SPOT) if o.spot_price_hour_usd is not None else None)]
        return self._pool


_SCOPES: dict[tuple, _Scope] = {}


def _scope(spec: ModelSpec, catalog: Catalog) -> _Scope:
    # A GPU- or CPU-only framework narrows the offerings, and its name is part of the message.
    narrowing = spec.framework if spec.framework in GPU_ONLY_FRAMEWORKS | CPU_ONLY_FRAMEWORKS else None
    key = (id(catalog.offerings), spec.clouds and tuple(spec.clouds), spec.regions and tuple(spec.regions),
           spec.accelerator, narrowing)
    cached = _SCOPES.get(key)
    if cached is None or cached.catalog_offerings is not catalog.offerings:
        if len(_SCOPES) >= _MAX_SCOPES:
            _SCOPES.clear()
        cached = _SCOPES[key] = _Scope(spec, catalog)
    return cached
