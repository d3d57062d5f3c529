"""The HTML report's charts, drawn with matplotlib as inline SVG (text kept as text, no fonts embedded).

Each function takes report figures and returns an ``<svg>`` element as a string. Output is
deterministic (fixed hash salt, no date) so a report of the same version is the same file.
"""
from __future__ import annotations

import io
import re
from collections.abc import Sequence

from roost.report.figures import GroupLine, Report, SpotSplit, VersionPoint

MAX_BARS = 12
INK, ACCENT, SPOT, MUTED, WARN = "#1f2937", "#2563eb", "#16a34a", "#9ca3af", "#dc2626"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    matplotlib.rcParams.update({
        "svg.fonttype": "none", "svg.hashsalt": "roost-report", "font.family": "sans-serif", "font.size": 9,
        "axes.spines.top": False, "axes.spines.right": False, "axes.edgecolor": MUTED, "axes.labelcolor": INK,
        "xtick.color": INK, "ytick.color": INK,
    })
    import matplotlib.pyplot as plt

    return plt


def _svg(fig, title: str) -> str:
    plt = _pyplot()
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg"):]  # drop the XML prolog and DOCTYPE: the SVG goes inline
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)  # RDF boilerplate with URLs
    text = re.sub(r'<svg([^>]*?)width="[^"]*"\s+height="[^"]*"', r'<svg\1', text, count=1)
    return text.replace("<svg", f'<svg role="img" aria-label="{title}" class="chart"', 1)


def _money_axis(ax, axis: str = "x") -> None:
    from matplotlib.ticker import FuncFormatter

    fmt = FuncFormatter(lambda v, _: f"${v:,.0f}")
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(fmt)


def cost_by_team(teams: Sequence[GroupLine]) -> str:
    plt = _pyplot()
    shown = list(teams[:MAX_BARS])
    rest = teams[MAX_BARS:]
    labels = [t.name for t in shown] + ([f"{len(rest)} other teams"] if rest else [])
    values = [t.monthly_cost_usd for t in shown] + ([sum(t.monthly_cost_usd for t in rest)] if rest else [])
    colors = [WARN if t.budget_status == "over" else ACCENT for t in shown] + ([MUTED] if rest else [])
    fig, ax = plt.subplots(figsize=(6.4, 0.35 * len(labels) + 0.9))
    ax.barh(labels[::-1], values[::-1], color=colors[::-1])
    for t in shown:
        if t.budget_monthly_usd is not None:
            y = len(labels) - 1 - shown.index(t)
            ax.plot([t.budget_monthly_usd] * 2, [y - 0.4, y + 0.4], color=INK, linewidth=1.5)
    _money_axis(ax)
    ax.set_title("Monthly cost by team (red: over budget; tick: budget)", loc="left", fontsize=10)
    return _svg(fig, "Monthly cost by team")


def on_demand_vs_spot(s: SpotSplit) -> str:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 1.9))
    ax.barh(["this plan"], [s.on_demand_monthly_cost_usd], color=ACCENT, label="on demand")
    ax.barh(["this plan"], [s.spot_monthly_cost_usd], left=[s.on_demand_monthly_cost_usd], color=SPOT, label="spot")
    ax.barh(["all on demand"], [s.all_on_demand_monthly_cost_usd], color=MUTED, label="same replicas, all on demand")
    _money_axis(ax)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=3, fontsize=8, frameon=False)
    ax.set_title(f"On demand vs spot: spot saves ${s.spot_savings_monthly_usd:,.2f}/month", loc="left", fontsize=10)
    return _svg(fig, "On-demand vs spot monthly cost")


def cost_over_versions(points: Sequence[VersionPoint], report: Report) -> str:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 2.6))
    xs = [p.number for p in points]
    ys = [p.monthly_cost_usd for p in points]
    ax.step(xs, ys, where="post", color=ACCENT, linewidth=1.5)
    ax.plot(xs, ys, "o", color=ACCENT, markersize=4)
    rollbacks = [p for p in points if p.is_rollback]
    if rollbacks:
        ax.plot([p.number for p in rollbacks], [p.monthly_cost_usd for p in rollbacks], "D", color=WARN,
                markersize=6, label="rollback")
        ax.legend(loc="best", fontsize=8, frameon=False)
    here = next((p for p in points if p.number == report.version), None)
    if here is not None:
        ax.plot([here.number], [here.monthly_cost_usd], "o", markersize=9, markerfacecolor="none", color=INK)
    _money_axis(ax, "y")
    ax.set_xlabel("version")
    ax.set_ylim(bottom=0)
    if len(xs) <= 20:
        ax.set_xticks(xs)
    ax.set_title("Monthly cost over versions (circled: this report)", loc="left", fontsize=10)
    return _svg(fig, "Monthly cost over versions")
