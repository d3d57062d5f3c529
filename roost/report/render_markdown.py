"""Markdown for a pull-request comment: the Infracost-style cost change first, the long parts folded.

GitHub refuses comments over 65,536 characters. The summary sections always fit; the
per-model sections are added while they fit under ``MAX_CHARS`` and the rest are counted
with a pointer to the HTML/JSON report, which carry every model.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from roost.report.figures import CostChange, ModelChange, ModelLine, Report
from roost.report.fmt import money, percent, purchase, share, signed_money, status, value

MAX_CHARS = 60_000  # GitHub's limit is 65,536; leave room for a CI tool's own header and footer


def cell(text: object) -> str:
    """A table cell: no pipes, no raw HTML, no line breaks (user text ends up here)."""
    s = str(text).replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
    return " ".join(s.split())


def table(header: Sequence[str], rows: Iterable[Sequence[object]], right: Iterable[int] = ()) -> str:
    right = set(right)
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---:" if i in right else "---" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


# -- the cost change (reused by `roost ci`) --------------------------------------------------------
def _moves(m: ModelChange) -> str:
    parts = [f"{f.field} {value(f.before)} → {value(f.after)}" for f in m.moves]
    parts += [f"{name} changed" for name in m.other_changes]
    return "; ".join(parts) or "-"


def cost_change_markdown(change: CostChange, *, max_rows: int = 50) -> str:
    """Previous/new total, delta and percentage, then one row per changed model (largest first)."""
    lines = [table(["", "Monthly cost"], [
        [f"Previous ({change.before_label})", money(change.previous_total_monthly_cost_usd)],
        [f"New ({change.after_label})", money(change.total_monthly_cost_usd)],
        ["**Change**", f"**{signed_money(change.delta_monthly_cost_usd)} ({percent(change.delta_pct)})**"],
    ], right=[1])]
    counts = ", ".join(f"{n} {kind}" for kind, n in change.counts.items() if n)
    lines.append(f"\n{change.models_changed} model(s) changed ({counts or 'no models'}).")
    if change.models:
        shown = change.models[:max_rows]
        lines.append("")
        lines.append(table(
            ["Model", "Team", "Change", "From", "To", "What moved", "Previous", "New", "Δ $/month"],
            [[m.model, m.team or "-", m.change, m.before or "-", m.after or "-", _moves(m),
              money(m.previous_monthly_cost_usd), money(m.monthly_cost_usd), signed_money(m.delta_monthly_cost_usd)]
             for m in shown], right=[6, 7, 8]))
        if len(change.models) > len(shown):
            rest = change.models[len(shown):]
            lines.append(f"\n…and {len(rest)} more changed model(s), together "
                         f"{signed_money(sum(m.delta_monthly_cost_usd for m in rest))}/month.")
    return "\n".join(lines)


# -- the whole report ------------------------------------------------------------------------------
def _title(r: Report) -> str:
    against = f" vs version {r.compared_version}" if r.compared_version else " (first version)"
    return f"## Cost report: stack `{cell(r.stack)}`, version {r.version}{against}"


def _totals(r: Report) -> str:
    s = r.spot
    rows = [["Total monthly cost", money(r.total_monthly_cost_usd)],
            ["On demand", money(s.on_demand_monthly_cost_usd)],
            ["Spot", money(s.spot_monthly_cost_usd)],
            ["Same replicas all on demand", money(s.all_on_demand_monthly_cost_usd)],
            ["Spot saves", money(s.spot_savings_monthly_usd)]]
    if r.stack_budget_monthly_usd is not None:
        rows.append(["Stack budget", f"{money(r.stack_budget_monthly_usd)} ({status(r.stack_budget_status)})"])
    return table(["Totals", "$/month"], rows, right=[1])


def _groups(title: str, lines, budgets: bool = False) -> str:
    header = [title, "Models", "$/month", "Δ $/month"] + (["Budget", "Status"] if budgets else [])
    rows = []
    for g in lines:
        row = [g.name, g.models, money(g.monthly_cost_usd), signed_money(g.delta_monthly_cost_usd)]
        if budgets:
            row += ["-" if g.budget_monthly_usd is None else money(g.budget_monthly_usd), status(g.budget_status)]
        rows.append(row)
    return table(header, rows, right=[1, 2, 3])


def _model_row(m: ModelLine) -> list[object]:
    return [m.name, m.team, f"{m.cloud}/{m.region}", m.instance_type, purchase(m.purchase), m.replicas,
            money(m.monthly_cost_usd), signed_money(m.delta_monthly_cost_usd),
            "-" if m.budget_monthly_usd is None else money(m.budget_monthly_usd), status(m.budget_status)]


MODEL_HEADER = ["Model", "Team", "Where", "Instance", "Purchase", "Replicas", "$/month", "Δ $/month", "Budget",
                "Status"]


def placement_text(m: ModelLine) -> str:
    """The chosen offering and its predictions in one sentence (Markdown and HTML share it)."""
    gpu = f" with {m.accelerator}×{m.accelerator_count:g}" if m.accelerator else ""
    return (f"{m.instance_type}{gpu} in {m.cloud}/{m.region}, {purchase(m.purchase)}, {m.replicas} replica(s) "
            f"(autoscaling {m.min_replicas}-{m.max_replicas}): {money(m.monthly_cost_usd)}/month. "
            f"Predicted {m.predicted_rps_per_replica:,.2f} rps per replica for a peak of {m.peak_rps:g} rps: "
            f"utilization at peak {share(m.utilization_at_peak)}; p95 {m.predicted_p95_latency_ms:,.0f} ms "
            f"(SLO {m.slo_p95_latency_ms:g} ms); confidence {share(m.confidence)}.")


def _model_detail(m: ModelLine) -> str:
    out = [f"#### {cell(m.name)}", cell(placement_text(m))]
    if m.explanation:
        out.append("\n".join(f"- {cell(line)}" for line in m.explanation))
    if m.runners_up:
        out.append(table(["Runner-up", "Purchase", "Replicas", "$/month", "Δ vs chosen", "Why not"],
                         [[f"{a.cloud}/{a.region} {a.instance_type}", purchase(a.purchase), a.replicas,
                           money(a.monthly_cost_usd), signed_money(a.delta_monthly_cost_usd), a.reason]
                          for a in m.runners_up], right=[2, 3, 4]))
    elif not m.rationale_recorded:
        out.append("_No runners-up recorded for this version._")
    return "\n\n".join(out)


def _versions(r: Report) -> str:
    rows = []
    for v in r.versions:
        mark = f"rollback to v{v.restores}" if v.is_rollback else v.reason
        here = " (this report)" if v.number == r.version else " (compared)" if v.number == r.compared_version else ""
        rows.append([f"v{v.number}{here}", v.created_at[:16].replace("T", " "), mark,
                     "yes" if v.applied else "no", money(v.monthly_cost_usd)])
    return table(["Version", "Created (UTC)", "Reason", "Applied", "$/month"], rows, right=[4])


def _actuals(r: Report) -> str:
    a = r.actuals
    if not a.available:
        return f"Left out: {cell(a.note)}."
    rows = [[m.model, m.windows, f"{m.hours:,.1f}", money(m.predicted_monthly_cost_usd),
             money(m.observed_monthly_cost_usd), percent(m.error_pct)] for m in a.models]
    text = table(["Model", "Windows", "Hours", "Predicted $/month", "Observed $/month", "Error"], rows,
                 right=[1, 2, 3, 4, 5])
    return text + (f"\n\n{cell(a.note)}" if a.note else "")


def _assumptions(r: Report) -> str:
    a = r.assumptions
    lines = [f"- {a.hours_per_month:g} hours per month; prices in {a.currency}, list prices"
             + (f" less discounts: {', '.join(a.discounts)}" if a.discounts else " (no discounts applied)"),
             f"- Catalog {cell(a.catalog_version)}" + (f", prices as of {a.catalog_price_date}"
                                                        if a.catalog_price_date else ""),
             f"- Budget status: over above the limit, near from {a.near_budget_fraction:.0%} of it",
             f"- Not included: {', '.join(a.not_included)}"]
    lines += [f"- {cell(n)}" for n in a.notes]
    return "\n".join(lines)


def render_markdown(r: Report, *, max_chars: int = MAX_CHARS) -> str:
    head = [_title(r),
            f"Version {r.version} ({cell(r.reason)}, {r.created_at[:16].replace('T', ' ')} UTC, "
            f"{'applied' if r.applied else 'not applied'}).",
            "### Cost change", cost_change_markdown(r.change, max_rows=30),
            "### Totals", _totals(r),
            "### By team", _groups("Team", r.teams, budgets=True),
            "### By cloud", _groups("Cloud", r.clouds),
            "### By region", _groups("Region", r.regions[:30])
            + (f"\n\n…and {len(r.regions) - 30} more regions." if len(r.regions) > 30 else ""),
            ]
    tail = ["### Cost over versions", _versions_capped(r),
            "### Actual vs predicted", _actuals_capped(r),
            "### Assumptions", _assumptions(r)]
    fixed = "\n\n".join(head) + "\n\n" + "\n\n".join(tail)
    room = max_chars - len(fixed) - 600
    return "\n\n".join([*head, _models_folded(r, room), *tail]) + "\n"


def _versions_capped(r: Report, keep: int = 40) -> str:
    if len(r.versions) <= keep:
        return _versions(r)
    import dataclasses

    recent = dataclasses.replace(r, versions=r.versions[-keep:])
    return f"The newest {keep} of {len(r.versions)} versions.\n\n" + _versions(recent)


def _actuals_capped(r: Report, keep: int = 40) -> str:
    if len(r.actuals.models) <= keep:
        return _actuals(r)
    import dataclasses

    worst = sorted(r.actuals.models, key=lambda m: -abs(m.error_pct or 0))[:keep]
    trimmed = dataclasses.replace(r, actuals=dataclasses.replace(r.actuals, models=tuple(worst)))
    return f"The {keep} largest errors of {len(r.actuals.models)} models.\n\n" + _actuals(trimmed)


def _models_folded(r: Report, room: int) -> str:
    """Per-model rows and details in <details>, changed and costly models first, while they fit."""
    order = sorted(r.models, key=lambda m: (m.change == "unchanged", -abs(m.delta_monthly_cost_usd),
                                            -m.monthly_cost_usd, m.name))
    rows = table(MODEL_HEADER, [], right=[5, 6, 7, 8])
    details: list[str] = []
    used = len(rows) + 200
    shown = 0
    for m in order:
        row = "\n| " + " | ".join(cell(v) for v in _model_row(m)) + " |"
        detail = _model_detail(m)
        if used + len(row) + len(detail) + 4 > room:
            break
        rows += row
        details.append(detail)
        used += len(row) + len(detail) + 4
        shown += 1
    more = len(r.models) - shown
    note = (f"\n\nShowing {shown} of {len(r.models)} models (changed and costliest first); the HTML, CSV and "
            f"JSON reports list all {len(r.models)}." if more else "")
    return (f"<details><summary>Per model ({len(r.models)} models)</summary>\n\n{rows}{note}\n\n"
            + "\n\n".join(details) + "\n\n</details>")
