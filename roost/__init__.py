"""roost: infrastructure as code with learned placement for ML model serving."""

# The one home of the version: pyproject.toml reads it (tool.setuptools.dynamic), and reading it
# here costs nothing, where importlib.metadata would add ~80 ms to every `roost --help`.
__version__ = "0.2.0"
