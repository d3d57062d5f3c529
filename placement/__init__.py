"""roost's placement core: fleet files, the catalog, predictors and the optimizer.

Pure: no Pulumi, click or jinja2 (tests/test_architecture.py checks it). Import the
submodules you need; this package imports nothing heavy on its own.
"""
