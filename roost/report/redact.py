"""The last pass over every rendered report: no value the stack marks secret gets out.

Reports are built from decisions and prices, never from env values or secret values, so
this pass should find nothing; it is here so that a future field cannot leak one by accident.
Values shorter than ``MIN_SECRET_CHARS`` are not searched for: replacing "1" or "on" everywhere
would corrupt the figures while protecting nothing a reader could not guess.
"""
from __future__ import annotations

from collections.abc import Iterable

MASK = "[secret]"
MIN_SECRET_CHARS = 4


def scrub(text: str, secrets: Iterable[str]) -> str:
    # Longest first, so a secret that contains another is masked whole.
    for secret in sorted({s for s in secrets if len(s) >= MIN_SECRET_CHARS}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text
