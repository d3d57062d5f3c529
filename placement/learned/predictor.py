"""The learned predictor: LightGBM models behind the ``Predictor`` seam.

Per candidate it answers how many requests/s one replica sustains at the SLO, the p95 at
the load it will be planned for, and the probability the deployment comes up and serves:

* ``saturation`` → the most a replica serves at any latency (a correction to the roofline);
* ``slo_utilization`` → the highest utilization at which its p95 stays within the SLO;
  throughput per replica at the SLO = saturation × that utilization. Hardware that must
  idle below 10 % to meet the SLO is treated as unable to (``curve.MIN_SERVING_UTILIZATION``);
* ``latency`` → p95 at the planned utilization (throughput × margin / saturation), a high
  quantile, so the reported p95 errs on the slow side;
* ``success`` → P(no OOM, no capacity shortage, no crash loop), from the risk features
  (region, purchase option, price among them).

Sizing plans replicas at ``throughput × throughput_margin`` at most, so the reported p95 is
the prediction at exactly that load, the worst a replica sees at peak.

Throughput, saturation and latency are evaluated once per distinct piece of hardware per
profile and broadcast to every region and purchase option of it (see
``placement.features``); the success model sees every candidate. Four LightGBM calls per
profile, whatever the number of candidates.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from placement import features as F
from placement.candidates import CatalogOfferings
from placement.learned.curve import CURVE_COLUMNS, MAX_UTILIZATION, MIN_SERVING_UTILIZATION, latency_anchor
from placement.learned.registry import ModelBundle
from placement.predictor import Prediction
from placement.types import ModelProfile, Offering, Purchase

MODELS = ("saturation", "slo_utilization", "latency", "success")
# Shares of the planned utilization tried, in order, when the latency model puts p95 over the SLO.
CONFLICT_STEPS = (0.85, 0.7, 0.55, 0.4)


# Risk features that differ between offerings of the same hardware (region, price, spot risk).
_PER_OFFERING = ("region", "price_hour_usd", "spot_interruption_rate", "spot_discount")


class _OfferingTable:
    """Raw columns and offering-only features of every offering seen so far, by object identity."""

    def __init__(self, spec: F.FeatureSpec) -> None:
        self.spec = spec
        self.offerings: list[Offering] = []  # held, so that the ids stay valid
        self.position: dict[int, int] = {}
        self.cols: dict[str, np.ndarray] = {}
        self.features: dict[str, np.ndarray] = {}
        self.hardware: np.ndarray = np.zeros(0, dtype=np.int64)
        # Positions are append-only, so what is derived from them stays valid as offerings are added.
        self._catalogs: dict[int, tuple[tuple[Offering, ...], np.ndarray]] = {}
        self._gathered: dict[int, tuple[CatalogOfferings, _Gathered]] = {}

    def positions(self, offerings: Sequence[Offering]) -> np.ndarray:
        if isinstance(offerings, CatalogOfferings):
            return self._catalog_positions(offerings.catalog_offerings)[offerings.positions]
        try:
            return np.fromiter((self.position[id(o)] for o in offerings), dtype=np.int64, count=len(offerings))
        except KeyError:
            self._add([o for o in offerings if id(o) not in self.position])
            return self.positions(offerings)

    def _catalog_positions(self, catalog: tuple[Offering, ...]) -> np.ndarray:
        """This table's position of every offering of a catalog tuple, by index in that tuple."""
        entry = self._catalogs.get(id(catalog))
        if entry is None or entry[0] is not catalog:
            if len(self._catalogs) >= 8:
                self._catalogs.clear()
            entry = self._catalogs[id(catalog)] = (catalog, self.positions(catalog))
        return entry[1]

    def gather(self, offerings: Sequence[Offering]) -> _Gathered:
        """The offering side of ``LearnedPredictor._features``: positions, distinct hardware and
        its columns. Enumerations are shared between models of similar size, so a candidate list
        seen before is answered from a cache."""
        hit = self._gathered.get(id(offerings))
        if hit is not None and hit[0] is offerings:
            return hit[1]
        pos = self.positions(offerings)
        _, first, inverse = np.unique(self.hardware[pos], return_index=True, return_inverse=True)
        rep = pos[first]
        gathered = _Gathered(pos, inverse, {name: values[rep] for name, values in self.cols.items()},
                             {name: values[rep] for name, values in self.features.items()})
        if isinstance(offerings, CatalogOfferings):
            for array in (pos, inverse, *gathered.cols.values(), *gathered.features.values()):
                array.setflags(write=False)  # shared by every later model with these candidates
            if len(self._gathered) >= 512:
                self._gathered.clear()
            self._gathered[id(offerings)] = (offerings, gathered)
        return gathered

    def _add(self, new: list[Offering]) -> None:
        for o in new:
            if id(o) not in self.position:
                self.position[id(o)] = len(self.offerings)
                self.offerings.append(o)
        self.cols = F.offering_columns(self.offerings)
        self.features = F.offering_features(self.cols, self.spec)
        # Same hardware wherever and however it is bought: one performance prediction.
        keys = [(o.cloud.value, o.instance_type, o.accelerator or "", o.accelerator_count) for o in self.offerings]
        ids: dict[tuple, int] = {}
        self.hardware = np.array([ids.setdefault(k, len(ids)) for k in keys], dtype=np.int64)


class _Gathered(NamedTuple):
    pos: np.ndarray  # table position per candidate
    inverse: np.ndarray  # distinct-hardware index per candidate
    cols: dict[str, np.ndarray]  # raw offering columns, one row per distinct piece of hardware
    features: dict[str, np.ndarray]  # offering-only features, likewise


class LearnedPredictor:
    """``Predictor`` and ``ArrayPredictor`` backed by a verified ``ModelBundle``."""

    required = MODELS

    def __init__(self, bundle: ModelBundle, *, num_threads: int = 2):
        missing = [m for m in MODELS if m not in bundle.boosters]
        if missing:
            raise ValueError(f"model bundle {bundle.version} lacks {', '.join(missing)}")
        self.bundle = bundle
        self.version: str | None = bundle.version
        self.throughput_margin: float = bundle.throughput_margin
        self.throughput_margins_by_task: dict[str, float] = bundle.throughput_margins_by_task
        self.num_threads = num_threads
        self.feature_names = {m: list(bundle.spec.names(bundle.feature_groups[m])) for m in MODELS}
        # What ``_p95`` reads besides the utilization it is given.
        self._latency_inputs = [n for n in dict.fromkeys([*self.feature_names["latency"], *CURVE_COLUMNS])
                                if n != "utilization"]
        self.latency_quantile = float(bundle.manifest.get("params", {}).get("latency_quantile", 0.5))
        self._table = _OfferingTable(bundle.spec)
        self._purchase_columns: dict[int, tuple[tuple[Purchase, ...], np.ndarray]] = {}
        # Purchase options as the success model's codes (the same lists `features.encode` reads).
        self._purchase_codes = {p: float(c) for p, c in zip(
            Purchase, F.encode(np.array([p.value for p in Purchase], dtype=object), bundle.spec.categories["purchase"]))}

    # -- prediction ---------------------------------------------------------------------------
    def _features(self, profile: ModelProfile, offerings: Sequence[Offering],
                  ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
        """(features of each distinct piece of hardware, its index per candidate, catalog positions)."""
        hw, _, (gathered,) = self._stacked_features([profile], [offerings])
        return hw, gathered.inverse, gathered.pos

    def _stacked_features(self, profiles: Sequence[ModelProfile], offerings: Sequence[Sequence[Offering]],
                          ) -> tuple[dict[str, np.ndarray], np.ndarray, list[_Gathered]]:
        """Features of each profile's distinct hardware, stacked profile after profile, in one
        ``derive`` (per-profile calls cost more in numpy overhead than the arithmetic, which is
        elementwise, so the rows come out as they would alone); rows per profile; the gathers."""
        gathered = [self._table.gather(offs) for offs in offerings]
        sizes = np.array([len(g.features["vcpus"]) for g in gathered])
        cols = {name: np.concatenate([g.cols[name] for g in gathered]) for name in gathered[0].cols}
        cols.update({name: np.repeat(values, sizes) for name, values in F.profiles_columns(profiles).items()})
        offering = {name: np.concatenate([g.features[name] for g in gathered]) for name in gathered[0].features}
        return _rows(F.derive(cols, self.bundle.spec, offering), int(sizes.sum())), sizes, gathered

    def _raw(self, model: str, feats: dict[str, np.ndarray]) -> np.ndarray:
        return self.bundle.boosters[model].predict(F.matrix(feats, self.feature_names[model]), raw_score=True,
                                                   num_threads=self.num_threads)

    def throughput_margin_for(self, profile: ModelProfile) -> float:
        """The sizing margin calibrated for the profile's task (fleet-wide where none was)."""
        return self.throughput_margins_by_task.get(profile.task.value, self.throughput_margin)

    def hardware_predictions(self, hw: dict[str, np.ndarray], slo_ms: float | np.ndarray,
                             margin: float | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(throughput at the SLO, saturation, p95 at the planned load) per piece of hardware,
        for sizing at ``margin`` of the throughput. ``slo_ms`` and ``margin`` may be per row
        (rows of different profiles, as when explaining many placements at once)."""
        sub = hw
        saturation = sub["saturation_anchor_rps"] * np.exp(self._raw("saturation", sub))
        utilization = np.clip(self._raw("slo_utilization", sub), 0.0, MAX_UTILIZATION)
        utilization = np.where(utilization < MIN_SERVING_UTILIZATION, 0.0, utilization)
        planned = np.maximum(utilization * margin, MIN_SERVING_UTILIZATION / 5)
        p95 = self._p95(sub, planned)
        slo = np.broadcast_to(np.asarray(slo_ms, dtype=float), p95.shape)
        # Where the latency model disagrees (p95 over the SLO at the planned load), believe the
        # stricter of the two: step the utilization down the latency curve until it fits.
        conflict = np.flatnonzero((utilization > 0) & (p95 > slo))
        if len(conflict):
            steps = np.array(CONFLICT_STEPS)
            k = len(steps)
            tried = {name: np.repeat(sub[name][conflict], k) for name in self._latency_inputs}
            tried_planned = np.repeat(planned[conflict], k) * np.tile(steps, len(conflict))
            tried_p95 = self._p95(tried, tried_planned).reshape(len(conflict), k)
            fits = tried_p95 <= slo[conflict][:, None]
            first = fits.argmax(axis=1)
            ok = fits.any(axis=1)
            hit = conflict[ok]
            utilization[hit] *= steps[first[ok]]
            planned[hit] *= steps[first[ok]]
            p95[hit] = tried_p95[ok, first[ok]]
            utilization = np.where(utilization < MIN_SERVING_UTILIZATION, 0.0, utilization)
        return saturation * utilization, saturation, p95

    def _p95(self, sub: dict[str, np.ndarray], utilization: np.ndarray) -> np.ndarray:
        sub = dict(sub, utilization=utilization)
        return latency_anchor(sub, utilization) * np.exp(self._raw("latency", sub))

    def predict_arrays(self, profile: ModelProfile, offerings: Sequence[Offering],
                       purchases: Sequence[Purchase]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.predict_arrays_many([(profile, offerings, purchases)])[0]

    def predict_arrays_many(self, items: Sequence[tuple[ModelProfile, Sequence[Offering], Sequence[Purchase]]],
                            ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """``predict_arrays`` for many profiles with four LightGBM calls in all, not four each:
        the hardware rows of every profile are stacked (each row keeps its own SLO and
        margin), then the success rows. LightGBM scores rows independently, so the answers
        are exactly those of one call per profile."""
        empty = np.zeros(0)
        out: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = [(empty, empty, empty)] * len(items)
        live = [i for i, (_, offerings, _) in enumerate(items) if len(offerings)]
        if not live:
            return out
        profiles = [items[i][0] for i in live]
        stacked, sizes, gathered = self._stacked_features(profiles, [items[i][1] for i in live])
        starts = np.r_[0, np.cumsum(sizes)]
        parts = [({name: values[starts[k]:starts[k + 1]] for name, values in stacked.items()}, g.inverse, g.pos)
                 for k, g in enumerate(gathered)]
        slo = np.repeat([p.slo_p95_latency_ms for p in profiles], sizes)
        margin = np.repeat([self.throughput_margin_for(p) for p in profiles], sizes)
        rps_all, _, p95_all = self.hardware_predictions(stacked, slo, margin)
        bounds = starts[1:-1]
        success_rows = []
        rps_by_item = []
        for i, (hw, inverse, pos), rps_hw in zip(live, parts, np.split(rps_all, bounds), strict=True):
            profile, _, purchases = items[i]
            rps = rps_hw[inverse]
            rps_by_item.append(rps)
            success_rows.append(self._success_matrix(hw, inverse, pos, purchases,
                                                     np.log10(self.replicas_estimate(profile, rps))))
        success_all = self.bundle.boosters["success"].predict(np.vstack(success_rows), num_threads=self.num_threads)
        success_split = np.split(success_all, np.cumsum([len(x) for x in success_rows])[:-1])
        for i, (_, inverse, _), p95_hw, rps, success in zip(live, parts, np.split(p95_all, bounds), rps_by_item,
                                                            success_split, strict=True):
            out[i] = (rps, p95_hw[inverse], success)
        return out

    def _success_matrix(self, hw: dict[str, np.ndarray], inverse: np.ndarray, pos: np.ndarray,
                        purchases: Sequence[Purchase], log_replicas: np.ndarray) -> np.ndarray:
        """The success model's inputs: hardware columns gathered per candidate, then the columns
        that differ by region, purchase option and planned replicas."""
        names = self.feature_names["success"]
        X = F.matrix(hw, names, missing_ok=True)[inverse]
        for j, name in enumerate(names):
            if name in _PER_OFFERING:
                X[:, j] = self._table.features[name][pos]
        X[:, names.index("purchase")] = self._purchase_column(purchases)
        X[:, names.index("log_replicas")] = log_replicas
        return X

    def _purchase_column(self, purchases: Sequence[Purchase]) -> np.ndarray:
        # Enumerations share their purchases tuple between models: code it once.
        hit = self._purchase_columns.get(id(purchases))
        if hit is not None and hit[0] is purchases:
            return hit[1]
        codes = self._purchase_codes
        column = np.fromiter((codes[p] for p in purchases), dtype=float, count=len(purchases))
        if isinstance(purchases, tuple):  # immutable, so the codes stay right
            if len(self._purchase_columns) >= 512:
                self._purchase_columns.clear()
            self._purchase_columns[id(purchases)] = (purchases, column)
        return column

    def replicas_estimate(self, profile: ModelProfile, rps: np.ndarray) -> np.ndarray:
        """Replicas the peak needs at the planned throughput (before min_replicas and spot
        headroom, which the predictor does not see): the deployment size risk is judged at."""
        return _replicas_estimate(profile.peak_rps, rps, self.throughput_margin_for(profile))

    def predict(self, profile: ModelProfile, offerings: Sequence[Offering],
                purchases: Sequence[Purchase]) -> list[Prediction]:
        rps, p95, success = self.predict_arrays(profile, offerings, purchases)
        return [Prediction(rps_per_replica=float(r), p95_latency_ms=float(p), success_probability=float(s))
                for r, p, s in zip(rps, p95, success, strict=True)]

    # -- what explanations read ---------------------------------------------------------------
    def explained_rows(self, items: Sequence[tuple[ModelProfile, Offering, Purchase]], models: Sequence[str],
                        ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Each model's input row for each (profile, offering, purchase), as prediction built it
        (one matrix per model, a row per item), and the roofline saturation the saturation model
        corrects. All items at once: one ``derive`` and one LightGBM call per model."""
        profiles = [profile for profile, _, _ in items]
        table = self._table
        pos = table.positions([offering for _, offering, _ in items])
        cols = {name: values[pos] for name, values in table.cols.items()}
        cols.update(F.profiles_columns(profiles))
        offering = {name: values[pos] for name, values in table.features.items()}
        n = len(items)
        hw = _rows(F.derive(cols, self.bundle.spec, offering), n)
        slo = np.array([p.slo_p95_latency_ms for p in profiles], dtype=float)
        margin = np.array([self.throughput_margin_for(p) for p in profiles], dtype=float)
        throughput, saturation, _ = self.hardware_predictions(hw, slo, margin)
        replicas = np.log10(_replicas_estimate(np.array([p.peak_rps for p in profiles], dtype=float),
                                               throughput, margin))
        feats = dict(hw)
        with np.errstate(divide="ignore", invalid="ignore"):
            planned = throughput / saturation * margin
        feats["utilization"] = np.maximum(planned, MIN_SERVING_UTILIZATION / 5)
        rows = {}
        for model in models:
            if model == "success":
                rows[model] = self._success_matrix(hw, np.arange(n), pos, [p for _, _, p in items], replicas)
            else:
                rows[model] = F.matrix(feats, self.feature_names[model])
        return rows, hw["saturation_anchor_rps"]


def _replicas_estimate(peak_rps: float | np.ndarray, rps: np.ndarray, margin: float | np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        need = np.ceil(peak_rps / (rps * margin) - 1e-9)
    return np.where(rps > 0, np.clip(need, 1.0, 1e4), 1.0)


def _rows(features: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    """Features with the profile's own (length-1) columns repeated to ``n`` rows."""
    return {k: v if v.size == n else v.repeat(n) for k, v in features.items()}
