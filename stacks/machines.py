"""Facts about machine types that the program needs and the plan does not carry.

Pure lookups from an instance type name: CPU architecture, how GPUs are attached, which
image family has the right drivers, which sibling types may stand in for capacity, and how
big the root disk must be. Sources are the cloud docs summarised in docs/stacks.md.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum

from placement.errors import InputError
from placement.types import Cloud

X86_64 = "x86_64"
ARM64 = "arm64"

# --- architecture ---------------------------------------------------------------------------------

_AWS_FAMILY = re.compile(r"^(?P<series>[a-z]+)(?P<gen>\d+)(?P<attrs>[a-z-]*)$")
_AZURE_SIZE = re.compile(r"^Standard_(?P<family>[A-Z]+)(?P<vcpus>\d+)(?P<attrs>[a-z]*)(?P<rest>_.*)?$")
# GCP Arm series: Ampere (T2A) and Google Axion (C4A, N4A).
_GCP_ARM_SERIES = frozenset({"t2a", "c4a", "n4a"})


def aws_family(instance_type: str) -> str:
    return instance_type.split(".", 1)[0]


def gcp_series(machine_type: str) -> str:
    return machine_type.split("-", 1)[0]


def arch_of(cloud: Cloud, instance_type: str) -> str:
    """CPU architecture from the type name: AWS Graviton has a ``g`` after the generation
    digit (``c7g``, ``g5g``, ``im4gn``), Azure Arm sizes carry a ``p`` feature letter
    (``D2ps_v5``), GCP Arm is a handful of series."""
    if cloud is Cloud.AWS:
        m = _AWS_FAMILY.match(aws_family(instance_type))
        return ARM64 if m and "g" in m.group("attrs") else X86_64
    if cloud is Cloud.GCP:
        return ARM64 if gcp_series(instance_type) in _GCP_ARM_SERIES else X86_64
    m = _AZURE_SIZE.match(instance_type)
    return ARM64 if m and "p" in m.group("attrs") else X86_64


# --- AWS ------------------------------------------------------------------------------------------

# Families whose GPUs need NVIDIA's proprietary driver: not on the OSS-driver DLAMI's support list.
_AWS_PROPRIETARY_DRIVER_FAMILIES = frozenset({"p3", "p3dn", "g3", "g3s"})


def aws_image_kind(instance_type: str, has_gpu: bool) -> str:
    """Key into the AMI table and into ``roost:aws.amiOverrides``."""
    arch = arch_of(Cloud.AWS, instance_type)
    if not has_gpu:
        return f"cpu-{arch}"
    if aws_family(instance_type) in _AWS_PROPRIETARY_DRIVER_FAMILIES:
        return "gpu-legacy-x86_64"
    return f"gpu-{arch}"


# Public SSM parameters (AWS-maintained) that always point at the latest AMI of each kind.
# All Amazon Linux, so the root device is /dev/xvda for every one of them.
AWS_AMI_PARAMETERS: dict[str, str] = {
    "cpu-x86_64": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
    "cpu-arm64": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64",
    "gpu-x86_64": "/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-amazon-linux-2023/latest/ami-id",
    "gpu-arm64": "/aws/service/deeplearning/ami/arm64/base-oss-nvidia-driver-gpu-amazon-linux-2023/latest/ami-id",
    # Derived from the DLAMI parameter naming rule for "Base Proprietary Nvidia Driver AMI (Amazon Linux 2)".
    "gpu-legacy-x86_64":
        "/aws/service/deeplearning/ami/x86_64/base-proprietary-nvidia-driver-amazon-linux-2/latest/ami-id",
}

# Sizes that every family of a sibling group below offers (no medium/metal: not universal).
_COMMON_SIZES = frozenset({"large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge"})
# Same vCPU and memory per size within a group; newer or equal generation.
_AWS_CPU_SIBLINGS: tuple[tuple[str, ...], ...] = (
    ("c7g", "c6g", "c7gd", "c8g"),
    ("m7g", "m6g", "m7gd", "m8g"),
    ("r7g", "r6g", "r7gd", "r8g"),
    ("c7i", "c6i", "c7a", "c6a"),
    ("m7i", "m6i", "m7a", "m6a", "m8i"),
    ("r7i", "r6i", "r7a", "r6a"),
)
# GPU families: sizes in ascending order with their GPU count; a larger size with the same
# GPUs is a drop-in for capacity (more CPU and memory, same accelerator).
_AWS_GPU_SIZES: dict[str, tuple[tuple[str, int], ...]] = {
    "g4dn": (("xlarge", 1), ("2xlarge", 1), ("4xlarge", 1), ("8xlarge", 1), ("16xlarge", 1),
             ("12xlarge", 4), ("metal", 8)),
    "g5": (("xlarge", 1), ("2xlarge", 1), ("4xlarge", 1), ("8xlarge", 1), ("16xlarge", 1),
           ("12xlarge", 4), ("24xlarge", 4), ("48xlarge", 8)),
    "g6": (("xlarge", 1), ("2xlarge", 1), ("4xlarge", 1), ("8xlarge", 1), ("16xlarge", 1),
           ("12xlarge", 4), ("24xlarge", 4), ("48xlarge", 8)),
    "g6e": (("xlarge", 1), ("2xlarge", 1), ("4xlarge", 1), ("8xlarge", 1), ("16xlarge", 1),
            ("12xlarge", 4), ("24xlarge", 4), ("48xlarge", 8)),
    "g5g": (("xlarge", 1), ("2xlarge", 1), ("4xlarge", 1), ("8xlarge", 1), ("16xlarge", 2), ("metal", 2)),
    "gr6": (("4xlarge", 1), ("8xlarge", 1)),
}
MAX_OVERRIDES = 4


def aws_equivalent_types(instance_type: str) -> tuple[str, ...]:
    """The planned type first, then up to three types that serve the model at least as well.

    More instance types means more Spot capacity pools (AWS's advice for spot fleets);
    with the ``prioritized`` on-demand strategy the planned type is still used first."""
    family, _, size = instance_type.partition(".")
    out = [instance_type]
    if family in _AWS_GPU_SIZES:
        sizes = _AWS_GPU_SIZES[family]
        gpus = dict(sizes).get(size)
        if gpus is not None:
            names = [s for s, _ in sizes]
            for s, count in sizes[names.index(size) + 1:]:
                if count == gpus:
                    out.append(f"{family}.{s}")
    elif size in _COMMON_SIZES:
        for group in _AWS_CPU_SIBLINGS:
            if family in group:
                out.extend(f"{f}.{size}" for f in group if f != family)
    return tuple(out[:MAX_OVERRIDES])


# --- GCP ------------------------------------------------------------------------------------------

# Series whose machine types carry their GPUs (L4, A100, H100, H200, B200, RTX PRO 6000).
GCP_BUILTIN_GPU_SERIES = frozenset({"g2", "g4", "a2", "a3", "a4", "a4x"})


@dataclass(frozen=True)
class GuestAccelerator:
    type: str
    count: int


def gcp_guest_accelerator(machine_type: str, guest_accelerator: str | None,
                          accelerator_count: float) -> GuestAccelerator | None:
    """What to list under ``guest_accelerators``: only N1 attaches GPUs; built-in series get
    None (an empty or mismatched list makes a perpetual diff)."""
    series = gcp_series(machine_type)
    if guest_accelerator is None:
        return None
    if series != "n1":
        raise InputError(f"GCP machine type {machine_type}: guest accelerator {guest_accelerator!r} can only be "
                         "attached to N1 machine types; G2/A2/A3/G4 carry their GPUs")
    if accelerator_count < 1 or not float(accelerator_count).is_integer():
        raise InputError(f"GCP machine type {machine_type}: guest accelerator count must be a whole number ≥ 1, "
                         f"got {accelerator_count:g}")
    return GuestAccelerator(type=guest_accelerator, count=int(accelerator_count))


GCP_DLVM_PROJECT = "deeplearning-platform-release"
# Image families resolved by GCP when the template is created (overridable: families age).
GCP_IMAGES: dict[str, str] = {
    "cpu-x86_64": "projects/debian-cloud/global/images/family/debian-12",
    "cpu-arm64": "projects/debian-cloud/global/images/family/debian-12-arm64",
    "gpu-x86_64": f"projects/{GCP_DLVM_PROJECT}/global/images/family/common-cu128-ubuntu-2204-nvidia-570",
}


# Newer series boot only from Hyperdisk; the rest take Persistent Disk.
_GCP_HYPERDISK_ONLY_SERIES = frozenset({"c4", "c4a", "c4d", "n4", "n4a", "n4d", "g4", "a4", "a4x", "x4", "m4", "h4d"})


def gcp_boot_disk_type(machine_type: str) -> str:
    if gcp_series(machine_type) in _GCP_HYPERDISK_ONLY_SERIES or machine_type.startswith("a3-ultragpu"):
        return "hyperdisk-balanced"
    return "pd-balanced"


# Proxy-only subnets (for regional internal Application Load Balancers) must not overlap
# each other or the auto-mode range 10.128.0.0/9, so each region gets a fixed /23 slot in
# 10.127.0.0/16 by its position here. Append new regions; never reorder.
GCP_PROXY_ONLY_BASE = "10.127.0.0/16"
GCP_REGIONS = (
    "us-central1", "us-east1", "us-east4", "us-east5", "us-south1", "us-west1", "us-west2", "us-west3", "us-west4",
    "northamerica-northeast1", "northamerica-northeast2", "northamerica-south1", "southamerica-east1",
    "southamerica-west1", "europe-central2", "europe-north1", "europe-north2", "europe-southwest1", "europe-west1",
    "europe-west2", "europe-west3", "europe-west4", "europe-west6", "europe-west8", "europe-west9", "europe-west10",
    "europe-west12", "me-central1", "me-central2", "me-west1", "africa-south1", "asia-east1", "asia-east2",
    "asia-northeast1", "asia-northeast2", "asia-northeast3", "asia-south1", "asia-south2", "asia-southeast1",
    "asia-southeast2", "australia-southeast1", "australia-southeast2",
)


def gcp_proxy_only_cidr(region: str) -> str | None:
    """The default proxy-only subnet range of a region (None for a region not in the table)."""
    import ipaddress

    if region not in GCP_REGIONS:
        return None
    slots = ipaddress.ip_network(GCP_PROXY_ONLY_BASE).subnets(new_prefix=23)
    for i, net in enumerate(slots):
        if i == GCP_REGIONS.index(region):
            return str(net)
    return None


def gcp_image_kind(machine_type: str, has_gpu: bool) -> str:
    arch = arch_of(Cloud.GCP, machine_type)
    return f"{'gpu' if has_gpu else 'cpu'}-{arch}"


# --- Azure ----------------------------------------------------------------------------------------


class AzureGpuSetup(StrEnum):
    NONE = "none"                  # CPU size
    DRIVER_EXTENSION = "driver-extension"   # NVIDIA GPU Driver Extension installs CUDA or GRID
    HPC_IMAGE = "hpc-image"        # H100/H200/ND sizes: not covered by the extension; HPC image has drivers
    CONFIDENTIAL = "confidential"  # NCC H100: confidential VM, needs a CVM image


def azure_gpu_setup(size: str, has_gpu: bool) -> AzureGpuSetup:
    if not has_gpu:
        return AzureGpuSetup.NONE
    m = _AZURE_SIZE.match(size)
    family = m.group("family") if m else ""
    rest = (m.group("rest") or "") if m else ""
    if family == "NCC":
        return AzureGpuSetup.CONFIDENTIAL
    if family == "ND" or "H100" in rest or "H200" in rest:
        return AzureGpuSetup.HPC_IMAGE
    return AzureGpuSetup.DRIVER_EXTENSION


def azure_trusted_launch(size: str) -> bool:
    """Whether a size runs Trusted Launch (Secure Boot + vTPM on a Gen2 VM).

    Conservative: Gen1-only series (A, Dv2/Dv3/Ev3 without premium storage, F v1), Arm64
    sizes, and series roost cannot vouch for (G, H, M, ND, NV before v5) run without it.
    Confidential sizes use their own security type."""
    m = _AZURE_SIZE.match(size)
    if not m or azure_gpu_setup(size, True) is AzureGpuSetup.CONFIDENTIAL:
        return False
    family, attrs, rest = m.group("family"), m.group("attrs"), m.group("rest") or ""
    version_match = re.search(r"_v(\d+)$", rest)
    version = int(version_match.group(1)) if version_match else 1
    if "p" in attrs:  # Arm64
        return False
    if family in ("B", "D", "DS", "E", "F", "FS", "L", "LS"):
        return version >= 4 or "s" in attrs or family.endswith("S")
    if family in ("NC", "NV"):
        return version >= (3 if family == "NC" else 5)
    return False


@dataclass(frozen=True)
class AzureImage:
    publisher: str
    offer: str
    sku: str
    version: str = "latest"

    @classmethod
    def parse(cls, urn: str) -> AzureImage:
        """``publisher:offer:sku[:version]`` (the form `az vm image list` prints)."""
        parts = urn.split(":")
        if len(parts) not in (3, 4) or not all(parts):
            raise InputError(f"Azure image {urn!r}: expected publisher:offer:sku[:version]")
        return cls(*parts)


AZURE_IMAGES: dict[str, AzureImage] = {
    "cpu-x86_64": AzureImage("Canonical", "ubuntu-24_04-lts", "server"),
    "cpu-arm64": AzureImage("Canonical", "ubuntu-24_04-lts", "server-arm64"),
    # The driver extension's GRID builds support Ubuntu 22.04/24.04; 22.04 Gen2 covers CUDA sizes too.
    "gpu-driver-extension": AzureImage("Canonical", "0001-com-ubuntu-server-jammy", "22_04-lts-gen2"),
    "gpu-hpc-image": AzureImage("microsoft-dsvm", "ubuntu-hpc", "2204"),
    "gpu-confidential": AzureImage("Canonical", "0001-com-ubuntu-confidential-vm-jammy", "22_04-lts-cvm"),
}


def azure_image_kind(size: str, has_gpu: bool) -> str:
    setup = azure_gpu_setup(size, has_gpu)
    if setup is AzureGpuSetup.NONE:
        return f"cpu-{arch_of(Cloud.AZURE, size)}"
    return f"gpu-{setup.value}"


# --- disks ----------------------------------------------------------------------------------------

# The DLAMI / DLVM / HPC images ship tens of GiB of CUDA; plain OS images are small.
GPU_IMAGE_BASE_GIB = 100
CPU_IMAGE_BASE_GIB = 30


def root_disk_gib(model_memory_gib: float, has_gpu: bool) -> int:
    """Room for the OS image, the serving container and two copies of the weights (the
    download cache and the unpacked copy), rounded up to 10 GiB."""
    base = GPU_IMAGE_BASE_GIB if has_gpu else CPU_IMAGE_BASE_GIB
    size = base + 20 + 2 * max(0.0, model_memory_gib)
    return int(math.ceil(size / 10.0) * 10)
