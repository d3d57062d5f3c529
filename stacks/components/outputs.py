"""What every cloud's fleet component hands back, in its own module so the base component and
the per-cloud components can both import it without importing each other."""
from __future__ import annotations

from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class FleetOutputs:
    """The cloud-specific outputs; everything else a fleet reports comes from the plan."""

    endpoint: pulumi.Output[str]
    group_name: pulumi.Output[str]
