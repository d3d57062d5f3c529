"""Read what a report is computed from: the version store, the stack config, the fleet, the logs.

Everything here is untrusted input. A store that fails its integrity check, an unknown stack
or version, or unreadable budgets are input errors (exit 2): a report from a damaged store
would present figures nobody can vouch for.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from history.versions import REASON_APPLY, StackHistory, StoreCorruptedError, VersionRecord, VersionStore
from placement.catalog import Catalog
from placement.errors import FleetError, InputError
from roost.report.figures import Observed, Rationale, ReportInputs, VersionPoint, model_monthly_cents, usd
from roost.stackfile import read_stack_config, stack_config_path

BUDGETS_KEY = "roost:budgets"
SECRETS_KEY = "roost:secrets"
# A catalog version that starts with a date (the bundled snapshot: 2026.08-…) dates its prices.
PRICE_DATE = re.compile(r"^(\d{4})\.(\d{2})(?:\.(\d{2}))?")
# Where one ingested log row is matched to a deployment: the placement and the model's profile.
MATCH_COLUMNS = ("cloud", "region", "instance_type", "purchase", "task", "framework", "params_millions", "precision")


class ReportInputError(InputError):
    pass


@dataclass(frozen=True)
class StackConfig:
    team_budgets: Mapping[str, float]
    stack_budget: float | None
    secrets: tuple[str, ...]   # every value the stack config marks secret, for the redaction pass


def read_history(store: VersionStore, stack: str) -> StackHistory:
    try:
        history = store.read(stack)
    except StoreCorruptedError as exc:
        raise ReportInputError(f"cannot report on stack {stack!r}: {exc}") from None
    if not len(history):
        known = ", ".join(sorted(store.stacks())) or "none"
        raise ReportInputError(f"unknown stack {stack!r}: no versions in {store.where(stack)} (stacks with "
                               f"versions: {known})")
    return history


def deciding_record(record: VersionRecord, history: StackHistory) -> VersionRecord:
    """The plan version whose recommendation produced ``record``'s decisions (through applies and rollbacks)."""
    seen = set()
    while record.number not in seen:
        seen.add(record.number)
        if record.reason == REASON_APPLY and record.plan_version != record.number:
            record = history.get(record.plan_version)
        elif record.restores is not None:
            record = history.get(record.restores)
        else:
            break
    return record


def read_rationale(store: VersionStore, record: VersionRecord, history: StackHistory) -> dict[str, Rationale] | None:
    source = deciding_record(record, history)
    if source.rationale is None:
        return None
    try:
        doc = json.loads(store.read_blob(history.stack, source.rationale))
    except StoreCorruptedError as exc:
        raise ReportInputError(f"cannot report on stack {history.stack!r}: {exc}") from None
    try:
        return {str(name): Rationale.from_dict(entry) for name, entry in doc.items()}
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise ReportInputError(f"version {source.number} of stack {history.stack!r}: its placement rationale is "
                               f"malformed ({exc})") from None


def model_budgets(record: VersionRecord) -> tuple[dict[str, float], str | None]:
    """``budget_monthly_usd`` of each model in the fleet file the version was planned from."""
    if record.fleet is None:
        return {}, "model budgets: this version kept no fleet file, so budget_monthly_usd is unknown"
    from placement.fleet import parse_fleet_text

    try:
        fleet = parse_fleet_text(record.fleet.content, source=record.fleet.path)
    except FleetError:
        return {}, (f"model budgets: the fleet file kept with version {record.number} no longer parses with this "
                    "roost; budget_monthly_usd is left out")
    return {m.name: m.budget_monthly_usd for m in fleet.models if m.budget_monthly_usd is not None}, None


def _secure_values(value: Any) -> Iterator[str]:
    """Ciphertexts of ``{secure: …}`` config values, anywhere in the config."""
    if isinstance(value, Mapping):
        if isinstance(value.get("secure"), str):
            yield value["secure"]
        for v in value.values():
            yield from _secure_values(v)
    elif isinstance(value, list):
        for v in value:
            yield from _secure_values(v)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, Mapping):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif value is not None and not isinstance(value, bool):
        yield str(value)


def _usd(value: Any, where: str) -> float:
    try:
        amount = float(value)
    except (TypeError, ValueError):
        raise ReportInputError(f"{where}: must be a number of US dollars per month, got {value!r}") from None
    if not amount >= 0 or amount == float("inf"):
        raise ReportInputError(f"{where}: must be a finite amount ≥ 0, got {value!r}")
    return amount


def read_stack_settings(project_dir: Path, stack: str) -> StackConfig:
    """Budgets and secret values from Pulumi.<stack>.yaml (empty when the file does not exist)."""
    if not stack_config_path(project_dir, stack).is_file():
        return StackConfig(team_budgets={}, stack_budget=None, secrets=())
    config = read_stack_config(project_dir, stack)
    secrets = set(_secure_values(config))
    for key, value in config.items():
        if key == SECRETS_KEY or key.startswith(SECRETS_KEY + "."):
            if isinstance(value, str) and key == SECRETS_KEY and value.strip().startswith("{"):
                try:
                    value = json.loads(value)
                except json.JSONDecodeError:
                    pass
            secrets.update(_strings(value))
    where = f"Pulumi.{stack}.yaml: {BUDGETS_KEY}"
    raw = config.get(BUDGETS_KEY) or {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ReportInputError(f"{where}: not valid JSON ({exc.msg})") from None
    if not isinstance(raw, Mapping) or not isinstance(raw.get("teams") or {}, Mapping):
        raise ReportInputError(f"{where}: must be an object {{stack: USD, teams: {{TEAM: USD}}}}")
    teams = {str(t): _usd(v, f"{where}.teams.{t}") for t, v in (raw.get("teams") or {}).items()}
    stack_cap = None if raw.get("stack") is None else _usd(raw["stack"], f"{where}.stack")
    return StackConfig(team_budgets=teams, stack_budget=stack_cap, secrets=tuple(sorted(secrets)))


def observed_costs(logs: Path, record: VersionRecord, stack: str) -> tuple[dict[str, Observed] | None, str]:
    """Observed cost per model from an ingested log, matched on placement and profile.

    A log with a ``stack`` column counts only this stack's rows. Returns (None, why) when there
    is nothing to compare.
    """
    if not logs.is_file():
        return None, f"no deployment logs have been ingested ({logs} does not exist)"
    from history.schema import read_log

    frame = read_log(logs)
    if "stack" in frame.columns:
        frame = frame[frame["stack"].astype(str) == stack]
    frame = frame[frame["hours"] > 0]
    if not len(frame):
        return None, f"{logs} holds no deployment windows" + (" for this stack" if "stack" in frame.columns else "")
    keys = {}
    for d in record.plan.deployments:
        c = d.choice
        key = (c.cloud.value, c.region, c.instance_type, c.purchase.value, d.task, d.framework,
               float(d.params_millions), d.precision)
        keys.setdefault(key, []).append(d.name)
    frame = frame.assign(params_millions=frame["params_millions"].astype(float))
    grouped = frame.groupby(list(MATCH_COLUMNS), sort=False).agg(windows=("hours", "size"), hours=("hours", "sum"),
                                                                 cost=("cost_usd", "sum"))
    out: dict[str, Observed] = {}
    shared = []
    for key, row in grouped.iterrows():
        names = keys.get(tuple(key))
        if not names:
            continue
        if len(names) > 1:
            shared.extend(names)
        for name in names:
            out[name] = Observed(windows=int(row["windows"]), hours=float(row["hours"]), cost_usd=float(row["cost"]))
    note = f"observed in {logs}, matched to models by placement and model profile"
    if shared:
        note += f"; {', '.join(sorted(shared))} share a placement and profile, so they share their windows"
    return (out or None), (note if out else f"{logs} holds no windows for the placements of this version")


def version_points(history: StackHistory) -> tuple[VersionPoint, ...]:
    return tuple(VersionPoint(number=r.number, reason=r.reason, created_at=r.created_at,
                              monthly_cost_usd=usd(sum(model_monthly_cents(d.choice) for d in r.plan.deployments)),
                              restores=r.restores, applied=r.applied or history.applied_by(r.number) is not None)
                 for r in history.records)


def price_date(catalog_version: str) -> str | None:
    m = PRICE_DATE.match(catalog_version)
    if not m:
        return None
    return "-".join(part for part in m.groups() if part)


def report_inputs(*, store: VersionStore, stack: str, project_dir: Path, catalog: Catalog,
                  version: int | None = None, compare: int | None = None,
                  logs: Path | None = None) -> tuple[ReportInputs, StackConfig]:
    """Everything ``build_report`` needs for version ``version`` (default: the newest) against ``compare``
    (default: the version before it)."""
    history = read_history(store, stack)
    record = history.get(version) if version is not None else history.records[-1]
    if compare is None:
        compared = history.get(record.number - 1) if record.number > 1 else None
    else:
        compared = history.get(compare)
    settings = read_stack_settings(project_dir, stack)
    rationale = read_rationale(store, record, history)
    if rationale and all(r.budget_recorded for r in rationale.values()):
        # Kept with the plan: no need to parse the fleet file again (about a second per 1,000 models).
        budgets = {name: r.budget_monthly_usd for name, r in rationale.items() if r.budget_monthly_usd is not None}
        budget_note = None
    else:
        budgets, budget_note = model_budgets(deciding_record(record, history))
    observed, observed_note = (None, "no deployment log given") if logs is None else observed_costs(logs, record, stack)
    inputs = ReportInputs(
        stack=stack, version=record.number, reason=record.reason, created_at=record.created_at,
        author=record.provenance.author.split(" <")[0], applied=record.applied or history.applied_by(record.number)
        is not None, plan=record.plan, compared_version=compared.number if compared else None,
        compared_plan=compared.plan if compared else None, catalog=catalog,
        catalog_price_date=price_date(record.plan.catalog_version), history=version_points(history),
        model_budgets=budgets, team_budgets=settings.team_budgets, stack_budget=settings.stack_budget,
        rationale=rationale, observed=observed, observed_note=observed_note,
        notes=tuple(n for n in (budget_note,) if n))
    return inputs, settings
