"""The CI result as a pull-request comment.

Everything but the cost table is rendered from ``CiResult.to_dict()``, the very dict
``roost ci --json`` prints; the cost table is the cost report's renderer of the same
``CostChange`` that dict serializes. So the comment and the JSON carry the same figures.
Layout after Infracost's PR comment: the verdict, the cost change (previous, new, change,
then one row per changed model), then what failed and what to run to fix it. The first line
is an HTML comment naming the stack, so a "sticky comment" action can find and replace it.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from roost.gate.checks import FAIL, PASS, CiResult
from roost.report.fmt import money, percent, signed_money
from roost.report.render_markdown import cell, cost_change_markdown

GATE_TITLES = {"stale": "Stale plan", "policy": "Policy", "budget": "Budgets", "cost_increase": "Cost increase",
               "quality": "Model quality"}
STATUS = {PASS: "✅ pass", FAIL: "❌ fail", "skipped": "➖ skipped"}


def marker(stack: str) -> str:
    return f"<!-- roost-ci:{stack} -->"


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]], right: Sequence[str] = ()) -> list[str]:
    align = ["---:" if h in right else "---" for h in header]
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    out += ["| " + " | ".join(cell("-" if v is None else v) for v in row) + " |" for row in rows]
    return out + [""]


def render(result: CiResult) -> str:
    """The Markdown comment for one ``roost ci`` result."""
    data = result.to_dict()
    stack = data["stack"]
    failed = data["failed_gates"]
    verdict = f"❌ failed: {', '.join(GATE_TITLES[g] for g in failed)}" if failed else "✅ passed"
    lines = [marker(stack), f"## roost ci · stack `{stack}` · {verdict}", ""]
    lines += _table(["Gate", "Result", "Summary"],
                    [(GATE_TITLES[g["name"]], STATUS[g["status"]], g["summary"]) for g in data["gates"]])
    change = result.cost_change
    delta = change.delta_monthly_cost_usd
    trend = "increased" if delta > 0 else "decreased" if delta < 0 else "unchanged"
    pct = "" if change.delta_pct is None else f" ({percent(change.delta_pct)})"
    lines += [f"### Monthly cost {trend}: {signed_money(delta)}{pct}", "", cost_change_markdown(change), ""]
    lines += _findings(data)
    lines += _versions(data)
    if data["fixes"]:
        lines += ["### How to fix", ""] + [f"{i}. {fix}" for i, fix in enumerate(data["fixes"], 1)] + [""]
    if data["notes"]:
        lines += ["### Notes", ""] + [f"- {n}" for n in data["notes"]] + [""]
    return "\n".join(lines).rstrip() + "\n"


def _findings(result: Mapping[str, Any]) -> list[str]:
    lines: list[str] = []
    gates = {g["name"]: g for g in result["gates"]}
    policy = gates["policy"]["findings"]
    if policy:
        lines += ["### Policy violations", ""]
        lines += _table(["Rule", "Resource", "Message", "Fix"],
                        [(f["rule"], f["subject"], f["message"], f["fix"]) for f in policy])
    over = [b for b in result["budgets"] if not b["within"]]
    if result["budgets"]:
        lines += ["### Budgets", ""]
        lines += _table(["Scope", "Name", "Estimated $/month", "Budget", "Over by"],
                        [(b["scope"], b["name"], money(b["monthly_cost_usd"]), money(b["budget_usd"]),
                          money(b["over_usd"]) if b in over else "-") for b in result["budgets"]],
                        right=["Estimated $/month", "Budget", "Over by"])
    if result["stale_models"]:
        lines += ["### Stale models", ""]
        lines += _table(["Model", "What differs", "Fix"],
                        [(f["subject"], f["message"], f["fix"]) for f in result["stale_models"]])
    for name in ("cost_increase", "quality"):
        for f in gates[name]["findings"]:
            lines += [f"**{GATE_TITLES[name]}**: {f['message']}", ""]
    return lines


def _versions(result: Mapping[str, Any]) -> list[str]:
    versions = result["versions"]
    model, catalog = versions["model"], versions["catalog"]
    lines = ["### Model and catalog", ""]
    lines.append(f"- model: decisions made by `{model['committed'] or 'physics baseline'}`; registry default "
                 f"`{model['current'] or 'none'}`" + (" (changed)" if model["changed"] else ""))
    lines.append(f"- catalog: decisions priced with `{catalog['committed']}`; current `{catalog['current']}`"
                 + (" (changed)" if catalog["changed"] else ""))
    quality = result["quality"]
    for key in ("committed", "candidate"):
        score = quality.get(key)
        if score:
            lines.append(f"- {key} model `{score['version']}` on {quality['held_out']['profiles']} held-out profiles: "
                         f"SLO miss {_rate(score['slo_miss_rate'])}, failure {_rate(score['failure_rate'])}, "
                         f"median regret {_rate(score['median_regret'])}, placed {score['placed']}/{score['models']}")
    moves = result["would_change_with_current_model"]
    if moves:
        lines.append(f"- re-planning with the current model/catalog would change {len(moves)} model(s): "
                     + ", ".join(f"{m['model']} ({m['change']}, {signed_money(m['monthly_cost_delta_usd'])})"
                                 for m in moves))
    return lines + [""]


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def render_error(stack: str, exit_code: int, message: str) -> str:
    """The comment when roost ci could not judge the change (invalid input or an engine error)."""
    kind = "invalid input" if exit_code == 2 else "engine or internal error"
    body = "\n".join(f"    {line}" for line in message.splitlines())
    return (f"{marker(stack)}\n## roost ci · stack `{stack}` · ⚠️ could not run ({kind}, exit {exit_code})\n\n"
            f"{body}\n")
