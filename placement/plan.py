"""The committed plan: decisions plus what a deployment needs to serve, nothing learned.

This is what ``roost plan`` writes into a stack's config (key ``roost:plan``) and what
the Pulumi program reads. It carries every fact the program needs, so that the program
never imports the recommender and ``pulumi up`` can never re-decide.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from placement.errors import InputError
from placement.types import Choice, Fleet, ModelSpec, Recommendation, SpotPolicy

PLAN_SCHEMA_VERSION = 1


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
    def from_dict(cls, d: dict) -> DeploymentPlan:
        schema = d.get("schema_version")
        if schema != PLAN_SCHEMA_VERSION:
            raise InputError(f"plan schema_version {schema!r} is not supported (this roost reads "
                             f"{PLAN_SCHEMA_VERSION}); re-run `roost plan` or upgrade roost")
        try:
            deployments = tuple(Deployment.from_dict(x) for x in d["deployments"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"plan is malformed: {exc!r}") from None
        return cls(catalog_version=d["catalog_version"], model_version=d.get("model_version"),
                   fleet_sha256=d.get("fleet_sha256", ""), deployments=deployments)

    @classmethod
    def from_recommendation(cls, fleet: Fleet, rec: Recommendation) -> DeploymentPlan:
        deployments = tuple(Deployment.from_spec(fleet.model(p.model), p.chosen) for p in rec.placements)
        return cls(catalog_version=rec.catalog_version, model_version=rec.model_version,
                   fleet_sha256=fleet.sha256, deployments=deployments)
