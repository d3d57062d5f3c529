"""Fleet file v1: parse and validate the user's list of models into ``Fleet``.

Every problem is reported at once, one line each, as
``<file>: models[<i>] (<name>).<key path>: <what is wrong>``. Pydantic does the type
checking at this boundary only; the rest of roost works on the frozen dataclasses.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from placement.errors import FleetError, did_you_mean
from placement.types import (
    AcceleratorPolicy,
    Cloud,
    Fleet,
    Load,
    ModelSpec,
    Precision,
    SpotPolicy,
    Task,
)
from placement.workload import IMAGE_TASKS, MAX_IMAGE_SIDE, MAX_STEPS, TEXT_TASKS, derived_memory_gib
from placement.yamlsafe import YamlError, load_yaml

FLEET_VERSION = 1
NAME_PATTERN = r"^[a-z][a-z0-9-]*$"
IMAGE_REFERENCE = r"^[A-Za-z0-9][A-Za-z0-9._/:@+-]*$"
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SECRET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_./-]{0,127}$")
TOKEN_TASKS = TEXT_TASKS | {Task.SPEECH_RECOGNITION}

# Finite and bounded: a number beyond these is a typo or an attack (``peak_rps: 1e308`` would
# size 1e307 replicas), never a workload.
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
MAX_PEAK_RPS = 10_000_000.0
MAX_PARAMS_MILLIONS = 100_000_000.0
MAX_MEMORY_GIB = 1_000_000.0
MAX_LATENCY_MS = 3_600_000.0
MAX_BUDGET_USD = 1e12


def _pixel_count(value: object) -> bool:
    # Strict: a YAML ``true``, ``224.5`` or ``"224"`` is a mistake, not a size.
    return type(value) is int and 0 < value <= MAX_IMAGE_SIDE


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class LoadModel(_Strict):
    peak_rps: Annotated[Positive, Field(le=MAX_PEAK_RPS)]
    mean_rps: Annotated[Positive, Field(le=MAX_PEAK_RPS)] | None = None
    input_tokens: Annotated[int, Field(gt=0, le=1_000_000)] | None = None
    output_tokens: Annotated[int, Field(gt=0, le=1_000_000)] | None = None
    # How much work a request is (docs/fleet-file.md): a square side or [height, width] in pixels,
    # and denoising steps. Absent, the task's typical model is assumed (placement.workload).
    image_size: tuple[int, int] | None = None
    steps: Annotated[int, Field(strict=True, gt=0, le=MAX_STEPS)] | None = None

    @field_validator("image_size", mode="before")
    @classmethod
    def _image_size(cls, v: object) -> tuple[int, int] | None:
        # One message for every wrong shape (pydantic's union errors would give two lines).
        if v is None:
            return None
        sides = v if isinstance(v, list) else [v]
        if len(sides) != 2 and isinstance(v, list) or not all(_pixel_count(s) for s in sides):
            raise ValueError(f"must be a side in pixels (224) or [height, width] ([800, 1333]), "
                             f"whole numbers from 1 to {MAX_IMAGE_SIDE}; got {v!r}")
        return (sides[0], sides[-1])


class SloModel(_Strict):
    p95_latency_ms: Annotated[Positive, Field(le=MAX_LATENCY_MS)]


class ModelEntry(_Strict):
    name: Annotated[str, Field(max_length=40, pattern=NAME_PATTERN)]
    task: Task
    framework: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_.-]*$")]
    params_millions: Annotated[Positive, Field(le=MAX_PARAMS_MILLIONS)]
    precision: Precision
    memory_gib: Annotated[Positive, Field(le=MAX_MEMORY_GIB)] | None = None
    accelerator: AcceleratorPolicy = AcceleratorPolicy.AUTO
    image: Annotated[str, Field(min_length=1, max_length=512)]
    load: LoadModel
    slo: SloModel
    spot: SpotPolicy = SpotPolicy.NEVER
    clouds: list[Cloud] | None = Field(default=None, min_length=1)
    regions: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*[a-z0-9]$")]] | None = Field(default=None, min_length=1)
    min_replicas: Annotated[int, Field(ge=1, le=1000)] = 2
    max_replicas: Annotated[int, Field(ge=1, le=10000)] | None = None
    team: Annotated[str, Field(max_length=63, pattern=r"^[a-z0-9][a-z0-9_-]*$")] | None = None
    budget_monthly_usd: Annotated[Positive, Field(le=MAX_BUDGET_USD)] | None = None
    active_params_millions: Positive | None = None   # mixture of experts: parameters per token
    gflops_per_request: Positive | None = None       # overrides every derivation of the work
    # Additions beyond the v1 contract; optional, with defaults.
    port: Annotated[int, Field(ge=1, le=65535)] = 8080
    health_path: Annotated[str, Field(pattern=r"^/[A-Za-z0-9/_.-]*$", max_length=200)] = "/health"
    env: dict[str, str] = Field(default_factory=dict)
    secrets: list[str] = Field(default_factory=list)

    @field_validator("image")
    @classmethod
    def _image_reference(cls, v: str) -> str:
        # A container reference never contains whitespace or shell metacharacters; reject
        # them here so nothing hostile ever reaches a startup script.
        if not re.fullmatch(IMAGE_REFERENCE, v):
            raise ValueError("must be a container image reference like registry/repo:tag or repo@sha256:…")
        return v

    @field_validator("env")
    @classmethod
    def _env_names(cls, v: dict[str, str]) -> dict[str, str]:
        for key in v:
            if not ENV_NAME.match(key):
                raise ValueError(f"environment variable name {key!r} must match [A-Za-z_][A-Za-z0-9_]*")
        return v

    @field_validator("secrets")
    @classmethod
    def _secret_names(cls, v: list[str]) -> list[str]:
        for key in v:
            if not SECRET_NAME.match(key):
                raise ValueError(f"secret name {key!r} must match [A-Za-z0-9][A-Za-z0-9_./-]*")
        return v


class FleetDocument(_Strict):
    version: Literal[FLEET_VERSION]  # type: ignore[valid-type]
    defaults: dict[str, Any] = Field(default_factory=dict)
    models: list[dict[str, Any]] = Field(min_length=1)


_MESSAGES = {
    "greater_than": "must be > {gt:g}",
    "greater_than_equal": "must be ≥ {ge:g}",
    "less_than_equal": "must be ≤ {le:g}",
    "missing": "is required",
    "string_too_long": "must be at most {max_length} characters",
    "string_too_short": "must not be empty",
    "too_short": "must not be empty",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "string_type": "must be a string",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "list_type": "must be a list",
    "literal_error": "must be {expected}",
    "finite_number": "must be a finite number",
}

_PATTERN_HINTS = {
    "name": "must be lowercase letters, digits and '-', starting with a letter",
    "team": "must be lowercase letters, digits, '-' or '_'",
    "framework": "must be a lowercase framework name such as pytorch, onnx or vllm",
    "regions": "must be a region name such as us-east-1, us-central1 or westeurope",
    "health_path": "must be a URL path such as /health",
}


def error_message(err: Mapping[str, Any], loc: tuple) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "enum":
        return f"must be one of {ctx.get('expected', '')}{did_you_mean(str(err.get('input')), _enum_values(loc))}"
    if kind == "string_pattern_mismatch":
        key = next((str(p) for p in reversed(loc) if isinstance(p, str)), "")
        return _PATTERN_HINTS.get(key, f"must match {ctx.get('pattern')}")
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    template = _MESSAGES.get(kind)
    if template:
        try:
            return template.format(**ctx)
        except (KeyError, IndexError):
            return template
    return err["msg"][0].lower() + err["msg"][1:]


def _enum_values(loc: tuple) -> list[str]:
    key = next((str(p) for p in reversed(loc) if isinstance(p, str)), "")
    enums = {"task": Task, "precision": Precision, "accelerator": AcceleratorPolicy,
             "spot": SpotPolicy, "clouds": Cloud}
    return [e.value for e in enums.get(key, [])]


def _allowed_keys(loc: tuple) -> list[str]:
    parents = [p for p in loc[:-1] if isinstance(p, str)]
    if parents and parents[-1] == "load":
        return list(LoadModel.model_fields)
    if parents and parents[-1] == "slo":
        return list(SloModel.model_fields)
    return list(ModelEntry.model_fields)


def error_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def parse_fleet_text(text: str, source: str = "fleet.yaml") -> Fleet:
    """Parse fleet YAML text; raise FleetError listing every problem."""
    try:
        raw = load_yaml(text, source)
    except YamlError as exc:
        raise FleetError([str(exc)]) from None
    if not isinstance(raw, dict):
        raise FleetError([f"{source}: the fleet file must be a mapping with version, defaults and models"])
    problems: list[str] = []
    version = raw.get("version")
    # YAML reads 1.0 and true as numbers equal to 1; only the integer names a version.
    if "version" in raw and (type(version) is not int or version != FLEET_VERSION):
        raise FleetError([f"{source}: version: must be {FLEET_VERSION} (this roost reads fleet file version "
                          f"{FLEET_VERSION}), not {version!r}"])
    for key in raw:
        if key not in FleetDocument.model_fields:
            problems.append(f"{source}: {key}: unknown key{did_you_mean(str(key), FleetDocument.model_fields)}")
    doc_raw = {k: v for k, v in raw.items() if k in FleetDocument.model_fields}
    try:
        doc = FleetDocument.model_validate(doc_raw)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            if err["type"] == "literal_error" and loc == ("version",):
                problems.append(f"{source}: version: must be {FLEET_VERSION} (this roost reads fleet file version "
                                f"{FLEET_VERSION})")
            else:
                problems.append(f"{source}: {error_path(loc)}: {error_message(err, loc)}")
        raise FleetError(problems) from None

    for key in doc.defaults:
        if key == "name":
            problems.append(f"{source}: defaults.name: a name cannot have a default")
        elif key not in ModelEntry.model_fields:
            problems.append(f"{source}: defaults.{key}: unknown key{did_you_mean(key, ModelEntry.model_fields)}")
    defaults = {k: v for k, v in doc.defaults.items() if k in ModelEntry.model_fields and k != "name"}

    specs: list[ModelSpec] = []
    seen: dict[str, int] = {}
    for i, entry_raw in enumerate(doc.models):
        name = entry_raw.get("name") if isinstance(entry_raw, dict) else None
        label = f"models[{i}]" + (f" ({name})" if isinstance(name, str) and name else "")
        if not isinstance(entry_raw, dict):
            problems.append(f"{source}: {label}: must be a mapping of model keys")
            continue
        merged = _deep_merge(defaults, entry_raw)
        try:
            entry = ModelEntry.model_validate(merged)
        except ValidationError as exc:
            for err in exc.errors():
                loc = tuple(err["loc"])
                if err["type"] == "extra_forbidden":
                    key = str(loc[-1])
                    where = error_path(loc)
                    problems.append(f"{source}: {label}.{where}: unknown key{did_you_mean(key, _allowed_keys(loc))}")
                else:
                    problems.append(f"{source}: {label}.{error_path(loc)}: {error_message(err, loc)}")
            continue
        problems.extend(f"{source}: {label}.{p}" for p in _cross_field(entry))
        if entry.name in seen:
            problems.append(f"{source}: {label}.name: duplicate name {entry.name!r} (first used by models[{seen[entry.name]}])")
        else:
            seen[entry.name] = i
        specs.append(_to_spec(entry))
    if problems:
        raise FleetError(problems)
    sha = hashlib.sha256(text.encode()).hexdigest()
    return Fleet(models=tuple(specs), source=source, sha256=sha)


def _cross_field(e: ModelEntry) -> list[str]:
    out = []
    if e.load.mean_rps is not None and e.load.mean_rps > e.load.peak_rps:
        out.append(f"load.mean_rps: must be ≤ load.peak_rps ({e.load.peak_rps:g})")
    if e.max_replicas is not None and e.max_replicas < e.min_replicas:
        out.append(f"max_replicas: must be ≥ min_replicas ({e.min_replicas})")
    if e.task not in TOKEN_TASKS:
        for key in ("input_tokens", "output_tokens"):
            if getattr(e.load, key) is not None:
                out.append(f"load.{key}: only applies to text, speech and LLM tasks, not {e.task.value}")
    if e.task is not Task.LLM_GENERATION and e.task is not Task.SPEECH_RECOGNITION and e.load.output_tokens is not None \
            and e.task in TEXT_TASKS:
        out.append(f"load.output_tokens: only applies to generation (llm-generation, speech-recognition), not {e.task.value}")
    if e.load.image_size is not None and e.task not in IMAGE_TASKS:
        names = ", ".join(sorted(t.value for t in IMAGE_TASKS))
        out.append(f"load.image_size: only applies to image tasks ({names}), not {e.task.value}")
    if e.load.steps is not None and e.task is not Task.TEXT_TO_IMAGE:
        out.append(f"load.steps: only applies to text-to-image, not {e.task.value}")
    if e.active_params_millions is not None and e.active_params_millions > e.params_millions:
        out.append(f"active_params_millions: must be ≤ params_millions ({e.params_millions:g})")
    if e.clouds and len(set(e.clouds)) != len(e.clouds):
        out.append("clouds: lists a cloud twice")
    if e.regions and len(set(e.regions)) != len(e.regions):
        out.append("regions: lists a region twice")
    if e.accelerator is AcceleratorPolicy.NONE and e.task is Task.TEXT_TO_IMAGE:
        out.append("accelerator: text-to-image models cannot be served without a GPU; use auto or required")
    return out


def _to_spec(e: ModelEntry) -> ModelSpec:
    derived = e.memory_gib is None
    memory = e.memory_gib if e.memory_gib is not None else derived_memory_gib(
        e.task, e.params_millions, e.precision, e.load.input_tokens, e.load.output_tokens)
    return ModelSpec(
        name=e.name,
        task=e.task,
        framework=e.framework,
        params_millions=e.params_millions,
        precision=e.precision,
        memory_gib=memory,
        memory_gib_derived=derived,
        accelerator=e.accelerator,
        image=e.image,
        load=Load(peak_rps=e.load.peak_rps, mean_rps=e.load.mean_rps,
                  input_tokens=e.load.input_tokens, output_tokens=e.load.output_tokens,
                  image_size=e.load.image_size, steps=e.load.steps),
        slo_p95_latency_ms=e.slo.p95_latency_ms,
        spot=e.spot,
        clouds=tuple(e.clouds) if e.clouds else None,
        regions=tuple(e.regions) if e.regions else None,
        min_replicas=e.min_replicas,
        max_replicas=e.max_replicas,
        team=e.team,
        budget_monthly_usd=e.budget_monthly_usd,
        active_params_millions=e.active_params_millions,
        gflops_per_request=e.gflops_per_request,
        port=e.port,
        health_path=e.health_path,
        env=tuple(sorted(e.env.items())),
        secrets=tuple(e.secrets),
    )


def load_fleet(path: str | Path) -> Fleet:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FleetError([f"{p}: fleet file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FleetError([f"{p}: cannot read fleet file: {exc}"]) from None
    return parse_fleet_text(text, source=str(path))


def check_against_catalog(fleet: Fleet, regions_by_cloud: Mapping[Cloud, set[str]]) -> None:
    """Reject regions the catalog does not know, or that belong to none of the model's clouds."""
    problems = []
    all_regions = sorted(set().union(*regions_by_cloud.values())) if regions_by_cloud else []
    for i, spec in enumerate(fleet.models):
        allowed = spec.clouds or tuple(regions_by_cloud)
        for j, region in enumerate(spec.regions or ()):
            owner = [c for c, regs in regions_by_cloud.items() if region in regs]
            where = f"{fleet.source}: models[{i}] ({spec.name}).regions[{j}]"
            if not owner:
                problems.append(f"{where}: unknown region {region!r}{did_you_mean(region, all_regions)}")
            elif not set(owner) & set(allowed):
                problems.append(f"{where}: {region!r} is a {owner[0].value} region, "
                                f"but clouds is [{', '.join(c.value for c in allowed)}]")
    if problems:
        raise FleetError(problems)
