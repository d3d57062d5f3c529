"""The four formats carry the same numbers, add up, and never show a secret."""
from __future__ import annotations

import csv
import io
import json
import re
from html.parser import HTMLParser

import pytest

from roost.report.figures import Observed, ReportInputs, VersionPoint, build_report
from roost.report.render import FORMATS, render
from roost.report.render_csv import COLUMNS

from report_testdata import CATALOG, ENV_SECRET, V1, V2, choice, deployment, plan

STACK_SECRET = "hf_stack-secret-value-0042"


@pytest.fixture(scope="module")
def report():
    from placement.types import Purchase

    from report_testdata import G5, M5

    # The spot model carries an env value that must never be printed.
    new = plan(deployment("a", "risk", choice(M5, 3), peak_rps=250.0),
               deployment("b", "nlp", choice(G5, 4, Purchase.SPOT, base=1), env=(("TOKEN", ENV_SECRET),)),
               deployment("c", "nlp", choice(M5, 1)))
    assert new.monthly_cost_usd == pytest.approx(V2.monthly_cost_usd)
    return build_report(ReportInputs(
        stack="prod", version=3, reason="rollback to 1", created_at="2026-01-03T00:00:00Z", author="ana",
        applied=True, plan=new, compared_version=2, compared_plan=V1, catalog=CATALOG,
        history=(VersionPoint(number=1, reason="plan", created_at="2026-01-01T00:00:00Z", monthly_cost_usd=1820.62,
                              restores=None, applied=True),
                 VersionPoint(number=2, reason="plan", created_at="2026-01-02T00:00:00Z", monthly_cost_usd=1820.62,
                              restores=None, applied=False),
                 VersionPoint(number=3, reason="rollback to 1", created_at="2026-01-03T00:00:00Z",
                              monthly_cost_usd=1890.70, restores=1, applied=True)),
        model_budgets={"a": 300.0}, team_budgets={"risk": 220.0, "nlp": 1600.0}, stack_budget=None,
        rationale={}, observed={"a": Observed(windows=2, hours=10.0, cost_usd=3.0)}))


@pytest.fixture(scope="module")
def outputs(report):
    return {fmt: render(report, fmt, secrets=(STACK_SECRET,)) for fmt in FORMATS}


def dollars(text: str) -> list[float]:
    return [float(x.replace(",", "")) for x in re.findall(r"\$(-?[\d,]+\.\d\d)", text)]


class _Tables(HTMLParser):
    """Rows of every <table> with an aria-label, as cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._label: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._label = dict(attrs).get("aria-label")
            self.tables.setdefault(self._label or "", [])
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._label or ""].append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def html_tables(text: str) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(text)
    return parser.tables


def md_rows(text: str, header_start: str) -> list[list[str]]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split(" | ")])
    return rows


def test_json_has_the_contract_keys_and_adds_up(outputs, report):
    data = json.loads(outputs["json"])
    for key in ("total_monthly_cost_usd", "previous_total_monthly_cost_usd", "delta_monthly_cost_usd", "models",
                "teams", "assumptions"):
        assert key in data
    assert data["total_monthly_cost_usd"] == 1890.70
    assert data["previous_total_monthly_cost_usd"] == 1820.62 and data["delta_monthly_cost_usd"] == 70.08
    assert round(sum(m["monthly_cost_usd"] for m in data["models"]), 2) == data["total_monthly_cost_usd"]
    assert round(sum(t["monthly_cost_usd"] for t in data["teams"]), 2) == data["total_monthly_cost_usd"]
    assert round(data["on_demand_monthly_cost_usd"] + data["spot_monthly_cost_usd"], 2) == 1890.70
    assert data["assumptions"]["hours_per_month"] == 730.0
    assert data["versions"][-1]["rollback"] is True and data["versions"][-1]["restores"] == 1


def test_csv_has_one_row_per_model_with_stable_columns_and_adds_up(outputs):
    rows = list(csv.DictReader(io.StringIO(outputs["csv"])))
    assert tuple(rows[0].keys()) == COLUMNS
    assert sorted(r["model"] for r in rows) == ["a", "b", "c"]
    assert round(sum(float(r["monthly_cost_usd"]) for r in rows), 2) == 1890.70
    assert round(sum(float(r["spot_savings_monthly_usd"]) for r in rows), 2) == 1327.14


def test_markdown_adds_up(outputs):
    md = outputs["md"]
    assert "| Total monthly cost | $1,890.70 |" in md
    assert "| Previous (v2) | $1,820.62 |" in md and "**+$70.08 (+3.85%)**" in md
    per_model = md_rows(md, "| Model | Team | Where |")
    assert round(sum(dollars(r[6])[0] for r in per_model), 2) == 1890.70
    teams = md_rows(md, "| Team | Models |")
    assert round(sum(dollars(r[2])[0] for r in teams), 2) == 1890.70
    assert len(md) < 65_536 and "<details>" in md


def test_html_adds_up(outputs):
    tables = html_tables(outputs["html"])
    models = [r for r in tables["Models"][1:] if r[0] != "Total"]
    total = next(r for r in tables["Models"] if r[0] == "Total")
    assert dollars(total[8]) == [1890.70]
    assert round(sum(dollars(r[8])[0] for r in models), 2) == 1890.70
    teams = [r for r in tables["Cost by team"][1:] if r[0] != "Total"]
    assert round(sum(dollars(r[2])[0] for r in teams), 2) == 1890.70


def test_the_four_formats_carry_the_same_numbers(outputs):
    data = json.loads(outputs["json"])
    per_json = {m["name"]: m["monthly_cost_usd"] for m in data["models"]}
    per_csv = {r["model"]: float(r["monthly_cost_usd"]) for r in csv.DictReader(io.StringIO(outputs["csv"]))}
    per_md = {r[0]: dollars(r[6])[0] for r in md_rows(outputs["md"], "| Model | Team | Where |")}
    per_html = {r[0]: dollars(r[8])[0] for r in html_tables(outputs["html"])["Models"][1:] if r[0] != "Total"}
    assert per_json == per_csv == per_md == per_html == {"a": 210.24, "b": 1610.38, "c": 70.08}
    saving = data["spot_savings_monthly_usd"]
    spot_rows = {r[0]: r[1] for r in html_tables(outputs["html"])["On demand and spot"][1:]}
    assert dollars(spot_rows["What spot saves"]) == [saving]
    assert f"| Spot saves | ${saving:,.2f} |" in outputs["md"]
    delta = data["delta_monthly_cost_usd"]
    for fmt in ("md", "html"):
        assert f"+${delta:,.2f}" in outputs[fmt]
    actual = data["actual_vs_predicted"]["models"][0]
    assert actual["observed_monthly_cost_usd"] == 219.00
    for fmt in ("md", "html"):
        assert "$219.00" in outputs[fmt]
    assert next(r for r in csv.DictReader(io.StringIO(outputs["csv"])) if r["model"] == "a")[
        "observed_monthly_cost_usd"] == "219.0"


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_secret_in_any_format(outputs, fmt):
    assert ENV_SECRET not in outputs[fmt]
    assert "TOKEN" not in outputs[fmt]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_secret_that_reaches_the_output_is_masked(report, fmt):
    # The worst case: a value the stack marks secret is also a name the report prints (here the stack's).
    import dataclasses

    leaky = dataclasses.replace(report, stack=STACK_SECRET)
    text = render(leaky, fmt, secrets=(STACK_SECRET, "no"))
    assert STACK_SECRET not in text and "[secret]" in text
    # Values too short to mask without corrupting the report are left alone.
    assert render(report, fmt, secrets=("no",)) == render(report, fmt)


@pytest.mark.parametrize("fmt", FORMATS)
def test_assumptions_in_every_format(outputs, fmt):
    text = outputs[fmt]
    if fmt == "csv":  # the CSV names the catalog on every row; the rest lives in the other formats
        assert "test-2026.01" in text
        return
    assert "730" in text and "test-2026.01" in text and "egress" in text
