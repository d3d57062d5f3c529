"""Drift: is the model in use still right about the outcomes teams observe now?

Three checks, each against something the model carries, so that nothing but the new logs,
the model directory and the catalog is needed:

Prediction error (decides the verdict)
    On the new outcomes, per (profile, offering) as in training (``train.prepare``):
    ``capacity``  ln(observed / predicted saturation throughput), the observed one being
                  load per replica / utilization of the bounding device (a known load);
    ``latency``   ln(observed / predicted p95) at the observed utilization;
    ``failure``   observed share of deployments that never served − predicted share.
    Errors are compared with the model's own cross-validated errors on profiles it never
    saw (``manifest.metrics.cross_validation``): same-world outcomes look like that, a
    changed world does not. Drift is declared when, overall, the median or p90 |error| is
    well above the model's own (``Thresholds``), or when the bias — the median ln ratio
    beyond the model's own — exceeds ``bias`` and is significant (``z`` standard errors,
    counted over profiles, since a profile's windows share one error), overall or for any
    accelerator, task or cloud with enough profiles and deployments. Failure-rate gaps
    count likewise (a binomial z).

Data drift (reported, never decides)
    Population stability index of each model input against the training data's
    distribution saved in the manifest (``feature_reference``): 10 quantile bins for
    numbers, category shares for categories. A shifted population is not wrong predictions.

Catalog drift (decides the verdict)
    Prices older than ``max_price_age_days`` when the newest outcome was observed (the
    catalog version starts with its snapshot month, ``YYYY.MM``); offerings the logs use
    that the catalog lacks; and what teams were billed per instance-hour against the
    catalog price, per cloud, relative to the same ratio in the training data (a price
    change the catalog has not caught up with).
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from placement import features as F
from placement.learned import identity
from placement.learned import train as T
from placement.learned.registry import ModelBundle
from placement.types import Offering

NUMERIC_INPUTS = ("params_millions", "memory_gib", "input_tokens", "output_tokens", "slo_p95_latency_ms",
                  "load_per_replica", "utilization", "replicas")
CATEGORICAL_INPUTS = ("task", "framework", "precision", "cloud", "accelerator", "purchase")
GROUPS = ("accelerator", "task", "cloud")
PSI_BINS = 10
PSI_FLOOR = 1e-4            # an empty bin counts as this share (the index is infinite otherwise)
PSI_MODERATE, PSI_MAJOR = 0.1, 0.25
# Used when a model was trained without cross-validation: typical errors on unseen profiles.
FALLBACK_BASELINE = {"median_abs_pct_error": 30.0, "p90_abs_pct_error": 90.0, "median_log_ratio": 0.0}
CATALOG_MONTH = re.compile(r"^(\d{4})\.(\d{2})")
# Rows of whole profiles prediction error is measured on (about a thousand profiles: ample per group).
MAX_ROWS = 100_000


@dataclass(frozen=True)
class Thresholds:
    """When an error counts as drift (see the module docstring)."""

    error_factor: float = 1.5          # median or p90 |error| above factor × the model's own …
    error_margin_pct: float = 10.0     # … and above it by this many points
    bias: float = 0.15                 # |median ln(observed / predicted)| capacity beyond the model's own …
    group_bias: float = 0.25           # … overall, and for one accelerator, task or cloud
    latency_bias: float = 0.30         # the same for p95 latency (noisier: load swings within a window)
    z: float = 3.0                     # significance of an overall bias or failure-rate gap …
    group_z: float = 4.5               # … and of one group's (many groups are tested at once)
    failure_gap: float = 0.25          # observed − predicted failure share (OOMs come in whole configurations)
    min_profiles: int = 15             # a group needs this many profiles …
    min_deployments: int = 30          # … and deployments to be judged
    max_price_age_days: int = 365
    billed_ratio_change: float = 0.05  # |ln| change of billed / catalog price per cloud

    def to_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------------------------------
# The training data's reference, saved in the manifest by ``train``

def feature_reference(data: T.TrainingSet, log: pd.DataFrame, offerings: Sequence[Offering],
                      bundle: ModelBundle | None = None) -> dict:
    """Distributions of the model inputs, the billed/catalog price ratio per cloud and, given
    the trained ``bundle``, its own bias on its training data per group (groups differ in how
    well a model knows them: a new group bias counts only beyond that)."""
    features: dict[str, dict] = {}
    for name in NUMERIC_INPUTS:
        values = _finite(data.raw[name])
        if len(values) < PSI_BINS:
            continue
        edges = np.unique(np.quantile(values, np.linspace(0, 1, PSI_BINS + 1)[1:-1]))
        features[name] = {"kind": "numeric", "edges": edges.tolist(), "shares": _shares(values, edges).tolist()}
    for name in CATEGORICAL_INPUTS:
        counts = pd.Series(_category(data.raw, name)).value_counts(normalize=True)
        features[name] = {"kind": "categorical", "shares": {str(k): float(v) for k, v in counts.items()}}
    return {"rows": data.rows, "features": features, "billed_ratio_by_cloud": billed_ratio_by_cloud(log, offerings),
            "bias_by_group": {} if bundle is None else training_bias(data, bundle)}


def training_bias(data: T.TrainingSet, bundle: ModelBundle) -> dict:
    """Median ln(observed / predicted) per metric, overall and per group, on the training rows."""
    out: dict[str, dict] = {}
    for metric, errors in prediction_errors(data, bundle).items():
        out[metric] = {"all": float(np.median(errors.residual)) if len(errors.residual) else 0.0}
        for group, labels in errors.groups.items():
            medians = pd.Series(errors.residual).groupby(labels).median()
            out[metric][group] = {str(k): float(v) for k, v in medians.items()}
    gap, weight, groups = _failure_gaps(data, bundle)
    out["failure"] = {"all": float(np.average(gap, weights=weight)) if weight.sum() > 0 else 0.0}
    for group, labels in groups.items():
        frame = pd.DataFrame({"g": labels, "wg": gap * weight, "w": weight}).groupby("g")[["wg", "w"]].sum()
        out["failure"][group] = {str(k): float(v) for k, v in (frame["wg"] / frame["w"]).items()}
    return out


def _finite(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return values[np.isfinite(values)]


def _category(raw: Mapping[str, np.ndarray], name: str) -> np.ndarray:
    """Text labels of a categorical input (CPU-only offerings as "none"), computed once per distinct value."""
    codes, uniques = pd.factorize(pd.Series(raw[name], dtype=object), use_na_sentinel=True)
    labels = np.array([str(u) if str(u) else "" for u in uniques] + [""], dtype=object)
    if name == "accelerator":
        labels = np.where(labels == "", F.CPU_ONLY, labels)
    return labels[codes]  # code -1 (missing) picks the trailing ""


def _shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)
    return counts / max(counts.sum(), 1)


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index Σ (a − e) ln(a / e) over bins of shares."""
    e = np.maximum(np.asarray(expected, dtype=float), PSI_FLOOR)
    a = np.maximum(np.asarray(actual, dtype=float), PSI_FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def billed_ratio_by_cloud(log: pd.DataFrame, offerings: Sequence[Offering]) -> dict[str, dict]:
    """Median of cost / (replicas × hours × catalog price) per cloud, over billed windows."""
    joined = F.join_offerings(log.reset_index(drop=True), offerings)
    if not len(joined):
        return {}
    spot = joined["purchase"].astype(str).to_numpy() == "spot"
    price = np.where(spot & np.isfinite(joined["spot_price_hour_usd"].to_numpy(dtype=float)),
                     joined["spot_price_hour_usd"].to_numpy(dtype=float), joined["price_hour_usd"].to_numpy(dtype=float))
    listed = (pd.to_numeric(joined["replicas"], errors="coerce").to_numpy(dtype=float)
              * pd.to_numeric(joined["hours"], errors="coerce").to_numpy(dtype=float) * price)
    cost = pd.to_numeric(joined["cost_usd"], errors="coerce").to_numpy(dtype=float)
    billed = (cost > 0) & (listed > 0)
    frame = pd.DataFrame({"cloud": joined["cloud"].astype(str).to_numpy()[billed], "ratio": cost[billed] / listed[billed]})
    out = {}
    for cloud, part in frame.groupby("cloud"):
        out[str(cloud)] = {"rows": int(len(part)), "median": float(part["ratio"].median())}
    return out


# ---------------------------------------------------------------------------------------
# Prediction error

@dataclass(frozen=True)
class Errors:
    """One metric's errors on the new outcomes: a residual per labelled (profile, offering)."""

    metric: str
    residual: np.ndarray       # ln(observed / predicted)
    profile: np.ndarray        # profile id of each residual
    groups: Mapping[str, np.ndarray]
    baseline: Mapping[str, float]
    # The model's own bias on its training data, overall and {group: {name: bias}}.
    own_bias: Mapping = None  # type: ignore[assignment]

    def own(self, group: str | None = None, name: str | None = None) -> float:
        own = self.own_bias or {}
        if group is None:
            return float(own.get("all", self.baseline["median_log_ratio"]))
        return float(own.get(group, {}).get(name, self.own()))


def _baseline(bundle: ModelBundle, model: str) -> dict[str, float]:
    cv = bundle.metrics.get("cross_validation", {}).get(model, {})
    return {k: float(cv.get(k, v)) for k, v in FALLBACK_BASELINE.items()}


def _group_columns(data: T.TrainingSet, rows: np.ndarray) -> dict[str, np.ndarray]:
    return {name: _category(data.raw, name)[rows] for name in GROUPS}


def prediction_errors(data: T.TrainingSet, bundle: ModelBundle, num_threads: int = 2) -> dict[str, Errors]:
    """Capacity and latency residuals of ``bundle`` on prepared new outcomes."""
    own = (bundle.manifest.get("feature_reference") or {}).get("bias_by_group") or {}
    out = {}
    for metric, model in (("capacity", T.SATURATION), ("latency", T.LATENCY)):
        lab = data.labels[model]
        names = list(bundle.spec.names(bundle.feature_groups[model]))
        pred = bundle.boosters[model].predict(F.matrix({k: data.features[k][lab.rows] for k in names}, names),
                                              num_threads=num_threads)
        out[metric] = Errors(metric, lab.target - pred, data.groups[lab.rows], _group_columns(data, lab.rows),
                             _baseline(bundle, model), own.get(metric))
    return out


def _profile_means(residual: np.ndarray, profile: np.ndarray, own: float) -> pd.Series:
    return pd.Series(residual - own).groupby(profile).mean()


def spread(means: pd.Series) -> float:
    """Robust spread of per-profile errors (1.4826 × MAD): how far one profile's bias strays."""
    if len(means) < 2:
        return float("inf")
    return float(1.4826 * np.median(np.abs(means - means.median()))) or float(means.std(ddof=1))


def _stats(residual: np.ndarray, profile: np.ndarray, own: float, sd: float) -> dict:
    """Median/p90 |error| (%), bias beyond the model's own ``own`` (%: median over profiles of
    their mean ln ratio) and its z (profiles' spread ``sd`` pooled over all groups / √profiles)."""
    if not len(residual):
        return {"deployments": 0, "profiles": 0}
    means = _profile_means(residual, profile, own)
    bias = float(means.median())
    se = sd / math.sqrt(len(means))
    abs_pct = np.abs(np.expm1(residual)) * 100
    return {"deployments": int(len(residual)), "profiles": int(len(means)),
            "median_abs_pct_error": float(np.median(abs_pct)), "p90_abs_pct_error": float(np.percentile(abs_pct, 90)),
            "bias_pct": float(np.expm1(bias) * 100), "bias_log": bias, "own_bias_log": own,
            "bias_z": float(abs(bias) / se) if se > 0 else float("inf")}


def _biased(stats: Mapping, t: Thresholds, z: float, metric: str, group: bool = False) -> bool:
    limit = t.latency_bias if metric == "latency" else t.group_bias if group else t.bias
    return (stats.get("profiles", 0) >= t.min_profiles and stats.get("deployments", 0) >= t.min_deployments
            and abs(stats["bias_log"]) > limit and stats["bias_z"] >= z)


def judge_errors(errors: Errors, t: Thresholds) -> tuple[dict, list[dict]]:
    """Figures of one metric overall and per group, and the findings that count as drift."""
    sd = spread(_profile_means(errors.residual, errors.profile, errors.own()))
    overall = _stats(errors.residual, errors.profile, errors.own(), sd)
    overall["profile_spread_log"] = sd
    findings = []
    for q in ("median", "p90"):
        key = f"{q}_abs_pct_error"
        limit = max(errors.baseline[key] * t.error_factor, errors.baseline[key] + t.error_margin_pct)
        overall[f"{key}_limit"] = limit
        if overall.get("profiles", 0) >= t.min_profiles and overall.get(key, 0.0) > limit:
            findings.append(_finding(errors.metric, "all", None, f"{q} |error| {overall[key]:.0f}% > {limit:.0f}% "
                                     f"(the model's own on unseen profiles: {errors.baseline[key]:.0f}%)", overall[key]))
    if _biased(overall, t, t.z, errors.metric):
        findings.append(_bias_finding(errors.metric, "all", None, overall))
    by: dict[str, dict] = {}
    for group, labels in errors.groups.items():
        by[group] = {}
        for name in sorted(set(labels.tolist())):
            mask = labels == name
            stats = _stats(errors.residual[mask], errors.profile[mask], errors.own(group, name), sd)
            stats["drift"] = _biased(stats, t, t.group_z, errors.metric, group=True)
            by[group][name] = stats
            if stats["drift"]:
                findings.append(_bias_finding(errors.metric, group, name, stats))
    overall["drift"] = any(f["group"] == "all" for f in findings)
    return {"overall": overall, "baseline": dict(errors.baseline), "by": by}, findings


def _finding(metric: str, group: str, name: str | None, message: str, value: float) -> dict:
    where = "overall" if name is None else f"{group} {name}"
    return {"check": "prediction_error", "metric": metric, "group": group, "name": name, "value": value,
            "message": f"{metric} {where}: {message}"}


def _bias_finding(metric: str, group: str, name: str | None, stats: Mapping) -> dict:
    direction = "below" if stats["bias_log"] < 0 else "above"
    what = {"capacity": "capacity", "latency": "p95 latency"}[metric]
    return _finding(metric, group, name, f"observed {what} {abs(stats['bias_pct']):.0f}% {direction} prediction "
                    f"({stats['profiles']} profiles, {stats['deployments']} deployments, z {stats['bias_z']:.1f})",
                    stats["bias_pct"])


def failure_errors(data: T.TrainingSet, bundle: ModelBundle, t: Thresholds, num_threads: int = 2) -> tuple[dict, list[dict]]:
    """Observed vs predicted failure share (oom, crash loop, no capacity), overall and per
    group; significance over profiles, as for the other errors (a profile's OOMs are one fact)."""
    lab = data.labels[T.SUCCESS]
    gap, _, groups = _failure_gaps(data, bundle, num_threads)
    predicted = gap + lab.target
    own = (bundle.manifest.get("feature_reference") or {}).get("bias_by_group", {}).get("failure", {})
    profile = data.groups[lab.rows]
    frame = pd.DataFrame({"p": profile, "wg": gap * lab.weight, "w": lab.weight})
    per = frame.groupby("p")[["wg", "w"]].sum()
    # Most configurations never fail: the MAD of such gaps is 0, so the plain spread.
    sd = float((per["wg"] / per["w"]).std(ddof=1)) if len(per) > 1 else float("inf")
    findings = []

    def stats(mask: np.ndarray, group: str, name: str | None, z_needed: float) -> dict:
        w = lab.weight[mask]
        n = float(w.sum())
        if n <= 0:
            return {"deployments": 0}
        observed = float(np.average(1 - lab.target[mask], weights=w))
        # Predicted failure, corrected by the model's own gap on its training data for this group.
        mine = own.get(group, {}).get(name, own.get("all", 0.0)) if name is not None else own.get("all", 0.0)
        expected = float(np.clip(np.average(1 - predicted[mask], weights=w) + mine, 0.0, 1.0))
        k = len(np.unique(profile[mask]))
        z = abs(observed - expected) / (sd / math.sqrt(k)) if sd > 0 else float("inf")
        drift = (n >= t.min_deployments and k >= t.min_profiles and abs(observed - expected) > t.failure_gap
                 and z >= z_needed)
        if drift:
            findings.append(_finding("failure", group, name, f"observed failure rate {observed:.1%} vs predicted "
                                     f"{expected:.1%} ({k} profiles, {int(n)} deployments)", observed - expected))
        return {"deployments": int(n), "profiles": k, "observed_failure_rate": observed,
                "predicted_failure_rate": expected, "gap": observed - expected, "z": z, "drift": drift}

    overall = stats(np.ones(len(lab.rows), dtype=bool), "all", None, t.z)
    by = {g: {name: stats(labels == name, g, name, t.group_z) for name in sorted(set(labels.tolist()))}
          for g, labels in groups.items()}
    return {"overall": overall, "by": by}, findings


def _failure_gaps(data: T.TrainingSet, bundle: ModelBundle, num_threads: int = 2
                  ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """(observed − predicted failure share, deployments, group labels) per configuration."""
    lab = data.labels[T.SUCCESS]
    names = list(bundle.spec.names(bundle.feature_groups[T.SUCCESS]))
    predicted = bundle.boosters[T.SUCCESS].predict(F.matrix({k: data.features[k][lab.rows] for k in names}, names),
                                                   num_threads=num_threads)
    return predicted - lab.target, lab.weight, _group_columns(data, lab.rows)


# ---------------------------------------------------------------------------------------
# Data drift

def data_drift(data: T.TrainingSet, reference: Mapping | None) -> dict:
    """PSI of each model input against the training reference (empty without one)."""
    if not reference:
        return {"available": False, "reason": "the model was trained without a feature reference; retrain it",
                "features": {}}
    out = {}
    for name, ref in reference.get("features", {}).items():
        if name not in data.raw:
            continue
        if ref["kind"] == "numeric":
            values = _finite(data.raw[name])
            if not len(values):
                continue
            index = psi(np.array(ref["shares"]), _shares(values, np.array(ref["edges"])))
        else:
            now = pd.Series(_category(data.raw, name)).value_counts(normalize=True)
            keys = sorted(set(ref["shares"]) | set(now.index))
            index = psi(np.array([ref["shares"].get(k, 0.0) for k in keys]), np.array([now.get(k, 0.0) for k in keys]))
        level = "major" if index >= PSI_MAJOR else "moderate" if index >= PSI_MODERATE else "stable"
        out[name] = {"psi": index, "level": level}
    return {"available": True, "method": "population stability index", "features": out}


# ---------------------------------------------------------------------------------------
# Catalog drift

def catalog_month(catalog_version: str) -> datetime | None:
    m = CATALOG_MONTH.match(catalog_version)
    if not m or not 1 <= int(m.group(2)) <= 12:
        return None
    return datetime(int(m.group(1)), int(m.group(2)), 1, tzinfo=UTC)


def catalog_drift(log: pd.DataFrame, offerings: Sequence[Offering], catalog_version: str,
                  reference: Mapping | None, missing: Mapping, t: Thresholds) -> tuple[dict, list[dict]]:
    """Price age, offerings missing from the catalog (``missing``: counted by the caller) and billed prices."""
    findings = []
    as_of = catalog_month(catalog_version)
    newest = pd.to_datetime(log["observed_at"], utc=True, errors="coerce").max() if len(log) else pd.NaT
    age = None if as_of is None or pd.isna(newest) else int((newest - pd.Timestamp(as_of)).days)
    stale = age is not None and age > t.max_price_age_days
    if stale:
        findings.append({"check": "catalog", "metric": "price_age", "group": "all", "name": None, "value": age,
                         "message": f"catalog prices ({catalog_version}) were {age} days old when the newest outcome "
                                    f"was observed (limit {t.max_price_age_days}); refresh the catalog"})
    if missing.get("rows"):
        findings.append({"check": "catalog", "metric": "missing_offerings", "group": "all", "name": None,
                         "value": missing["rows"],
                         "message": f"{missing['rows']} outcome(s) ran on {len(missing['offerings'])} offering(s) the "
                                    f"catalog lacks, e.g. {missing['offerings'][0]}"})
    now = billed_ratio_by_cloud(log, offerings)
    before = (reference or {}).get("billed_ratio_by_cloud", {})
    billed = {}
    for cloud, figures in now.items():
        ref = before.get(cloud, {}).get("median", 1.0)
        change = math.log(figures["median"] / ref) if figures["median"] > 0 and ref > 0 else 0.0
        drift = figures["rows"] >= t.min_deployments and abs(change) > t.billed_ratio_change
        billed[cloud] = {**figures, "reference_median": ref, "change_pct": math.expm1(change) * 100, "drift": drift}
        if drift:
            findings.append({"check": "catalog", "metric": "billed_price", "group": "cloud", "name": cloud,
                             "value": billed[cloud]["change_pct"],
                             "message": f"price cloud {cloud}: billed {abs(billed[cloud]['change_pct']):.0f}% "
                                        f"{'below' if change < 0 else 'above'} the catalog's prices relative to the "
                                        f"training data ({figures['rows']} windows); refresh the catalog"})
    return {"catalog_version": catalog_version, "prices_as_of": as_of.strftime("%Y-%m") if as_of else None,
            "price_age_days": age, "max_price_age_days": t.max_price_age_days, "stale": stale,
            "missing_offerings": dict(missing), "billed_vs_catalog": billed}, findings


def missing_offerings(log: pd.DataFrame, offerings: Sequence[Offering], limit: int = 10) -> tuple[np.ndarray, dict]:
    """(mask of rows whose offering the catalog lacks, their count and the first names)."""
    key = list(F.OFFERING_KEY)
    keys = F.normalise_log_keys(log[key])
    known = F.offering_frame(offerings)[key].drop_duplicates().assign(_known=True)
    mask = keys.merge(known, on=key, how="left", sort=False)["_known"].isna().to_numpy()
    missing = keys.loc[mask].drop_duplicates()
    names = ["/".join([str(r[0]), str(r[1]), str(r[2]), str(r[3]), f"{float(r[4]):g}"])
             for r in missing.itertuples(index=False, name=None)]
    return mask, {"rows": int(mask.sum()), "offerings": names[:limit], "distinct": len(names)}


# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DriftReport:
    model_version: str
    rows: int
    matched_rows: int
    profiles: int
    prediction_error: Mapping
    data_drift: Mapping
    catalog_drift: Mapping
    findings: tuple[dict, ...]
    thresholds: Thresholds
    sampled: bool = False      # prediction error and data drift read a sample of whole profiles

    @property
    def drift(self) -> bool:
        return bool(self.findings)

    def to_dict(self) -> dict:
        return {"verdict": "drift" if self.drift else "no_drift", "model_version": self.model_version,
                "rows": self.rows, "matched_rows": self.matched_rows, "profiles": self.profiles,
                "sampled_whole_profiles": self.sampled,
                "findings": list(self.findings), "prediction_error": dict(self.prediction_error),
                "data_drift": dict(self.data_drift), "catalog_drift": dict(self.catalog_drift),
                "thresholds": self.thresholds.to_dict()}


def whole_profiles(log: pd.DataFrame, max_rows: int) -> np.ndarray:
    """Mask of the rows of about ``max_rows / len(log)`` of the profiles, chosen by profile hash."""
    every = int(np.ceil(len(log) / max_rows)) if max_rows else 1
    if every <= 1:
        return np.ones(len(log), dtype=bool)
    return (identity.profile_keys(log) % np.uint64(every)) == 0


def detect(log: pd.DataFrame, bundle: ModelBundle, offerings: Sequence[Offering], catalog_version: str,
           thresholds: Thresholds = Thresholds(), num_threads: int = 2, max_rows: int = MAX_ROWS) -> DriftReport:
    """Every drift figure of ``bundle`` on new outcomes ``log`` (schema-v1 rows, already validated).

    Prediction error and data drift read at most about ``max_rows`` rows: every window of a
    sample of whole profiles (errors are judged per profile, so this keeps their meaning);
    catalog drift reads every row.
    """
    missing_mask, missing = missing_offerings(log, offerings)
    sample = ~missing_mask & whole_profiles(log, max_rows)
    # No content hash: nothing is trained here, and hashing every cell as text is the slowest step.
    data = T.prepare(log.loc[sample].reset_index(drop=True), offerings, bundle.spec, content_hash=False)
    reference = bundle.manifest.get("feature_reference")
    findings: list[dict] = []
    prediction: dict = {}
    for metric, errors in prediction_errors(data, bundle, num_threads).items():
        prediction[metric], found = judge_errors(errors, thresholds)
        findings += found
    prediction["failure"], found = failure_errors(data, bundle, thresholds, num_threads)
    findings += found
    catalog, found = catalog_drift(log, offerings, catalog_version, reference, missing, thresholds)
    findings += found
    return DriftReport(model_version=bundle.version, rows=len(log), matched_rows=data.rows, profiles=data.profiles,
                       sampled=int(sample.sum()) < int((~missing_mask).sum()),
                       prediction_error=prediction, data_drift=data_drift(data, reference), catalog_drift=catalog,
                       findings=tuple(findings), thresholds=thresholds)
