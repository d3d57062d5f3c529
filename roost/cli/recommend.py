from __future__ import annotations

import click

from roost.cli.options import catalog_options, json_option, load_catalog_from, predictor_option, stage_printer
from roost.output import console, money, print_json, table


@click.command()
@click.argument("fleet", type=click.Path(dir_okay=False))
@json_option
@catalog_options
@predictor_option
@click.option("--model-dir", type=click.Path(file_okay=False, exists=True),
              help="Use this trained model directory (`roost models list`) instead of the default model.")
@click.option("--explain/--no-explain", default=True,
              help="Explain each choice (learned: feature attributions, ~2-3 ms per model); --no-explain keeps a "
                   "short summary in JSON and hides it in the table.")
def recommend(fleet: str, as_json: bool, catalog_path: str | None, discounts: tuple[str, ...],
              predictor_kind: str, model_dir: str | None, explain: bool) -> None:
    """Recommend cloud, region, instance, purchase option and replicas for every model in FLEET."""
    from roost.workflows import load_checked_fleet, predictor_for, predictor_warnings, recommend_fleet

    catalog = load_catalog_from(catalog_path, discounts)
    if model_dir and predictor_kind != "learned":
        raise click.BadParameter("--model-dir applies to --predictor learned", param_hint="--model-dir")
    load_checked_fleet(fleet, catalog)  # a bad fleet fails now, before any model is loaded
    predictor = predictor_for(predictor_kind, model_dir=model_dir, catalog_version=catalog.version,
                              on_stage=stage_printer("Model"))
    for warning in predictor_warnings(predictor):
        click.echo(f"Warning: {warning}", err=True)
    result = recommend_fleet(fleet, catalog, predictor, explain=explain)
    rec = result.recommendation
    if as_json:
        print_json(rec.to_dict())
        return
    out = console()
    rows = []
    for p in rec.placements:
        c = p.chosen
        gpu = f"{c.accelerator}×{c.accelerator_count:g}" if c.accelerator else "-"
        rows.append((p.model, c.cloud.value, c.region, c.instance_type, gpu, c.purchase.value.replace("_", "-"),
                     f"{c.replicas} ({c.min_replicas}-{c.max_replicas})", f"{c.predicted_rps_per_replica:,.1f}",
                     f"{c.predicted_p95_latency_ms:,.0f}", money(c.monthly_cost_usd)))
    out.print(table(f"Placements (catalog {rec.catalog_version}, predictor {rec.model_version or 'baseline'})",
                    ["model", "cloud", "region", "instance", "gpu", "purchase", "replicas (min-max)",
                     "rps/replica", "p95 ms", "$/month"], rows,
                    right=["rps/replica", "p95 ms", "$/month"]))
    out.print(f"\nTotal: {money(rec.monthly_cost_usd)}/month for {len(rec.placements)} models")
    if explain:
        for p in rec.placements:
            out.print(f"\n[bold]{p.model}[/bold]: {p.chosen.cloud.value}/{p.chosen.region} {p.chosen.instance_type}"
                      f" ({p.candidates_considered} candidates considered)")
            for line in p.explanation:
                out.print(f"  • {line}")
            if p.alternatives:
                alt_rows = [(a.choice.cloud.value, a.choice.region, a.choice.instance_type,
                             a.choice.purchase.value.replace("_", "-"), a.choice.replicas,
                             money(a.choice.monthly_cost_usd), a.reason) for a in p.alternatives]
                out.print(table(None, ["  cloud", "region", "instance", "purchase", "replicas", "$/month", "why not"],
                                [("  " + str(r[0]), *r[1:]) for r in alt_rows], right=["replicas", "$/month"]))
