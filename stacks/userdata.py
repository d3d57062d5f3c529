"""The boot script every replica runs, rendered from ``templates/cloud-init/serve.sh.j2``.

jinja2 with StrictUndefined (a missing value is an error, not an empty string) and
``finalize=shell_quote``: every ``{{ }}`` expression comes out as exactly one inert shell
word, whatever it contains. Secret *values* never reach this module, only where to fetch
them at boot.
"""
from __future__ import annotations

import functools
import re
import shlex
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from placement.errors import InputError
from placement.types import Cloud
from stacks import naming
from stacks.fleet_args import FleetArgs

# `templates` is shipped as a package so this resolves in editable and regular installs alike.
TEMPLATES_DIR = Path(str(resources.files("templates")))
BOOT_TEMPLATE = "cloud-init/serve.sh.j2"

_ECR_HOST = re.compile(r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")
_GCP_REGISTRY_HOST = re.compile(r"^([a-z0-9-]+-docker\.pkg\.dev|([a-z]+\.)?gcr\.io)$")


def shell_quote(value: Any) -> str:
    if value is None:
        raise InputError("boot script: a value is None; every template value must be set")
    if isinstance(value, bool):
        raise InputError("boot script: booleans must be rendered as explicit strings")
    return shlex.quote(str(value))


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        finalize=shell_quote,
        keep_trailing_newline=True,
    )


@dataclass(frozen=True)
class SecretFetch:
    env_var: str
    ref: str    # AWS: secret name or ARN; GCP: projects/P/secrets/S; Azure: vault URI
    key: str    # Azure: secret name in the vault; elsewhere unused


def registry_of(image: str) -> tuple[str, str]:
    """(kind, host) of an image reference: ``ecr``/``artifact-registry`` get a login at boot
    with the instance's identity; anything else is pulled anonymously."""
    first, sep, _ = image.partition("/")
    if not sep or not ("." in first or ":" in first or first == "localhost"):
        return "", ""
    host = first.split("@", 1)[0]
    if _ECR_HOST.match(host):
        return "ecr", host
    if _GCP_REGISTRY_HOST.match(host):
        return "artifact-registry", host
    return "", host


@dataclass(frozen=True)
class EcrRepository:
    partition: str
    region: str
    account: str
    name: str

    @property
    def arn(self) -> str:
        return f"arn:{self.partition}:ecr:{self.region}:{self.account}:repository/{self.name}"


@dataclass(frozen=True)
class ArtifactRepository:
    project: str
    location: str
    name: str


_GCR_LOCATIONS = {"gcr.io": "us", "us.gcr.io": "us", "eu.gcr.io": "europe", "asia.gcr.io": "asia"}


def _path_of(image: str) -> list[str]:
    """The repository path of an image reference, without registry host, tag or digest."""
    path = image.split("/", 1)[1] if "/" in image else ""
    path = path.split("@", 1)[0]
    last = path.rsplit("/", 1)
    last[-1] = last[-1].split(":", 1)[0]
    return [p for p in "/".join(last).split("/") if p]


def ecr_repository(image: str) -> EcrRepository | None:
    """The ECR repository an image is pulled from, so the role may read that one repository."""
    kind, host = registry_of(image)
    path = _path_of(image)
    if kind != "ecr" or not path:
        return None
    account, _, _, region, *_ = host.split(".")
    return EcrRepository("aws-cn" if host.endswith(".cn") else "aws", region, account, "/".join(path))


def artifact_repository(image: str) -> ArtifactRepository | None:
    """The Artifact Registry repository (gcr.io hosts are served by one per multi-region)."""
    kind, host = registry_of(image)
    path = _path_of(image)
    if kind != "artifact-registry":
        return None
    if host in _GCR_LOCATIONS:
        return ArtifactRepository(path[0], _GCR_LOCATIONS[host], host) if path else None
    if len(path) < 2:
        return None
    return ArtifactRepository(path[0], host.removesuffix("-docker.pkg.dev"), path[1])


def vault_uri(vault_name: str) -> str:
    return f"https://{vault_name}.vault.azure.net/"


def secret_fetches(args: FleetArgs, gcp_project: str | None) -> tuple[SecretFetch, ...]:
    out = []
    for s in args.secrets:
        ref = s.ref
        if args.cloud is Cloud.AWS:
            if ref is not None and not ref.aws_arn:
                raise InputError(f"roost:secretRefs.{s.name}: no 'aws' entry, but {args.name} runs on AWS")
            out.append(SecretFetch(s.env_var, ref.aws_arn if ref else naming.aws_secret_name(
                args.stack, args.name, s.name), ""))
        elif args.cloud is Cloud.GCP:
            if ref is not None and not ref.gcp_name:
                raise InputError(f"roost:secretRefs.{s.name}: no 'gcp' entry, but {args.name} runs on GCP")
            name = ref.gcp_name if ref else \
                f"projects/{gcp_project}/secrets/{naming.gcp_secret_id(args.stack, args.name, s.name)}"
            out.append(SecretFetch(s.env_var, name, ""))
        else:
            if ref is not None and not (ref.azure_vault_id and ref.azure_secret_name):
                raise InputError(f"roost:secretRefs.{s.name}: no 'azure' entry, but {args.name} runs on Azure")
            if ref:
                vault = ref.azure_vault_id.rstrip("/").rsplit("/", 1)[-1]  # type: ignore[union-attr]
                out.append(SecretFetch(s.env_var, vault_uri(vault), ref.azure_secret_name))  # type: ignore[arg-type]
            else:
                out.append(SecretFetch(s.env_var, vault_uri(naming.azure_key_vault_name(args.stack, args.name)),
                                       naming.azure_secret_name(s.name)))
    return tuple(out)


def aws_log_group(stack: str, model: str) -> str:
    return f"/roost/{stack}/{model}"


def render_boot_script(args: FleetArgs, *, gcp_project: str | None = None) -> str:
    kind, host = registry_of(args.image)
    return _environment().get_template(BOOT_TEMPLATE).render(
        cloud=args.cloud.value,
        region=args.region,
        stack=args.stack,
        model=args.name,
        image=args.image,
        port=args.port,
        health_path=args.health_path,
        gpu=args.has_gpu,
        health_wait_seconds=args.health_grace_seconds,
        registry_kind=kind,
        registry_host=host,
        log_group=aws_log_group(args.stack, args.name),
        secrets=secret_fetches(args, gcp_project),
        env=args.env,
    )
