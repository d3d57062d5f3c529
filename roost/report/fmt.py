"""How report figures read as text: one place for money, signs, percentages and labels."""
from __future__ import annotations

from typing import Any


def money(usd: float) -> str:
    """Always to the cent: a reviewer adds these up."""
    return f"-${abs(usd):,.2f}" if usd < 0 else f"${usd:,.2f}"


def signed_money(usd: float) -> str:
    return ("+" if usd >= 0 else "-") + f"${abs(usd):,.2f}"


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.2f}%"


def share(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def purchase(value: str) -> str:
    return value.replace("_", "-")


def status(value: str | None) -> str:
    return {"over": "OVER", "near": "near", "under": "under"}.get(value or "", "-")


def value(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v).replace("_", "-") if isinstance(v, str) and v in ("on_demand",) else str(v)
