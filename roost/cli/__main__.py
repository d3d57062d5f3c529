"""`python -m roost.cli` runs the same command line as the `roost` script."""
from roost.cli import run

run()
