"""roost: infrastructure as code with learned placement for ML model serving."""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("roost")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+source"
