"""The catalog of offerings: what each cloud sells where, and at what price.

Loaded explicitly (``load_catalog``), never at import, and passed down. The bundled
snapshot lives in ``placement/data/catalog.json``; users may point at their own file
(negotiated prices, more regions) in the same JSON format or as a CSV with the
offering columns (GPU figures are then joined from the bundled GPU table).

Query semantics of ``Catalog.filter`` (every argument optional, all combine with AND):

    clouds        offering.cloud in clouds
    regions       offering.region in regions
    accelerator   "none" → CPU only; "any" → any GPU; a name (case-insensitive) → that GPU
    max_price     on-demand hourly price ≤ max_price
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

from placement.errors import CatalogError, did_you_mean
from placement.types import Cloud, GpuSpec, Offering

CATALOG_FORMAT = "roost-catalog"
CATALOG_SCHEMA_VERSION = 1
BUNDLED = "bundled"

# Names end up in cloud API calls and resource names: letters, digits and a few separators only.
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$")
_REQUIRED = ("cloud", "region", "instance_type", "vcpus", "memory_gib", "price_hour_usd")


@dataclass(frozen=True)
class Catalog:
    version: str
    offerings: tuple[Offering, ...]
    gpus: Mapping[str, GpuSpec]
    source: str = BUNDLED

    def __iter__(self) -> Iterator[Offering]:
        return iter(self.offerings)

    def __len__(self) -> int:
        return len(self.offerings)

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(sorted({o.region for o in self.offerings}))

    @property
    def accelerators(self) -> tuple[str, ...]:
        return tuple(sorted({o.accelerator for o in self.offerings if o.accelerator}))

    def filter(
        self,
        *,
        clouds: Iterable[Cloud | str] | None = None,
        regions: Iterable[str] | None = None,
        accelerator: str | None = None,
        max_price: float | None = None,
    ) -> tuple[Offering, ...]:
        cloud_set = {Cloud(c) for c in clouds} if clouds else None
        region_set = set(regions) if regions else None
        wanted_gpu = accelerator.lower() if accelerator else None
        out = []
        for o in self.offerings:
            if cloud_set is not None and o.cloud not in cloud_set:
                continue
            if region_set is not None and o.region not in region_set:
                continue
            if wanted_gpu == "none" and o.has_gpu:
                continue
            if wanted_gpu == "any" and not o.has_gpu:
                continue
            if wanted_gpu not in (None, "none", "any") and (o.accelerator or "").lower() != wanted_gpu:
                continue
            if max_price is not None and o.price_hour_usd > max_price:
                continue
            out.append(o)
        return tuple(out)

    def find(self, cloud: Cloud | str, region: str, instance_type: str,
             accelerator: str | None = None) -> Offering:
        """The offering with this name, or a CatalogError that suggests the closest name."""
        cloud = Cloud(cloud)
        names = []
        for o in self.offerings:
            if o.cloud is cloud and o.region == region:
                names.append(o.instance_type)
                if o.instance_type == instance_type and (accelerator is None or o.accelerator == accelerator):
                    return o
        hint = did_you_mean(instance_type, names)
        raise CatalogError(f"unknown instance type {instance_type!r} in {cloud}/{region}{hint}")

    def validate_names(self, *, regions: Iterable[str] = (), accelerators: Iterable[str] = ()) -> None:
        for region in regions:
            if region not in self.regions:
                raise CatalogError(f"unknown region {region!r}{did_you_mean(region, self.regions)}")
        for gpu in accelerators:
            if gpu.lower() not in {"none", "any"} | {a.lower() for a in self.accelerators}:
                raise CatalogError(f"unknown accelerator {gpu!r}{did_you_mean(gpu, self.accelerators)}")

    def with_discounts(self, discounts: Mapping[Cloud | str, float]) -> Catalog:
        """Apply per-cloud discount percentages (e.g. an EDP or committed-use rate) to all prices.

        The version id changes with the discounts, so decisions record what they were priced at.
        """
        if not discounts:
            return self
        factors: dict[Cloud, float] = {}
        for cloud, pct in discounts.items():
            if not 0 <= pct < 100:
                raise CatalogError(f"discount for {cloud} must be in [0, 100), got {pct}")
            factors[Cloud(cloud)] = 1 - pct / 100
        offerings = tuple(
            replace(
                o,
                price_hour_usd=o.price_hour_usd * factors.get(o.cloud, 1.0),
                spot_price_hour_usd=None if o.spot_price_hour_usd is None
                else o.spot_price_hour_usd * factors.get(o.cloud, 1.0),
            )
            for o in self.offerings
        )
        tag = ",".join(f"{c}-{(1 - f) * 100:g}" for c, f in sorted(factors.items()))
        return Catalog(version=f"{self.version}+disc({tag})", offerings=offerings, gpus=self.gpus,
                       source=self.source)


def load_catalog(path: str | Path | None = None, *, discounts: Mapping[Cloud | str, float] | None = None) -> Catalog:
    """Load the bundled catalog (``path=None``) or a user's JSON/CSV catalog file."""
    bundled_gpus = _parse_gpus(_bundled_document()["gpus"], "bundled catalog")
    if path is None:
        catalog = _from_document(_bundled_document(), BUNDLED, bundled_gpus)
    else:
        p = Path(path)
        if not p.is_file():
            raise CatalogError(f"{p}: catalog file not found")
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise CatalogError(f"{p}: not a catalog: not UTF-8 text (byte {exc.start}); is it a binary file?") from None
        except OSError as exc:
            raise CatalogError(f"{p}: cannot read the catalog: {exc.strerror or exc}") from None
        if p.suffix.lower() == ".csv":
            catalog = _from_csv(text, str(p), bundled_gpus)
        else:
            try:
                doc = json.loads(text)
            except json.JSONDecodeError as exc:
                raise CatalogError(f"{p}: line {exc.lineno}: not valid JSON: {exc.msg}") from None
            except RecursionError:
                raise CatalogError(f"{p}: not a roost catalog: nested too deeply") from None
            catalog = _from_document(doc, str(p), bundled_gpus)
    return catalog.with_discounts(discounts or {})


def _bundled_document() -> dict:
    text = resources.files("placement").joinpath("data/catalog.json").read_text()
    return json.loads(text)


def _parse_gpus(raw: Mapping, where: str) -> dict[str, GpuSpec]:
    if not isinstance(raw, Mapping):
        raise CatalogError(f"{where}: \"gpus\" must be an object of GPU name → specs")
    gpus = {}
    for name, spec in raw.items():
        try:
            gpus[name] = GpuSpec(
                name=name,
                memory_gib=float(spec["memory_gib"]),
                memory_bandwidth_gbps=float(spec["memory_bandwidth_gbps"]),
                fp16_tflops=float(spec["fp16_tflops"]),
                fp32_tflops=float(spec["fp32_tflops"]),
                int8_tops=None if spec.get("int8_tops") is None else float(spec["int8_tops"]),
                tdp_watts=spec.get("tdp_watts"),
                architecture=spec.get("architecture", ""),
                launch_year=spec.get("launch_year"),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CatalogError(f"{where}: gpus.{name}: missing or invalid field {exc}") from None
        spec_numbers = (gpus[name].memory_gib, gpus[name].memory_bandwidth_gbps, gpus[name].fp16_tflops,
                        gpus[name].fp32_tflops)
        if not all(math.isfinite(x) and x > 0 for x in spec_numbers):
            raise CatalogError(f"{where}: gpus.{name}: memory, bandwidth and TFLOPS must be finite numbers > 0")
    return gpus


def _from_document(doc: object, where: str, bundled_gpus: dict[str, GpuSpec]) -> Catalog:
    if not isinstance(doc, dict) or doc.get("format") != CATALOG_FORMAT:
        raise CatalogError(f"{where}: not a roost catalog (expected \"format\": \"{CATALOG_FORMAT}\")")
    schema = doc.get("schema_version")
    if schema != CATALOG_SCHEMA_VERSION:
        raise CatalogError(
            f"{where}: catalog schema_version {schema!r} is not supported by this roost "
            f"(supports {CATALOG_SCHEMA_VERSION}); upgrade roost or convert the file")
    gpus = {**bundled_gpus, **_parse_gpus(doc.get("gpus", {}), where)}
    rows = doc.get("offerings")
    if not isinstance(rows, list) or not rows:
        raise CatalogError(f"{where}: \"offerings\" must be a non-empty list")
    offerings = tuple(_offering(row, f"{where}: offerings[{i}]", gpus) for i, row in enumerate(rows))
    version = doc.get("catalog_version") or _content_version(offerings)
    return Catalog(version=str(version), offerings=_unique(offerings, where), gpus=gpus, source=where)


def _from_csv(text: str, where: str, gpus: dict[str, GpuSpec]) -> Catalog:
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in _REQUIRED if c not in (reader.fieldnames or [])]
    if missing:
        raise CatalogError(f"{where}: missing column(s) {', '.join(missing)}")
    offerings = tuple(
        _offering({k: (v if v != "" else None) for k, v in row.items()}, f"{where}: row {i + 2}", gpus)
        for i, row in enumerate(reader)
    )
    if not offerings:
        raise CatalogError(f"{where}: no offerings")
    return Catalog(version=_content_version(offerings), offerings=_unique(offerings, where), gpus=gpus,
                   source=where)


def _offering(row: Mapping, where: str, gpus: Mapping[str, GpuSpec]) -> Offering:
    if not isinstance(row, Mapping):
        raise CatalogError(f"{where}: must be an object with {', '.join(_REQUIRED)}")
    for key in _REQUIRED:
        if row.get(key) in (None, ""):
            raise CatalogError(f"{where}: missing {key}")
    try:
        cloud = Cloud(str(row["cloud"]).strip())
    except ValueError:
        raise CatalogError(f"{where}.cloud: unknown cloud {row['cloud']!r}"
                           f"{did_you_mean(str(row['cloud']), [c.value for c in Cloud])}") from None
    for key in ("region", "instance_type", "guest_accelerator", "accelerator"):
        value = row.get(key)
        if value not in (None, "") and not (isinstance(value, str) and NAME.match(value)):
            raise CatalogError(f"{where}.{key}: {value!r} is not a name (letters, digits, '.', '_', '+', '-')")
    accel = row.get("accelerator") or None
    try:
        count = float(row.get("accelerator_count") or 0) if accel else 0.0
        price = float(row["price_hour_usd"])
        spot = row.get("spot_price_hour_usd")
        spot = None if spot in (None, "") else float(spot)
        vcpus = int(float(row["vcpus"]))
        memory = float(row["memory_gib"])
    except (TypeError, ValueError, OverflowError) as exc:
        raise CatalogError(f"{where}: non-numeric value ({exc})") from None
    numbers = (price, memory, count) if spot is None else (price, memory, count, spot)
    if not all(math.isfinite(x) for x in numbers):
        raise CatalogError(f"{where}: prices, memory_gib and accelerator_count must be finite numbers")
    if price <= 0 or (spot is not None and spot <= 0) or vcpus <= 0 or memory <= 0:
        raise CatalogError(f"{where}: prices, vcpus and memory_gib must be > 0")
    gpu = None
    if accel:
        if accel not in gpus:
            raise CatalogError(f"{where}.accelerator: unknown accelerator {accel!r}"
                               f"{did_you_mean(accel, gpus)}; add it under \"gpus\"")
        if count <= 0:
            raise CatalogError(f"{where}.accelerator_count: must be > 0 when accelerator is set")
        gpu = gpus[accel]
    return Offering(
        cloud=cloud,
        region=str(row["region"]),
        instance_type=str(row["instance_type"]),
        family=str(row.get("family") or str(row["instance_type"]).split(".")[0]),
        vcpus=vcpus,
        memory_gib=memory,
        arch=str(row.get("arch") or "x86_64"),
        price_hour_usd=price,
        spot_price_hour_usd=spot,
        accelerator=accel,
        accelerator_count=count,
        accelerator_memory_gib=gpu.memory_gib if gpu else 0.0,
        gpu=gpu,
        guest_accelerator=row.get("guest_accelerator") or None,
        spot_interruption_bucket=row.get("spot_interruption_bucket") or None,
    )


def _unique(offerings: tuple[Offering, ...], where: str) -> tuple[Offering, ...]:
    seen: set[str] = set()
    for o in offerings:
        if o.offering_id in seen:
            raise CatalogError(f"{where}: duplicate offering {o.offering_id}")
        seen.add(o.offering_id)
    return offerings


def _content_version(offerings: tuple[Offering, ...]) -> str:
    digest = hashlib.sha256(repr(offerings).encode()).hexdigest()[:8]
    return f"custom-{digest}"
