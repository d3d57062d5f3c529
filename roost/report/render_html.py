"""One self-contained HTML file: inline CSS and SVG charts; no scripts, fonts or network."""
from __future__ import annotations

from importlib import resources

from roost.report import charts, fmt
from roost.report.figures import Report
from roost.report.render_markdown import placement_text

TEMPLATE = "report.html.j2"


def _environment():
    import jinja2

    folder = resources.files("templates") / "report"
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(folder)), undefined=jinja2.StrictUndefined,
                             autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(money=fmt.money, signed=fmt.signed_money, percent=fmt.percent, share=fmt.share,
                       purchase=fmt.purchase, status=fmt.status, value=fmt.value)
    return env


def render_html(r: Report) -> str:
    from markupsafe import Markup

    figures = {
        "teams": Markup(charts.cost_by_team(r.teams)),
        "spot": Markup(charts.on_demand_vs_spot(r.spot)),
        "versions": Markup(charts.cost_over_versions(r.versions, r)) if len(r.versions) > 1 else None,
    }
    actual = {a.model: a for a in r.actuals.models}
    return _environment().get_template(TEMPLATE).render(r=r, charts=figures, actual=actual,
                                                          placement_text=placement_text)
