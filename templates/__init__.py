"""jinja2 templates rendered by stacks/ (cloud-init boot scripts).

A package only so that a regular (non-editable) install ships the templates as package data.
"""
