"""The committed plan: decisions plus what a deployment needs to serve, nothing learned.

This is what ``roost plan`` writes into a stack's config (key ``roost:plan``) and what
the Pulumi program reads. It carries every fact the program needs, so that the program
never imports the recommender and ``pulumi up`` can never re-decide.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from placement.errors import InputError
from placement.fleet import ENV_NAME, IMAGE_REFERENCE, NAME_PATTERN, SECRET_NAME, error_message, error_path
from placement.types import Choice, Cloud, Fleet, ModelSpec, Precision, Purchase, Recommendation, SpotPolicy, Task

PLAN_SCHEMA_VERSION = 1
# The fleet contract's own ceiling on max_replicas (placement.fleet): no plan may go beyond it.
MAX_REPLICAS = 10_000


class PlanError(InputError):
    """A committed plan that is not one roost wrote or could deploy; one line per problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


# -- the wire format, checked field by field: a committed plan is untrusted input ------------------
# Strict types: a port of 8080.7, replicas of true or secrets of "abc" are refused, never coerced.
Finite = Annotated[float, Field(allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
PositiveFinite = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0, le=MAX_REPLICAS)]
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$")]


def _values(enum: Any) -> Any:
    return Literal[tuple(e.value for e in enum)]  # type: ignore[misc]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class _ChoiceWire(_Wire):
    cloud: _values(Cloud)  # type: ignore[valid-type]
    region: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,62}$")]
    instance_type: Name
    accelerator: Name | None = None
    accelerator_count: NonNegative = 0
    purchase: _values(Purchase)  # type: ignore[valid-type]
    replicas: Annotated[int, Field(ge=1, le=MAX_REPLICAS)]
    min_replicas: Count
    max_replicas: Annotated[int, Field(ge=1, le=MAX_REPLICAS)]
    on_demand_base: Count = 0
    guest_accelerator: Name | None = None
    predicted_rps_per_replica: PositiveFinite
    predicted_p95_latency_ms: NonNegative
    success_probability: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] | None = None
    hourly_cost_usd: NonNegative
    monthly_cost_usd: NonNegative | None = None  # derived from hourly_cost_usd; never read
    on_demand_hourly_cost_usd: NonNegative | None = None

    @model_validator(mode="after")
    def _bounds(self) -> _ChoiceWire:
        if not self.min_replicas <= self.replicas <= self.max_replicas:
            raise ValueError(f"replicas must satisfy min_replicas ({self.min_replicas}) ≤ replicas "
                             f"({self.replicas}) ≤ max_replicas ({self.max_replicas})")
        if self.on_demand_base > self.max_replicas:
            raise ValueError(f"on_demand_base ({self.on_demand_base}) must be ≤ max_replicas ({self.max_replicas})")
        return self


class _DeploymentWire(_Wire):
    name: Annotated[str, Field(max_length=40, pattern=NAME_PATTERN)]
    team: Annotated[str, Field(max_length=63, pattern=r"^[a-z0-9][a-z0-9_-]*$")] | None = None
    task: _values(Task)  # type: ignore[valid-type]
    framework: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_.-]*$")]
    image: Annotated[str, Field(min_length=1, max_length=512, pattern=IMAGE_REFERENCE)]
    port: Annotated[int, Field(ge=1, le=65535)] = 8080
    health_path: Annotated[str, Field(pattern=r"^/[A-Za-z0-9/_.-]*$", max_length=200)] = "/health"
    env: dict[Annotated[str, Field(pattern=ENV_NAME.pattern)], Annotated[str, Field(max_length=32_768)]] = {}
    secrets: list[Annotated[str, Field(pattern=SECRET_NAME.pattern)]] = []
    spot_policy: _values(SpotPolicy)  # type: ignore[valid-type]
    memory_gib: PositiveFinite
    params_millions: PositiveFinite
    precision: _values(Precision)  # type: ignore[valid-type]
    slo_p95_latency_ms: PositiveFinite
    peak_rps: PositiveFinite
    placement: _ChoiceWire

    @field_validator("secrets")
    @classmethod
    def _unique_secrets(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("lists a secret twice")
        return v


class _PlanWire(_Wire):
    schema_version: int
    catalog_version: Annotated[str, Field(min_length=1, max_length=200)]
    model_version: Annotated[str, Field(max_length=200)] | None = None
    fleet_sha256: Annotated[str, Field(max_length=64)] = ""
    deployments: Annotated[list[_DeploymentWire], Field(min_length=1, max_length=MAX_REPLICAS)]


def _wire_problems(d: Any, where: str) -> list[str]:
    """Every problem of a plan's wire form, as 'plan: deployments[i] (name).key: what'."""
    if not isinstance(d, dict) or not d:
        return [f"{where}: is empty or not an object: run `roost plan FLEET --stack STACK` to write one"]
    schema = d.get("schema_version")
    if schema != PLAN_SCHEMA_VERSION or type(schema) is not int:
        return [f"{where}: schema_version {schema!r} is not supported (this roost reads {PLAN_SCHEMA_VERSION}); "
                "re-run `roost plan` or upgrade roost"]
    try:
        _PlanWire.model_validate(d)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            label = where
            if len(loc) >= 2 and loc[0] == "deployments" and isinstance(loc[1], int):
                entry = d["deployments"][loc[1]] if isinstance(d.get("deployments"), list) else None
                name = entry.get("name") if isinstance(entry, dict) else None
                label += f": deployments[{loc[1]}]" + (f" ({name})" if isinstance(name, str) and name else "")
                loc = loc[2:]
            path = error_path(loc)
            message = "unknown key" if err["type"] == "extra_forbidden" else error_message(err, loc)
            problems.append(f"{label}.{path}: {message}" if path and label != where else
                            f"{label}: {path + ': ' if path else ''}{message}")
        return problems
    names = [x["name"] for x in d["deployments"]]
    return [f"{where}: deployments[{i}] ({n}): duplicate name (first used by deployments[{names.index(n)}])"
            for i, n in enumerate(names) if names.index(n) != i]


@dataclass(frozen=True, kw_only=True)
class Deployment:
    name: str
    team: str | None
    task: str
    framework: str
    image: str
    port: int
    health_path: str
    env: tuple[tuple[str, str], ...]
    secrets: tuple[str, ...]
    spot_policy: SpotPolicy
    memory_gib: float
    params_millions: float
    precision: str
    slo_p95_latency_ms: float
    peak_rps: float
    choice: Choice

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "team": self.team,
            "task": self.task,
            "framework": self.framework,
            "image": self.image,
            "port": self.port,
            "health_path": self.health_path,
            "env": dict(self.env),
            "secrets": list(self.secrets),
            "spot_policy": self.spot_policy.value,
            "memory_gib": self.memory_gib,
            "params_millions": self.params_millions,
            "precision": self.precision,
            "slo_p95_latency_ms": self.slo_p95_latency_ms,
            "peak_rps": self.peak_rps,
            "placement": self.choice.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Deployment:
        return cls(
            name=d["name"], team=d.get("team"), task=d["task"], framework=d["framework"],
            image=d["image"], port=int(d.get("port", 8080)), health_path=d.get("health_path", "/health"),
            env=tuple(sorted((d.get("env") or {}).items())), secrets=tuple(d.get("secrets") or ()),
            spot_policy=SpotPolicy(d["spot_policy"]), memory_gib=float(d["memory_gib"]),
            params_millions=float(d["params_millions"]), precision=d["precision"],
            slo_p95_latency_ms=float(d["slo_p95_latency_ms"]), peak_rps=float(d["peak_rps"]),
            choice=Choice.from_dict(d["placement"]),
        )

    @classmethod
    def from_spec(cls, spec: ModelSpec, choice: Choice) -> Deployment:
        return cls(
            name=spec.name, team=spec.team, task=spec.task.value, framework=spec.framework,
            image=spec.image, port=spec.port, health_path=spec.health_path, env=spec.env,
            secrets=spec.secrets, spot_policy=spec.spot, memory_gib=spec.memory_gib,
            params_millions=spec.params_millions, precision=spec.precision.value,
            slo_p95_latency_ms=spec.slo_p95_latency_ms, peak_rps=spec.load.peak_rps, choice=choice,
        )


@dataclass(frozen=True, kw_only=True)
class DeploymentPlan:
    catalog_version: str
    model_version: str | None
    fleet_sha256: str
    deployments: tuple[Deployment, ...]

    @property
    def monthly_cost_usd(self) -> float:
        return sum(d.choice.monthly_cost_usd for d in self.deployments)

    def deployment(self, name: str) -> Deployment:
        for d in self.deployments:
            if d.name == name:
                return d
        raise KeyError(name)

    def to_dict(self) -> dict:
        return {
            "schema_version": PLAN_SCHEMA_VERSION,
            "catalog_version": self.catalog_version,
            "model_version": self.model_version,
            "fleet_sha256": self.fleet_sha256,
            "deployments": [d.to_dict() for d in self.deployments],
        }

    def canonical_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    def decisions_sha256(self) -> str:
        """Hash of what would be deployed; equal hashes mean `pulumi up` has nothing to change."""
        body = json.dumps([d.to_dict() for d in self.deployments], sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(body.encode()).hexdigest()

    @classmethod
    def from_dict(cls, d: Any, *, where: str = "plan") -> DeploymentPlan:
        """The plan in ``d``, checked field by field first; PlanError lists every problem."""
        problems = _wire_problems(d, where)
        if problems:
            raise PlanError(problems)
        deployments = tuple(Deployment.from_dict(x) for x in d["deployments"])
        return cls(catalog_version=d["catalog_version"], model_version=d.get("model_version"),
                   fleet_sha256=d.get("fleet_sha256", ""), deployments=deployments)

    @classmethod
    def from_recommendation(cls, fleet: Fleet, rec: Recommendation) -> DeploymentPlan:
        deployments = tuple(Deployment.from_spec(fleet.model(p.model), p.chosen) for p in rec.placements)
        return cls(catalog_version=rec.catalog_version, model_version=rec.model_version,
                   fleet_sha256=fleet.sha256, deployments=deployments)
