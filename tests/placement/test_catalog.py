"""The bundled catalog and users' own catalogs: loading, filtering, discounts, bad files."""
from __future__ import annotations

import json

import pytest

from placement.catalog import load_catalog
from placement.errors import CatalogError
from placement.types import Cloud, Purchase


def test_bundled_catalog_covers_three_clouds_and_nine_regions(catalog):
    assert len(catalog) == 537
    assert {o.cloud for o in catalog} == set(Cloud)
    assert len(catalog.regions) == 9
    assert catalog.version.startswith("2026.08-")


def test_gcp_n1_gpus_are_real_machine_types_plus_guest_accelerators(catalog):
    n1_gpu = [o for o in catalog.filter(clouds=["gcp"], accelerator="T4")]
    assert n1_gpu, "GCP T4 offerings expected"
    for o in n1_gpu:
        assert "+" not in o.instance_type and o.instance_type.startswith("n1-")
        assert o.guest_accelerator == "nvidia-tesla-t4"
    g2 = catalog.find("gcp", "us-central1", "g2-standard-4")
    assert g2.accelerator == "L4" and g2.guest_accelerator is None  # G2 carries its GPU


def test_gpu_specs_are_joined(catalog):
    o = catalog.find("aws", "us-east-1", "g5.xlarge")
    assert o.gpu is not None and o.gpu.memory_bandwidth_gbps == 600 and o.accelerator_memory_gib == 24
    assert o.hourly_price(Purchase.SPOT) == o.spot_price_hour_usd


@pytest.mark.parametrize("kwargs,check", [
    ({"clouds": ["aws"]}, lambda o: o.cloud is Cloud.AWS),
    ({"regions": ["westeurope"]}, lambda o: o.region == "westeurope"),
    ({"accelerator": "none"}, lambda o: not o.has_gpu),
    ({"accelerator": "any"}, lambda o: o.has_gpu),
    ({"accelerator": "a100-80gb"}, lambda o: o.accelerator == "A100-80GB"),
    ({"max_price": 0.5}, lambda o: o.price_hour_usd <= 0.5),
])
def test_filters(catalog, kwargs, check):
    rows = catalog.filter(**kwargs)
    assert rows and all(check(o) for o in rows)
    assert len(rows) < len(catalog)


def test_discounts_scale_prices_and_change_the_version(catalog):
    disc = load_catalog(discounts={"aws": 20})
    base = catalog.find("aws", "us-east-1", "g5.xlarge")
    cut = disc.find("aws", "us-east-1", "g5.xlarge")
    assert cut.price_hour_usd == pytest.approx(base.price_hour_usd * 0.8)
    assert cut.spot_price_hour_usd == pytest.approx(base.spot_price_hour_usd * 0.8)
    gcp = catalog.find("gcp", "us-central1", "g2-standard-4")
    assert disc.find("gcp", "us-central1", "g2-standard-4").price_hour_usd == gcp.price_hour_usd
    assert disc.version != catalog.version
    with pytest.raises(CatalogError, match=r"must be in \[0, 100\)"):
        load_catalog(discounts={"aws": 120})


def test_user_csv_catalog(tmp_path):
    path = tmp_path / "negotiated.csv"
    path.write_text(
        "cloud,region,instance_type,vcpus,memory_gib,accelerator,accelerator_count,price_hour_usd,spot_price_hour_usd\n"
        "aws,ap-south-1,g5.xlarge,4,16,A10G,1,0.80,\n"
        "aws,ap-south-1,c6i.large,2,4,,,0.07,0.03\n")
    cat = load_catalog(path)
    assert len(cat) == 2 and cat.version.startswith("custom-")
    g5 = cat.find("aws", "ap-south-1", "g5.xlarge")
    assert g5.gpu is not None and g5.gpu.name == "A10G" and g5.spot_price_hour_usd is None


def test_user_json_catalog_roundtrip(tmp_path, project_root):
    doc = json.loads((project_root / "placement/data/catalog.json").read_text())
    doc["offerings"] = doc["offerings"][:5]
    doc["catalog_version"] = "acme-2026-11"
    path = tmp_path / "cat.json"
    path.write_text(json.dumps(doc))
    cat = load_catalog(path)
    assert cat.version == "acme-2026-11" and len(cat) == 5


@pytest.mark.parametrize("content,suffix,message", [
    ("cloud,region\naws,x\n", ".csv", "missing column(s) instance_type"),
    ("cloud,region,instance_type,vcpus,memory_gib,price_hour_usd\nibm,x,y,2,4,0.1\n", ".csv",
     "row 2.cloud: unknown cloud 'ibm'"),
    ("cloud,region,instance_type,vcpus,memory_gib,price_hour_usd,accelerator,accelerator_count\n"
     "aws,x,y,2,4,0.1,A100-90GB,1\n", ".csv", "unknown accelerator 'A100-90GB'"),
    ("cloud,region,instance_type,vcpus,memory_gib,price_hour_usd\naws,x,y,2,4,-1\n", ".csv", "must be > 0"),
    ("cloud,region,instance_type,vcpus,memory_gib,price_hour_usd\naws,x,y,two,4,1\n", ".csv", "non-numeric"),
    ("cloud,region,instance_type,vcpus,memory_gib,price_hour_usd\naws,x,y,2,4,1\naws,x,y,2,4,1\n", ".csv",
     "duplicate offering aws/x/y"),
    ('{"format": "something-else"}', ".json", "not a roost catalog"),
    ('{"format": "roost-catalog", "schema_version": 99, "offerings": []}', ".json", "schema_version 99"),
    ("{not json", ".json", "not valid JSON"),
])
def test_bad_catalog_files(tmp_path, content, suffix, message):
    path = tmp_path / f"cat{suffix}"
    path.write_text(content)
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_unknown_instance_type_suggests_the_closest(catalog):
    with pytest.raises(CatalogError, match=r'unknown instance type .g5.xlarg. in aws/us-east-1 \(did you mean "g5.xlarge"\?\)'):
        catalog.find("aws", "us-east-1", "g5.xlarg")
