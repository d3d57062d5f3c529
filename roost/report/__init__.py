"""Cost review reports: one figures model, four thin renderers.

    figures.py   pure: a version record (+ the compared one, the catalog, budgets, observed
                 costs) in, one frozen ``Report`` out. Every surface reads its numbers from it.
                 ``cost_change`` (the Infracost-style change between two plans) is public and
                 reused by ``roost ci``.
    sources.py   the I/O: reads the version store, the stack config, the fleet, the logs.
    render_*.py  JSON, CSV, Markdown and HTML views of a ``Report``; no arithmetic of their own.
    redact.py    the last pass over every rendered output: no value the stack marks secret.
"""
