"""The HTML report as a browser shows it: headless Chromium renders the text and a full-size page.

Chromium is Debian's ``chromium`` package; ``.ci/run`` installs it when missing. Without it the
test is skipped on a developer's machine and fails in CI (``CI`` set), so CI cannot pass silently.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from roost.report.figures import Observed, ReportInputs, VersionPoint, build_report
from roost.report.render import render

from report_testdata import CATALOG, V1, V2

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WIDTH, HEIGHT = 1280, 1600


@pytest.fixture(scope="module")
def browser() -> str:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs Debian's chromium package)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    report = build_report(ReportInputs(
        stack="prod", version=2, reason="plan", created_at="2026-01-02T03:04:05Z", author="ana", applied=False,
        plan=V2, compared_version=1, compared_plan=V1, catalog=CATALOG,
        history=(VersionPoint(number=1, reason="plan", created_at="2026-01-01T00:00:00Z", monthly_cost_usd=1820.62,
                              restores=None, applied=True),
                 VersionPoint(number=2, reason="plan", created_at="2026-01-02T03:04:05Z", monthly_cost_usd=1890.70,
                              restores=None, applied=False)),
        team_budgets={"risk": 220.0, "nlp": 1600.0}, rationale={},
        observed={"a": Observed(windows=4, hours=100.0, cost_usd=30.0)}))
    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(render(report, "html"))
    return path


def run(browser: str, tmp: Path, *args: str) -> subprocess.CompletedProcess:
    # --no-sandbox: CI containers run as root, where Chromium's sandbox cannot start.
    return subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--no-first-run", f"--user-data-dir={tmp / 'profile'}", *args],
                          capture_output=True, text=True, timeout=180, check=False)


def test_rendered_text(browser, page, tmp_path):
    result = run(browser, tmp_path, "--dump-dom", page.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    for text in ("Cost report: stack", "$1,890.70", "+$70.08 (+3.85%)", "Spot saves", "$1,327.14",
                 "1. Totals", "2. Change against version 1", "3. Per model", "4. Cost over versions",
                 "5. Actual vs predicted", "6. Assumptions", "730 hours per month", "OVER", "near"):
        assert text in dom, text
    assert dom.count("<svg") == 3


def test_screenshot_is_a_full_page(browser, page, tmp_path):
    from PIL import Image

    shot = tmp_path / "report.png"
    result = run(browser, tmp_path, f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={shot}", page.as_uri())
    assert result.returncode == 0 and shot.is_file(), result.stderr[-2000:]
    with Image.open(shot) as img:
        assert img.size == (WIDTH, HEIGHT)
        # A page that failed to render is one flat colour; this one has text, tables and charts.
        colours = img.convert("RGB").getcolors(maxcolors=1_000_000) or []
        assert len(colours) > 50
    assert shot.stat().st_size > 30_000
