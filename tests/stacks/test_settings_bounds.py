"""Budgets are caps: a cap that is not a finite number would let every plan through."""
from __future__ import annotations

import pytest

from stacks.settings import SettingsError, parse_settings


@pytest.mark.parametrize("budgets", [{"stack": float("nan")}, {"stack": float("inf")}, {"stack": "Infinity"},
                                     {"teams": {"risk": float("nan")}}, {"stack": True}])
def test_a_non_finite_budget_is_refused(kit, budgets):
    plan = kit.plan(kit.deployment("m"))
    with pytest.raises(SettingsError, match="budgets.*finite number"):
        parse_settings({"plan": plan.to_dict(), "budgets": budgets}, stack="prod")
