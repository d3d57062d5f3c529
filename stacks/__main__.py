"""Entry point of the Pulumi project (Pulumi.yaml ``main: stacks/``)."""
from stacks.program import run

run()
