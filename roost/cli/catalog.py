from __future__ import annotations

import click

from placement.types import Cloud
from roost.cli.options import catalog_options, json_option, load_catalog_from
from roost.output import console, print_json, table


@click.group()
def catalog() -> None:
    """Inspect the instance catalog roost prices placements with."""


@catalog.command("show")
@click.option("--cloud", "clouds", multiple=True, type=click.Choice([c.value for c in Cloud]),
              help="Only this cloud (repeatable).")
@click.option("--region", "regions", multiple=True, help="Only this region (repeatable).")
@click.option("--accelerator", help="GPU name (e.g. L4, A100-80GB), 'any' for any GPU, 'none' for CPU only.")
@click.option("--max-price", type=click.FloatRange(min=0), help="Maximum on-demand $/hour.")
@json_option
@catalog_options
def show(clouds: tuple[str, ...], regions: tuple[str, ...], accelerator: str | None, max_price: float | None,
         as_json: bool, catalog_path: str | None, discounts: tuple[str, ...]) -> None:
    """List offerings with their prices, filtered."""
    cat = load_catalog_from(catalog_path, discounts)
    cat.validate_names(regions=regions, accelerators=[accelerator] if accelerator else [])
    rows = cat.filter(clouds=clouds or None, regions=regions or None, accelerator=accelerator, max_price=max_price)
    if as_json:
        print_json({
            "catalog_version": cat.version,
            "source": cat.source,
            "offerings": [{
                "cloud": o.cloud.value, "region": o.region, "instance_type": o.instance_type,
                "family": o.family, "vcpus": o.vcpus, "memory_gib": o.memory_gib, "arch": o.arch,
                "accelerator": o.accelerator, "accelerator_count": o.accelerator_count,
                "accelerator_memory_gib": o.accelerator_memory_gib, "guest_accelerator": o.guest_accelerator,
                "price_hour_usd": round(o.price_hour_usd, 5),
                "spot_price_hour_usd": None if o.spot_price_hour_usd is None else round(o.spot_price_hour_usd, 5),
                "spot_interruption_bucket": o.spot_interruption_bucket,
            } for o in rows],
        })
        return
    out = console()
    out.print(table(f"Catalog {cat.version} ({len(rows)} of {len(cat)} offerings)",
                    ["cloud", "region", "instance", "vCPU", "GiB", "gpu", "gpu GiB", "$/h", "spot $/h", "spot risk"],
                    [(o.cloud.value, o.region, o.display_type, o.vcpus, f"{o.memory_gib:g}",
                      f"{o.accelerator}×{o.accelerator_count:g}" if o.accelerator else "-",
                      f"{o.total_gpu_memory_gib:g}" if o.accelerator else "-",
                      f"{o.price_hour_usd:.4f}",
                      "-" if o.spot_price_hour_usd is None else f"{o.spot_price_hour_usd:.4f}",
                      o.spot_interruption_bucket or "-") for o in rows],
                    right=["vCPU", "GiB", "gpu GiB", "$/h", "spot $/h"]))
