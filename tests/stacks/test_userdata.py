"""The boot script stays inert whatever the plan contains, and never carries a secret."""
from __future__ import annotations

import shutil
import subprocess

import jinja2
import pytest

from placement.types import Cloud
from stacks.fleet_args import FleetArgs
from stacks.settings import parse_settings
from stacks.userdata import BOOT_TEMPLATE, _environment, registry_of, render_boot_script, shell_quote

BASH = shutil.which("bash")
pytestmark = pytest.mark.skipif(BASH is None, reason="needs bash")


def hostile_strings(canary: str) -> list[str]:
    touch = f"/usr/bin/touch {canary}"
    return [
        f"$({touch})", f"`{touch}`", f"x; {touch}", f"x' ; {touch}; echo '", f'x" ; {touch}; echo "',
        f"line1\n{touch}\nline3", f"$(({touch}))", "${IFS}", "a\\", f"&& {touch} ||", f"| {touch}",
        f"'$({touch})'", "tab\tand\rcarriage", "ünïcødé ✓",
    ]


def _args(kit, deployment, **settings_extra):
    # The settings come from a benign plan: a committed plan with these values is refused outright
    # (placement.plan); the renderer must keep them inert all the same.
    plan = kit.plan(kit.replace(deployment, name="benign", image="ghcr.io/acme/model:1.0", env=(),
                                health_path="/health"))
    raw = {"plan": plan.to_dict(), "gcp": {"project": "acme"}, "azure": {"adminSshPublicKey": kit.SSH_KEY},
           **settings_extra}
    return FleetArgs.from_deployment(deployment, parse_settings(raw, stack="prod"))


def values_section(script: str) -> str:
    start = script.index("# --- values")
    end = script.index("# --- end of values")
    return script[start:end]


def run_values(section: str, names: list[str], tmp_path) -> dict[str, list[str]]:
    """Execute only the assignments, with no usable PATH, and read the variables back NUL-separated."""
    dump = "".join(f'printf "%s\\0" "${{{n}[@]}}"; printf "\\1\\0";' for n in names)
    proc = subprocess.run([BASH, "--norc", "--noprofile", "-s"], input=(section + "\n" + dump).encode(),
                          env={"PATH": str(tmp_path / "empty-path")}, capture_output=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    out: dict[str, list[str]] = {}
    chunks = proc.stdout.decode().split("\0")
    current: list[str] = []
    it = iter(names)
    for chunk in chunks[:-1]:
        if chunk == "\1":
            out[next(it)] = current
            current = []
        else:
            current.append(chunk)
    return out


@pytest.mark.parametrize("cloud", [Cloud.AWS, Cloud.GCP, Cloud.AZURE])
def test_hostile_values_stay_inert_and_round_trip(kit, tmp_path, cloud):
    canary = tmp_path / "pwned"
    strings = hostile_strings(str(canary))
    itype = {Cloud.AWS: "c7g.large", Cloud.GCP: "n2-standard-4", Cloud.AZURE: "Standard_D4s_v5"}[cloud]
    region = {Cloud.AWS: "us-east-1", Cloud.GCP: "us-central1", Cloud.AZURE: "eastus"}[cloud]
    env = tuple((f"VAR_{i}", s) for i, s in enumerate(strings))
    d = kit.deployment(strings[3], cloud=cloud, region=region, instance_type=itype, image=strings[0],
                       env=env, secrets=("hf-token",))
    d = kit.replace(d, health_path="/" + strings[2])
    args = _args(kit, d)
    script = render_boot_script(args, gcp_project="acme")

    syntax = subprocess.run([BASH, "-n"], input=script.encode(), capture_output=True)
    assert syntax.returncode == 0, syntax.stderr.decode()

    values = run_values(values_section(script), ["MODEL_NAME", "MODEL_IMAGE", "HEALTH_PATH", "MODEL_ENV"], tmp_path)
    assert not canary.exists(), "a value in the boot script executed a command"
    assert values["MODEL_NAME"] == [strings[3]]
    assert values["MODEL_IMAGE"] == [strings[0]]
    assert values["HEALTH_PATH"] == ["/" + strings[2]]
    assert values["MODEL_ENV"] == [f"{k}={v}" for k, v in env]


def test_a_nul_byte_cannot_reach_a_shell_script(kit):
    from placement.errors import InputError

    with pytest.raises(InputError, match="NUL"):
        _args(kit, kit.deployment("m", env=(("A", "x\x00y"),)))


def test_every_template_expression_is_quoted(kit):
    env = _environment()
    assert env.finalize is shell_quote
    assert env.undefined is jinja2.StrictUndefined
    source = env.loader.get_source(env, BOOT_TEMPLATE)[0]
    assert "|safe" not in source.replace(" ", "") and "autoescape" not in source


def test_a_missing_template_value_is_an_error_not_an_empty_string():
    with pytest.raises(jinja2.UndefinedError):
        _environment().get_template(BOOT_TEMPLATE).render(cloud="aws")


def test_secrets_are_fetched_at_boot_never_embedded(kit):
    d = kit.deployment("assistant", secrets=("hf-token",))
    args = _args(kit, d, secrets={"hf-token": kit.HF_TOKEN})
    assert args.secrets[0].has_value
    script = render_boot_script(args)
    assert kit.HF_TOKEN not in script
    assert "roost/prod/assistant/hf-token" in script  # where to fetch it from, by name
    assert "HF_TOKEN" in script


def test_secret_refs_point_the_boot_script_at_the_existing_secret(kit):
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:shared-hf-AbCdEf"
    d = kit.deployment("assistant", secrets=("hf-token",))
    script = render_boot_script(_args(kit, d, secretRefs={"hf-token": {"aws": arn}}))
    assert arn in script


@pytest.mark.parametrize(("image", "kind"), [
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud:1", "ecr"),
    ("us-docker.pkg.dev/acme/models/embedder:5", "artifact-registry"),
    ("gcr.io/acme/x:1", "artifact-registry"),
    ("ghcr.io/acme/x:1", ""), ("vllm/vllm-openai:v0.9.2", ""), ("ubuntu", ""),
])
def test_registry_login_kind_from_the_image(image, kind):
    assert registry_of(image)[0] == kind


def test_gpu_fleets_get_the_gpu_runtime(kit):
    d = kit.deployment("gpu", instance_type="g5.xlarge", accelerator="A10G", accelerator_count=1)
    script = render_boot_script(_args(kit, d))
    assert "USE_GPU=1" in script
    cpu = render_boot_script(_args(kit, kit.deployment("cpu")))
    assert "USE_GPU=0" in cpu
