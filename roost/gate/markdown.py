"""The CI result as a pull-request comment, rendered from ``CiResult.to_dict()``.

Rendering from the JSON form (not from the objects) is what guarantees that the comment and
``roost ci --json`` carry the same figures. Layout after Infracost's PR comment: the verdict,
the cost diff table (previous, new, diff), a per-model breakdown, then what failed and what to
run to fix it. The first line is an HTML comment naming the stack, so a "sticky comment"
action can find and replace the previous one.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from roost.gate.checks import FAIL, PASS, signed_usd, usd

GATE_TITLES = {"stale": "Stale plan", "policy": "Policy", "budget": "Budgets", "cost_increase": "Cost increase",
               "quality": "Model quality"}
STATUS = {PASS: "✅ pass", FAIL: "❌ fail", "skipped": "➖ skipped"}


def marker(stack: str) -> str:
    return f"<!-- roost-ci:{stack} -->"


def _cell(value: Any) -> str:
    text = "-" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]], right: Sequence[str] = ()) -> list[str]:
    align = ["---:" if h in right else "---" for h in header]
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    out += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return out + [""]


def _pct(value: float | None) -> str:
    return "" if value is None else f" ({value:+.1f}%)"


def _where(snapshot: Mapping[str, Any] | None) -> str:
    if not snapshot:
        return "-"
    purchase = str(snapshot["purchase"]).replace("_", "-")
    gpus = f" {snapshot['accelerator_count']:g}×{snapshot['accelerator']}" if snapshot.get("accelerator") else ""
    return f"{snapshot['cloud']}/{snapshot['region']} {snapshot['instance_type']}{gpus} {purchase}"


def _replicas(snapshot: Mapping[str, Any] | None) -> str:
    if not snapshot:
        return "-"
    return f"{snapshot['replicas']} ({snapshot['min_replicas']}-{snapshot['max_replicas']})"


def _arrow(before: str, after: str) -> str:
    return after if before == after else f"{before} → {after}"


def render(result: Mapping[str, Any]) -> str:
    """The Markdown comment for one ``roost ci`` result dict."""
    stack = result["stack"]
    cost = result["cost"]
    failed = result["failed_gates"]
    verdict = f"❌ failed: {', '.join(GATE_TITLES[g] for g in failed)}" if failed else "✅ passed"
    lines = [marker(stack), f"## roost ci · stack `{stack}` · {verdict}", ""]
    lines += _table(["Gate", "Result", "Summary"],
                    [(GATE_TITLES[g["name"]], STATUS[g["status"]], g["summary"]) for g in result["gates"]])

    delta = cost["monthly_cost_delta_usd"]
    trend = "increased" if delta > 0 else "decreased" if delta < 0 else "unchanged"
    lines += [f"### Monthly cost {trend}: {signed_usd(delta)}{_pct(cost['monthly_cost_delta_pct'])}", ""]
    lines += _table(["Stack", "Previous", "New", "Diff"],
                    [(f"`{stack}`: {cost['from']} → {cost['to']}", usd(cost["monthly_cost_before_usd"]),
                      usd(cost["monthly_cost_after_usd"]),
                      f"{signed_usd(delta)}{_pct(cost['monthly_cost_delta_pct'])}")],
                    right=["Previous", "New", "Diff"])
    counts = ", ".join(f"{n} {kind}" for kind, n in cost["summary"].items() if n)
    lines += [f"<details><summary>{len(cost['models'])} models: {counts or 'none'}</summary>", ""]
    lines += _table(["Model", "Team", "Change", "Placement", "Replicas (min-max)", "Previous", "New", "Diff"],
                    [(m["model"], m["team"], m["change"], _where(m["to"] or m["from"]),
                      _replicas(m["to"] or m["from"]), usd(m["monthly_cost_before_usd"]),
                      usd(m["monthly_cost_after_usd"]), signed_usd(m["monthly_cost_delta_usd"]))
                     for m in cost["models"]], right=["Previous", "New", "Diff"])
    lines += ["</details>", ""]

    if result["placement_changes"]:
        lines += ["### Placement changes", ""]
        lines += _table(["Model", "Change", "Placement", "Replicas (min-max)", "Diff"],
                        [(m["model"], m["change"], _arrow(_where(m["from"]), _where(m["to"])),
                          _arrow(_replicas(m["from"]), _replicas(m["to"])), signed_usd(m["monthly_cost_delta_usd"]))
                         for m in result["placement_changes"]], right=["Diff"])

    lines += _findings(result)
    lines += _versions(result)
    if result["fixes"]:
        lines += ["### How to fix", ""] + [f"{i}. {fix}" for i, fix in enumerate(result["fixes"], 1)] + [""]
    if result["notes"]:
        lines += ["### Notes", ""] + [f"- {n}" for n in result["notes"]] + [""]
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
                        [(b["scope"], b["name"], usd(b["monthly_cost_usd"]), usd(b["budget_usd"]),
                          usd(b["over_usd"]) if b in over else "-") for b in result["budgets"]],
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
                     + ", ".join(f"{m['model']} ({m['change']}, {signed_usd(m['monthly_cost_delta_usd'])})"
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
