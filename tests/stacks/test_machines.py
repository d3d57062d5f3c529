"""Machine facts: architecture, GPU attachment, images, substitutes, disk sizes."""
from __future__ import annotations

import pytest

from placement.errors import InputError
from placement.types import Cloud
from stacks import machines
from stacks.machines import AzureGpuSetup


def test_architecture_from_the_type_name_matches_the_catalog(catalog):
    wrong = [(o.cloud.value, o.instance_type, o.arch) for o in catalog
             if machines.arch_of(o.cloud, o.instance_type) != o.arch]
    assert not wrong


@pytest.mark.parametrize(("cloud", "itype", "arch"), [
    (Cloud.AWS, "im4gn.large", "arm64"), (Cloud.AWS, "g4ad.xlarge", "x86_64"), (Cloud.AWS, "m7i-flex.large", "x86_64"),
    (Cloud.AWS, "p6-b200.48xlarge", "x86_64"), (Cloud.GCP, "t2a-standard-4", "arm64"),
    (Cloud.AZURE, "Standard_E4ps_v5", "arm64"), (Cloud.AZURE, "Standard_NC24ads_A100_v4", "x86_64"),
])
def test_architecture_of_types_outside_the_catalog(cloud, itype, arch):
    assert machines.arch_of(cloud, itype) == arch


def test_gcp_attaches_gpus_only_to_n1():
    assert machines.gcp_guest_accelerator("n1-standard-8", "nvidia-tesla-t4", 1) == \
        machines.GuestAccelerator("nvidia-tesla-t4", 1)
    assert machines.gcp_guest_accelerator("g2-standard-24", None, 2) is None  # built in
    assert machines.gcp_guest_accelerator("a3-highgpu-8g", None, 8) is None
    with pytest.raises(InputError, match="can only be attached to N1"):
        machines.gcp_guest_accelerator("g2-standard-8", "nvidia-l4", 1)
    with pytest.raises(InputError, match="whole number"):
        machines.gcp_guest_accelerator("n1-standard-8", "nvidia-tesla-t4", 0.5)


def test_every_gcp_gpu_offering_in_the_catalog_gets_a_consistent_attachment(catalog):
    for o in catalog.filter(clouds=[Cloud.GCP], accelerator="any"):
        guest = machines.gcp_guest_accelerator(o.instance_type, o.guest_accelerator, o.accelerator_count)
        if machines.gcp_series(o.instance_type) == "n1":
            assert guest is not None and guest.count == o.accelerator_count
        else:
            assert guest is None and machines.gcp_series(o.instance_type) in machines.GCP_BUILTIN_GPU_SERIES


@pytest.mark.parametrize(("itype", "gpu", "kind"), [
    ("c7g.large", False, "cpu-arm64"), ("m7i.large", False, "cpu-x86_64"), ("g5.xlarge", True, "gpu-x86_64"),
    ("g5g.xlarge", True, "gpu-arm64"), ("p3.2xlarge", True, "gpu-legacy-x86_64"),
])
def test_aws_image_kind_and_public_ssm_parameter(itype, gpu, kind):
    assert machines.aws_image_kind(itype, gpu) == kind
    param = machines.AWS_AMI_PARAMETERS[kind]
    assert param.startswith("/aws/service/")
    assert ("arm64" in param) == kind.endswith("arm64")
    assert ("deeplearning" in param) == gpu


def test_every_aws_offering_has_an_ami_parameter(catalog):
    for o in catalog.filter(clouds=[Cloud.AWS]):
        assert machines.aws_image_kind(o.instance_type, o.has_gpu) in machines.AWS_AMI_PARAMETERS


def test_aws_substitutes_keep_the_gpu_and_the_architecture():
    types = machines.aws_equivalent_types("g5.xlarge")
    assert types[0] == "g5.xlarge" and len(types) == machines.MAX_OVERRIDES
    assert all(t.startswith("g5.") for t in types)
    assert "g5.12xlarge" not in types  # four GPUs is not the same machine
    cpu = machines.aws_equivalent_types("c7g.large")
    assert cpu[0] == "c7g.large" and all(machines.arch_of(Cloud.AWS, t) == "arm64" for t in cpu)
    assert all(t.endswith(".large") for t in cpu)
    assert machines.aws_equivalent_types("p4de.24xlarge") == ("p4de.24xlarge",)
    assert machines.aws_equivalent_types("c7g.medium") == ("c7g.medium",)


@pytest.mark.parametrize(("size", "setup"), [
    ("Standard_D4s_v5", AzureGpuSetup.NONE), ("Standard_NC4as_T4_v3", AzureGpuSetup.DRIVER_EXTENSION),
    ("Standard_NV6ads_A10_v5", AzureGpuSetup.DRIVER_EXTENSION), ("Standard_NC40ads_H100_v5", AzureGpuSetup.HPC_IMAGE),
    ("Standard_ND96asr_v4", AzureGpuSetup.HPC_IMAGE), ("Standard_NCC40ads_H100_v5", AzureGpuSetup.CONFIDENTIAL),
])
def test_azure_gpu_setup(size, setup):
    assert machines.azure_gpu_setup(size, setup is not AzureGpuSetup.NONE) is setup
    assert machines.azure_image_kind(size, setup is not AzureGpuSetup.NONE) in machines.AZURE_IMAGES


def test_azure_image_override_format():
    assert machines.AzureImage.parse("Canonical:ubuntu-24_04-lts:server:latest").sku == "server"
    with pytest.raises(InputError, match="publisher:offer:sku"):
        machines.AzureImage.parse("just-a-name")


def test_root_disk_grows_with_the_model_and_gpu_images_start_bigger():
    assert machines.root_disk_gib(1, False) < machines.root_disk_gib(1, True)
    assert machines.root_disk_gib(104.6, True) >= 100 + 2 * 104.6
    assert machines.root_disk_gib(3, False) % 10 == 0


def test_gcp_boot_disk_type_follows_the_series():
    assert machines.gcp_boot_disk_type("c4a-standard-4") == "hyperdisk-balanced"
    assert machines.gcp_boot_disk_type("g2-standard-8") == "pd-balanced"


def test_gcp_proxy_only_ranges_are_distinct_and_outside_the_auto_mode_range():
    import ipaddress

    nets = [ipaddress.ip_network(machines.gcp_proxy_only_cidr(r)) for r in machines.GCP_REGIONS]
    assert len(set(nets)) == len(nets)
    auto_mode = ipaddress.ip_network("10.128.0.0/9")
    assert all(n.prefixlen == 23 and not n.overlaps(auto_mode) for n in nets)
    assert machines.gcp_proxy_only_cidr("mars-north1") is None
