"""Errors of the placement core.

    RoostError                       base of every error roost reports to a user
    ├── InputError                   the user's input is wrong (exit 2)
    │   ├── FleetError               a fleet file failed validation (carries every problem)
    │   ├── CatalogError             a catalog file is malformed or a name is unknown
    │   └── InfeasibleError          nothing can satisfy a model's constraints
    └── ModelArtifactError           a trained model directory is missing, tampered or mismatched

Messages are complete sentences a user can act on; the CLI prints them as they are.
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable


class RoostError(Exception):
    exit_code = 1


class InputError(RoostError):
    exit_code = 2


class FleetError(InputError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class CatalogError(InputError):
    pass


class InfeasibleError(InputError):
    def __init__(self, model: str, reason: str):
        self.model = model
        self.reason = reason
        super().__init__(f"{model}: no feasible placement: {reason}")


class ModelArtifactError(RoostError):
    exit_code = 2


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean "x"?)' when a close match exists, else ''."""
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f' (did you mean "{match[0]}"?)' if match else ""
