"""`roost train`, `roost models list|show|compare|promote|rollback|history` and `roost evaluate`."""
from __future__ import annotations

from pathlib import Path

import click

from placement.errors import InputError
from roost.cli.options import stage_printer
from roost.output import console, money, print_json, table
from roost.paths import models_dir

cli_json = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.1f}%"


@click.command("train")
@click.option("--history", "history", type=click.Path(),
              help="Deployment log (.csv, .csv.gz, .parquet; schema v1; with --dask-scheduler a directory of "
                   "Parquet files, local or a URL the workers can read). Default: the bundled history.")
@click.option("--seed", default=0, show_default=True, help="Seed for splits, bagging and LightGBM.")
@click.option("--folds", default=3, show_default=True, help="Grouped cross-validation folds (0: skip).")
@click.option("--latency-quantile", type=click.FloatRange(0.5, 0.95), default=None,
              help="Quantile the p95 latency model is fitted at (default 0.65): higher plans for slower "
                   "latencies (larger fleets); 0.5, the median, gives cheaper fleets and more SLO misses.")
@click.option("--challenger", is_flag=True,
              help="Train a challenger on the grown history (--history, else the project's ingested history, "
                   "less its held-out profiles); the model in use does not change (see `roost models compare`).")
@click.option("--project", "project_dir", type=click.Path(file_okay=False), default=".", show_default=True,
              help="Project whose ingested history a challenger trains on.")
@click.option("--dask-scheduler", metavar="ADDRESS",
              help="Train on a Dask cluster (e.g. tcp://10.0.0.5:8786) from partitioned Parquet (--history DIR); "
                   "needs pip install 'roost[dask]'. See docs/feedback.md for when to switch.")
@cli_json
def train_cmd(history: str | None, seed: int, folds: int, latency_quantile: float | None, challenger: bool,
              project_dir: str, dask_scheduler: str | None, as_json: bool) -> None:
    """Train the placement models and write a versioned, verified model directory.

    Scores are cross-validated by model profile: they are for models the training never saw.
    """
    from placement.learned.train import TrainConfig
    from roost.training import train_models

    if folds == 1 or folds < 0:
        raise InputError("--folds must be 0 (skip cross-validation) or ≥ 2")
    chosen = {} if latency_quantile is None else {"latency_quantile": latency_quantile}
    config = TrainConfig(seed=seed, cv_folds=folds, **chosen)
    if dask_scheduler:
        _train_dask(history, dask_scheduler, config, challenger, as_json)
        return
    if challenger:
        _train_challenger(history, Path(project_dir), config, as_json)
        return
    result = train_models(history, config=config, on_stage=stage_printer("Training"))
    manifest = result.bundle.manifest
    if as_json:
        print_json({"version": result.bundle.version, "path": str(result.path), "reused": result.reused,
                    **{k: manifest[k] for k in ("created_at", "catalog_version", "training_data",
                                                "throughput_margin", "metrics")}})
        return
    out = console()
    verb = "Already trained" if result.reused else "Trained"
    out.print(f"{verb} model {result.bundle.version} → {result.path}")
    _print_metrics(manifest)


def _train_dask(history: str | None, scheduler: str, config, challenger: bool, as_json: bool) -> None:
    from placement.catalog import load_catalog
    from placement.learned import registry
    from roost.dask_training import train_dask

    if not history:
        raise InputError("--dask-scheduler needs --history: the partitioned Parquet the cluster reads")
    if challenger:
        raise InputError("--challenger trains on the project's ingested history on this machine; with "
                         "--dask-scheduler, train with --history DIR and promote the result")
    bundle = train_dask(history, scheduler, catalog=load_catalog(), config=config,
                        on_progress=stage_printer("Training on Dask"))
    path = registry.save(bundle, models_dir())
    if as_json:
        print_json({"version": bundle.version, "path": str(path), "engine": "dask",
                    **{k: bundle.manifest[k] for k in ("created_at", "catalog_version", "training_data",
                                                       "throughput_margin", "metrics")}})
        return
    console().print(f"Trained model {bundle.version} on the Dask cluster at {scheduler} → {path} "
                    "(`roost models promote` puts it in use)")
    _print_metrics(dict(bundle.manifest))


def _train_challenger(history: str | None, project_dir: Path, config, as_json: bool) -> None:
    from placement.catalog import load_catalog
    from roost.models import train_challenger

    result = train_challenger(history, project_dir=project_dir, catalog=load_catalog(), config=config,
                              on_stage=stage_printer("Training challenger"))
    if as_json:
        print_json({"challenger": True, "version": result.bundle.version, "path": str(result.path),
                    "training_rows": result.training_rows, "held_out_rows": result.held_out_rows,
                    "event": result.event, "metrics": result.bundle.manifest.get("metrics")})
        return
    console().print(f"Trained challenger {result.bundle.version} → {result.path} on {result.training_rows:,} rows "
                    f"({result.held_out_rows:,} held-out rows kept for `roost models compare`)")
    _print_metrics(dict(result.bundle.manifest))


def _print_metrics(manifest: dict) -> None:
    out = console()
    data = manifest.get("training_data", {})
    out.print(f"  history: {data.get('source')} — {data.get('rows', 0):,} rows, {data.get('profiles', 0):,} profiles")
    out.print(f"  sizing margin: {manifest.get('throughput_margin', 1.0):.0%} of predicted throughput")
    by_task = manifest.get("throughput_margin_by_task") or {}
    if by_task:
        out.print("  by task: " + ", ".join(f"{task} {margin:.0%}" for task, margin in sorted(by_task.items())))
    cv = manifest.get("metrics", {}).get("cross_validation")
    if not cv:
        out.print("  (no cross-validation)")
        return
    rows = []
    for model in ("saturation", "latency"):
        m = cv.get(model, {})
        rows.append((model, f"{m.get('median_abs_pct_error', float('nan')):.1f}%",
                     f"{m.get('p90_abs_pct_error', float('nan')):.1f}%",
                     f"{m.get('share_actual_below_predicted', float('nan')):.0%}"))
    out.print(table(f"Grouped {cv.get('folds')}-fold cross-validation on {cv.get('profiles')} profiles "
                    "(errors on unseen models)",
                    ["model", "median |error|", "p90 |error|", "actual < predicted"], rows,
                    right=["median |error|", "p90 |error|", "actual < predicted"]))
    s = cv.get("success", {})
    out.print(f"  success: AUC {s.get('auc', float('nan')):.3f}, log loss {s.get('logloss', float('nan')):.3f}, "
              f"served {s.get('served_rate', float('nan')):.1%} of {s.get('deployments', 0):,} deployments")


@click.group("models")
def models() -> None:
    """List and inspect trained model versions."""


@models.command("list")
@cli_json
def models_list(as_json: bool) -> None:
    """Every model directory in the cache, newest first (ROOST_HOME/models)."""
    from placement.learned import registry
    from roost.training import DEFAULT_POINTER

    root = models_dir()
    default = _default_version(root / DEFAULT_POINTER)
    entries = registry.list_models(root)
    items = []
    for e in entries:
        m = e.manifest or {}
        data = m.get("training_data", {})
        items.append({"version": e.version, "default": e.version == default, "path": str(e.path),
                      "created_at": m.get("created_at"), "catalog_version": m.get("catalog_version"),
                      "training_rows": data.get("rows"), "training_source": data.get("source"),
                      "problem": e.problem})
    if as_json:
        print_json({"models_dir": str(root), "models": items})
        return
    out = console()
    if not items:
        out.print(f"No models in {root}. `roost train` trains one; until then the default is the shipped model "
                  "(`roost models show`).")
        return
    out.print(table(f"Models in {root}", ["version", "default", "created", "catalog", "rows", "history"],
                    [(i["version"], "*" if i["default"] else "", i["created_at"] or "-", i["catalog_version"] or "-",
                      f"{i['training_rows']:,}" if i["training_rows"] else "-",
                      i["problem"] or i["training_source"] or "-") for i in items], right=["rows"]))


def _default_version(pointer: Path) -> str | None:
    import json

    try:
        return json.loads(pointer.read_text()).get("version")
    except (FileNotFoundError, ValueError):
        return None


@models.command("show")
@click.argument("version", required=False)
@cli_json
def models_show(version: str | None, as_json: bool) -> None:
    """Verify one model (default: the default model) and show its manifest and scores."""
    from placement.learned import registry
    from roost.training import default_model_path

    root = models_dir()
    if version is None:
        path = default_model_path(root=root)
    else:
        path = Path(version) if Path(version).is_dir() else root / version
    if not path.is_dir():
        known = [e.version for e in registry.list_models(root)]
        raise InputError(f"no model {version!r} in {root}{registry_hint(version, known)}")
    bundle = registry.load(path)  # verifies every file's sha256
    if as_json:
        print_json({"version": bundle.version, "path": str(path), "verified": True, **bundle.manifest})
        return
    out = console()
    out.print(f"Model {bundle.version} ({path}): every file's sha256 verified")
    out.print(f"  created {bundle.manifest.get('created_at')}, catalog {bundle.catalog_version}, "
              f"LightGBM {bundle.manifest.get('lightgbm_version')}")
    models_ = bundle.manifest.get("models", {})
    out.print("  models: " + ", ".join(f"{name} ({entry['features']} features, {bundle.boosters[name].num_trees()} trees)"
                                       for name, entry in models_.items()))
    _print_metrics(dict(bundle.manifest))


def _evaluate_benchmarks(path: str | None, model_dir: str | None, as_json: bool) -> None:
    from history.calibration import learned_check
    from placement.catalog import load_catalog
    from roost.training import learned_predictor

    catalog = load_catalog()
    predictor = learned_predictor(model_dir, catalog_version=catalog.version, on_stage=stage_printer("Evaluating"))
    report = {"model_version": predictor.version, **learned_check(predictor.bundle, catalog, path)}
    if as_json:
        print_json(report)
        return
    out = console()
    out.print(f"Model {report['model_version']} against {report['rows']} Offline benchmark rows "
              f"({report['skipped_rows']} without a catalog machine): median error {_pct(report.get('median_error'))}, "
              f"p90 {_pct(report.get('p90_error'))}")
    rows = [(name, str(s["rows"]), _pct(s.get("median_error")), _pct(s.get("p90_error")))
            for name, s in report["per_benchmark"].items()]
    out.print(table("Learned model vs measured", ["benchmark", "rows", "median error", "p90 error"], rows))


def registry_hint(word: str, known: list[str]) -> str:
    from placement.errors import did_you_mean

    return did_you_mean(word, known)


@click.command("evaluate")
@click.option("--profiles", "n_profiles", default=300, show_default=True,
              help="Held-out model profiles to place and judge.")
@click.option("--seed", default=7, show_default=True, help="Seed the held-out profiles are sampled with.")
@click.option("--model-dir", type=click.Path(file_okay=False, exists=True),
              help="A model directory (default: the default model).")
@click.option("--history", type=click.Path(dir_okay=False, exists=True),
              help="The log the model was trained on (to exclude its profiles); default: the default history.")
@click.option("--benchmarks", "benchmarks", is_flag=False, flag_value="bundled", default=None,
              help="Instead: compare the learned model's predicted throughput for each benchmark profile on "
                   "its catalog accelerator with the measurement (default table: the bundled one; or FILE).")
@cli_json
def evaluate_cmd(n_profiles: int, seed: int, model_dir: str | None, history: str | None, benchmarks: str | None,
                 as_json: bool) -> None:
    """Place held-out profiles with the learned models and two baselines; judge them by the
    simulator's ground truth against the oracle (the cheapest configuration that truly meets the SLO).

    With --benchmarks, check the learned model against public measurements instead.
    """
    from roost.evaluation import run_evaluation
    from roost.output import Progress

    if benchmarks is not None:
        _evaluate_benchmarks(None if benchmarks == "bundled" else benchmarks, model_dir, as_json)
        return
    if n_profiles < 1:
        raise InputError("--profiles must be ≥ 1")
    result = run_evaluation(n_profiles=n_profiles, seed=seed, model_dir=model_dir, history=history,
                            on_stage=stage_printer("Evaluating"), on_progress=Progress("Placing held-out models"))
    if as_json:
        print_json(result.to_dict())
        return
    out = console()
    rows = []
    for s in result.summaries:
        rows.append((s.method, f"{s.placed}/{s.models}", _pct(s.median_regret), _pct(s.p90_regret),
                     _pct(s.slo_miss_rate), _pct(s.failure_rate), money(s.monthly_cost_usd),
                     "-" if s.cost_vs_reference is None else f"{s.cost_vs_reference * 100:+.1f}%",
                     "-" if s.median_cost_vs_reference is None else f"{s.median_cost_vs_reference * 100:+.1f}%"))
    out.print(table(f"Held-out evaluation: {result.profiles} profiles (seed {result.seed}), model "
                    f"{result.model_version}, oracle placed {result.oracle_placed}",
                    ["method", "placed", "median regret", "p90 regret", "SLO miss", "failure",
                     "$/month (common)", "total vs baseline", "median vs baseline"], rows,
                    right=["placed", "median regret", "p90 regret", "SLO miss", "failure", "$/month (common)",
                           "total vs baseline", "median vs baseline"]))
    out.print("\nregret: cost over the oracle's (the cheapest configuration that truly meets the SLO); SLO miss: "
              "true capacity of the replicas short of peak load; failure: expected share of deployments that "
              "never serve (OOM, no capacity). 'baseline ×m margin' is the physics baseline sized with the "
              "largest margin that brings its SLO misses down to the learned recommender's.")


# ---------------------------------------------------------------------------------------
# Challengers and promotion (roost.models)

project_option = click.option("--project", "project_dir", type=click.Path(file_okay=False), default=".",
                              show_default=True, help="Project whose ingested history holds the outcomes.")
logs_option = click.option("--logs", type=click.Path(dir_okay=False, exists=True),
                           help="Outcomes to compare on instead of the project's ingested history.")
recent_option = click.option("--recent", type=click.Path(dir_okay=False, exists=True),
                             help="The most recent outcomes (default: the newest quarter of the held-out set).")


def _print_comparison(data: dict) -> None:
    out = console()
    rows = []
    for name, s in data["sets"].items():
        for metric in ("capacity", "latency"):
            a, b = s["champion"][metric]["median_abs_pct_error"], s["challenger"][metric]["median_abs_pct_error"]
            rows.append((name.replace("_", "-"), metric, f"{s['challenger']['deployments']:,}", f"{a:.1f}%",
                         f"{b:.1f}%", "worse" if metric in s["worse_metrics"] else "not worse"))
    out.print(table(f"Champion {data['champion']} against challenger {data['challenger']} (median |error|)",
                    ["set", "metric", "deployments", "champion", "challenger", "challenger is"], rows,
                    right=["deployments", "champion", "challenger"]))
    verdict = "may be promoted" if data["not_worse"] else "would not be promoted"
    out.print(f"The challenger {verdict} (not worse on both sets, tolerance {data['tolerance_pct']:g} points).")


@models.command("compare")
@click.argument("champion", required=False)
@click.argument("challenger", required=False)
@logs_option
@recent_option
@project_option
@cli_json
def models_compare(champion: str | None, challenger: str | None, logs: str | None, recent: str | None,
                   project_dir: str, as_json: bool) -> None:
    """Score CHAMPION (default: the model in use) and CHALLENGER (default: the newest) on the
    same held-out outcomes and on the most recent ones."""
    from placement.catalog import load_catalog
    from roost.models import compare_models

    result = compare_models(champion, challenger, logs=logs, recent=recent, project_dir=Path(project_dir),
                            catalog=load_catalog())
    if as_json:
        print_json(result.to_dict())
        return
    _print_comparison(result.to_dict())


@models.command("promote")
@click.argument("version")
@click.option("--force", is_flag=True, help="Promote even if worse (needs --reason; recorded with who and why).")
@click.option("--reason", help="Why (recorded in the registry's history).")
@logs_option
@recent_option
@project_option
@cli_json
def models_promote(version: str, force: bool, reason: str | None, logs: str | None, recent: str | None,
                   project_dir: str, as_json: bool) -> None:
    """Make VERSION the model in use, if it is not worse than the champion on the held-out set
    and the most recent outcomes (exit 1 when it is, and nothing changes)."""
    from placement.catalog import load_catalog
    from roost.models import promote

    event, result = promote(version, logs=logs, recent=recent, project_dir=Path(project_dir),
                            catalog=load_catalog(), force=force, reason=reason)
    if as_json:
        print_json(event)
        return
    _print_comparison(result.to_dict())
    forced = " (forced)" if event["forced"] else ""
    console().print(f"Promoted {event['version']}{forced}; previous champion {event['previous'] or 'none'} "
                    f"(event {event['n']}; `roost models rollback` restores it)")


@models.command("rollback")
@cli_json
def models_rollback(as_json: bool) -> None:
    """Restore the champion the model in use replaced."""
    from roost.models import rollback

    event = rollback()
    if as_json:
        print_json(event)
        return
    console().print(f"Rolled back from {event['previous']} to {event['version'] or 'the default model'} "
                    f"(event {event['n']})")


@models.command("history")
@cli_json
def models_history(as_json: bool) -> None:
    """Every challenger, promotion and rollback in the registry, oldest first."""
    from placement.learned import registry
    from roost.models import champion_version

    root = models_dir()
    events = registry.read_events(root)
    if as_json:
        print_json({"models_dir": str(root), "in_use": champion_version(root), "events": events})
        return
    out = console()
    if not events:
        out.print(f"No events in {root} yet.")
        return
    rows = [(e["n"], e["at"], e["type"], e.get("version") or "default", e.get("previous") or "",
             e.get("by", ""), ("forced: " if e.get("forced") else "") + (e.get("reason") or "")) for e in events]
    out.print(table(f"Registry history ({root}); in use: {champion_version(root) or 'none'}",
                    ["#", "at", "event", "version", "previous", "by", "note"], rows, right=["#"]))
