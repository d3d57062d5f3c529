"""`roost train --dask-scheduler ADDRESS`: the final models trained on a Dask cluster.

When the history outgrows one machine (a few hundred million rows), the expensive part —
labels and features of every row, and boosting over them — runs on the cluster:

1. The history is read as partitioned Parquet (a directory of ``*.parquet`` files, or one
   file) with ``dask.dataframe`` and shuffled by model profile, so every (profile,
   offering)'s windows share a partition: the per-deployment labels (medians, shares) of
   ``train.prepare`` are then exact partition by partition.
2. Each partition becomes one table of (features, target, weight) per model, and
   LightGBM's Dask estimators (``DaskLGBMRegressor``) fit the saturation, latency and
   success models over them, with the single-machine parameters (``train.lgb_params``).
3. What needs a view across profiles but not every row runs on the client, on a sample of
   whole profiles (at most ``TrainConfig.cv_max_rows`` rows): grouped cross-validation and
   the sizing margins, the number of boosting rounds (early stopping on the sample), the
   utilization-at-SLO model distilled from the cluster-trained models, and drift's
   feature reference.

The result is an ordinary model directory: the same files, manifest and checks as one
trained on one machine (``training_data.engine`` says "dask").
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from placement import features as F
from placement.catalog import Catalog
from placement.errors import InputError, RoostError
from placement.learned import identity
from placement.learned import train as T
from placement.learned.registry import ModelBundle, version_id
from placement.types import Offering

CONNECT_TIMEOUT_S = 5
PROFILE = "_roost_profile"
INSTALL_HINT = "pip install 'roost[dask]' (dask[distributed,dataframe])"


class SchedulerUnreachable(RoostError):
    """The Dask scheduler did not answer (exit 3: the engine is not available)."""

    exit_code = 3


def connect(address: str, timeout_s: float = CONNECT_TIMEOUT_S):
    """A ``distributed.Client`` of the scheduler at ``address``, or SchedulerUnreachable."""
    try:
        from distributed import Client
    except ImportError:
        raise InputError(f"--dask-scheduler needs Dask: {INSTALL_HINT}") from None
    try:
        return Client(address, timeout=f"{timeout_s}s")
    except (OSError, TimeoutError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SchedulerUnreachable(f"cannot reach the Dask scheduler at {address}: {reason}") from None


def read_history(path: str | Path):
    """The history as a Dask dataframe, with the columns training needs checked up front."""
    import dask.dataframe as dd

    p = str(path)
    if "://" not in p and not Path(p).exists():
        raise InputError(f"{p}: history not found (a Parquet file or a directory of them)")
    try:
        ddf = dd.read_parquet(p)
    except (OSError, ValueError) as exc:
        raise InputError(f"{p}: cannot read as Parquet: {exc}") from None
    missing = [c for c in T.REQUIRED_COLUMNS if c not in ddf.columns]
    if missing:
        raise InputError(f"{p}: not a deployment log (log schema v1): missing column(s) {', '.join(missing)}")
    return ddf


def _with_profile(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out[PROFILE] = identity.profile_keys(frame).astype(np.int64) if len(frame) else np.zeros(0, dtype=np.int64)
    return out


def label_table(frame: pd.DataFrame, model: str, offerings: Sequence[Offering], spec: F.FeatureSpec,
                seed: int, held_out: frozenset[int] = frozenset()) -> pd.DataFrame:
    """One partition's (features…, _y, _w) rows for ``model`` (whole profiles in, exact labels out),
    without the profiles in ``held_out`` (those early stopping was decided on)."""
    names = list(spec.names(T.FEATURE_GROUP[model]))
    empty = pd.DataFrame({**{n: pd.Series(dtype=float) for n in names}, "_y": pd.Series(dtype=float),
                          "_w": pd.Series(dtype=float)})
    if held_out and len(frame):
        frame = frame.loc[~frame[PROFILE].isin(held_out)]
    if not len(frame):
        return empty
    try:
        data = T.prepare(frame.drop(columns=[PROFILE], errors="ignore"), offerings, spec, seed=seed, min_rows=1,
                         content_hash=False)
    except InputError:
        return empty  # no row of this partition names a catalog offering
    lab = data.labels[model]
    table = pd.DataFrame(T._table(data.features, lab.rows, names), columns=names)
    table["_y"], table["_w"] = lab.target, lab.weight
    return table


def held_out_profiles(data: T.TrainingSet, model: str, config: T.TrainConfig) -> frozenset[int]:
    """Profile keys (as in the PROFILE column) that ``train._fit`` holds out of ``model``'s final
    fit for early stopping on this data: the cluster fit leaves the same profiles out."""
    lab = data.labels[model]
    groups = data.groups[lab.rows]
    held = T.holdout_mask(groups, config.validation_share, config.seed)
    if not held.any() or held.all():
        return frozenset()
    keys = identity.profile_keys(pd.DataFrame({c: data.raw[c] for c in identity.PROFILE_KEY})).astype(np.int64)
    key_of_group = pd.Series(keys).groupby(data.groups).first()
    return frozenset(int(k) for k in key_of_group.loc[np.unique(groups[held])].to_numpy())


def fit_on_cluster(client, ddf, model: str, offerings: Sequence[Offering], spec: F.FeatureSpec,
                   config: T.TrainConfig, rounds: int, held_out: frozenset[int] = frozenset()) -> lgb.Booster:
    """``model``'s booster fitted by LightGBM's Dask estimator over every partition's labels."""
    from lightgbm.dask import DaskLGBMRegressor

    names = list(spec.names(T.FEATURE_GROUP[model]))
    meta = label_table(pd.DataFrame(columns=ddf.columns), model, offerings, spec, config.seed)
    table = ddf.map_partitions(label_table, model, offerings, spec, config.seed, held_out, meta=meta)
    arr = table.to_dask_array(lengths=True)
    X, y, w = arr[:, :len(names)], arr[:, len(names)], arr[:, len(names) + 1]
    params = T.lgb_params(model, names, config)
    params.pop("metric", None)
    params.pop("num_threads", None)  # each Dask worker uses its own threads
    estimator = DaskLGBMRegressor(client=client, n_estimators=rounds, **params)
    estimator.fit(X, y, sample_weight=w, feature_name=names,
                  categorical_feature=[i for i, n in enumerate(names) if n in F.CATEGORICAL])
    return estimator.booster_


def profile_sample(ddf, max_rows: int) -> pd.DataFrame:
    """Whole profiles, about ``max_rows`` rows of them, gathered on the client."""
    n = int(ddf.shape[0].compute())
    every = max(1, int(np.ceil(n / max_rows)))
    sample = ddf[ddf[PROFILE] % every == 0] if every > 1 else ddf
    return sample.compute().drop(columns=[PROFILE]).reset_index(drop=True)


def data_sha256(ddf) -> str:
    """Order-independent content hash of every row (sum of row hashes per partition)."""
    import hashlib

    def part(frame: pd.DataFrame) -> pd.Series:
        hashed = pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy()
        return pd.Series([int(hashed.sum(dtype=np.uint64)), len(frame)], dtype="uint64")

    sums = ddf.map_partitions(part, meta=pd.Series(dtype="uint64")).compute().to_numpy()
    total = int(sums[0::2].sum(dtype=np.uint64))
    rows = int(sums[1::2].sum())
    return hashlib.sha256(f"{sorted(ddf.columns)}:{total}:{rows}".encode()).hexdigest()


def train_dask(history: str | Path, scheduler: str, *, catalog: Catalog, config: T.TrainConfig = T.TrainConfig(),
               on_progress: Callable[[str], None] | None = None, created_at: datetime | None = None) -> ModelBundle:
    """Train every model of ``train.train`` with the row-level work on the Dask cluster."""
    say = on_progress or (lambda _: None)
    ddf = read_history(history)  # bad input is refused before any cluster is involved
    client = connect(scheduler)
    try:
        return _train(client, ddf, history, catalog, config, say, created_at)
    finally:
        client.close()


def _train(client, ddf, history, catalog: Catalog, config: T.TrainConfig, say, created_at) -> ModelBundle:
    offerings = catalog.offerings
    spec = F.FeatureSpec.for_catalog(offerings)
    say("shuffling the history by model profile")
    ddf = ddf.map_partitions(_with_profile, meta=_with_profile(ddf._meta)).shuffle(PROFILE)
    ddf = ddf.persist()
    say("hashing the history")
    sha = data_sha256(ddf.drop(columns=[PROFILE]))
    say("sampling whole profiles for cross-validation and early stopping")
    sample = profile_sample(ddf, config.cv_max_rows)
    data = T.prepare(sample, offerings, spec, seed=config.seed)
    metrics: dict = {}
    margin, margins_by_task = 1.0, {}
    if config.cv_folds >= 2 and len(np.unique(data.groups)) >= config.cv_folds * 2:
        metrics["cross_validation"], residuals, tasks = T.cross_validate(data, spec, config, say)
        margin = T.throughput_margin(residuals, config.margin_quantile)
        margins_by_task = T.throughput_margins_by_task(residuals, tasks, config.margin_quantile)
    local = T.fit_log_models(data, spec, config)
    boosters = {}
    for model in (T.SATURATION, T.LATENCY, T.SUCCESS):
        rounds = local[model].best_iteration or local[model].current_iteration()
        say(f"training the {model} model on the cluster ({rounds} rounds)")
        boosters[model] = fit_on_cluster(client, ddf, model, offerings, spec, config, rounds,
                                         held_out_profiles(data, model, config))
    say("reading utilization at the SLO off the latency curves")
    boosters[T.SLO_UTILIZATION], metrics["slo_utilization_distillation"] = T.fit_slo_utilization(
        boosters, data, offerings, spec, config)
    metrics["final_iterations"] = {m: b.current_iteration() for m, b in boosters.items()}
    rows = int(ddf.shape[0].compute())
    inputs = {"trainer": T.TRAINER_VERSION, "training_data_sha256": sha, "params": config.to_dict(),
              "lightgbm": lgb.__version__, "catalog_version": catalog.version, "features": spec.to_dict(),
              "engine": "dask"}
    manifest = {
        "trainer_version": T.TRAINER_VERSION,
        "created_at": (created_at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "catalog_version": catalog.version,
        "training_data": {"source": str(history), "sha256": sha, "rows": rows, "engine": "dask",
                          "sample_rows": int(len(sample)), "profiles_in_sample": data.profiles},
        "params": config.to_dict(),
        "throughput_margin": margin,
        "throughput_margin_by_task": margins_by_task,
        "metrics": metrics,
    }
    bundle = ModelBundle(version=version_id(inputs), boosters=boosters, feature_groups=dict(T.FEATURE_GROUP),
                         spec=spec, manifest=manifest)
    from placement.learned.drift import feature_reference

    manifest["feature_reference"] = feature_reference(data, sample, offerings, bundle)
    return bundle
