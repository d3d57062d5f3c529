"""`python -m roost.cli` runs the same command line as the `roost` script."""
from roost.cli import main

main(prog_name="roost")
