"""Pick a renderer by format name and run the redaction pass over its output."""
from __future__ import annotations

from collections.abc import Iterable

from roost.report.figures import Report
from roost.report.redact import scrub

FORMATS = ("html", "md", "csv", "json")


def render(report: Report, fmt: str, *, secrets: Iterable[str] = ()) -> str:
    if fmt == "html":
        from roost.report.render_html import render_html as fn
    elif fmt == "md":
        from roost.report.render_markdown import render_markdown as fn
    elif fmt == "csv":
        from roost.report.render_csv import render_csv as fn
    elif fmt == "json":
        from roost.report.render_json import render_json as fn
    else:
        raise ValueError(f"unknown report format {fmt!r}")
    return scrub(fn(report), secrets)


def default_filename(report: Report, fmt: str = "html") -> str:
    """``roost-report-<stack>-v<N>.<ext>`` in the current directory."""
    return f"roost-report-{report.stack}-v{report.version}.{fmt}"
