"""The calibrated world: its constants fitted to public benchmarks, stored hashed and versioned.

Layout of a calibration file (``history/data/world.json`` is the bundled one)::

    {"format": 1, "world_version": "w1-<12 hex>", "params": {...WorldParams.to_dict()},
     "fit": {...how it was fitted: rows, benchmarks, table sha256}, "sha256": "<hex>"}

``sha256`` covers the canonical JSON (sorted keys, no spaces) of everything else, so a hand
edit is refused when the file is read; ``world_version`` is derived from the params, so
the same benchmark table always gives the same file (and the same version).
"""
from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from importlib import resources
from pathlib import Path

from history.world import WorldParams
from placement.errors import InputError

CALIBRATION_FORMAT = 1
BUNDLED_WORLD_FILE = "data/world.json"


def _canonical(data: dict) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def world_version(params: WorldParams) -> str:
    """A name for a set of constants: the same constants, the same name."""
    body = params.to_dict()
    body.pop("version")
    return "w1-" + hashlib.sha256(_canonical(body)).hexdigest()[:12]


def calibration_document(params: WorldParams, fit: dict) -> dict:
    """The file's content for ``params`` (renamed to their version) and a description of the fit."""
    version = world_version(params)
    body = {"format": CALIBRATION_FORMAT, "world_version": version,
            "params": {**params.to_dict(), "version": version}, "fit": fit}
    return {**body, "sha256": hashlib.sha256(_canonical(body)).hexdigest()}


def calibration_bytes(document: dict) -> bytes:
    return (json.dumps(document, sort_keys=True, indent=2, ensure_ascii=True) + "\n").encode()


def parse_calibration(text: str, source: str) -> WorldParams:
    """WorldParams of a calibration file; InputError when it is malformed or was edited."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{source}: not a calibration file (invalid JSON: {exc.msg}, line {exc.lineno})") from None
    if not isinstance(data, dict) or "sha256" not in data or "params" not in data:
        raise InputError(f"{source}: not a calibration file (no params or sha256)")
    if data.get("format") != CALIBRATION_FORMAT:
        raise InputError(f"{source}: calibration format {data.get('format')!r} (this roost reads {CALIBRATION_FORMAT})")
    body = {k: v for k, v in data.items() if k != "sha256"}
    if hashlib.sha256(_canonical(body)).hexdigest() != data["sha256"]:
        raise InputError(f"{source}: calibration file was edited (sha256 mismatch); "
                         "re-run `roost calibrate` instead of editing it")
    try:
        params = WorldParams.from_dict(data["params"])
    except (TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"{source}: malformed calibration params: {exc}") from None
    if params.version != data.get("world_version") or world_version(params) != params.version:
        raise InputError(f"{source}: world_version does not match its params")
    return params


def load_calibration(path: str | Path) -> WorldParams:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{p}: cannot read calibration file: {exc.strerror or exc}") from None
    return parse_calibration(text, str(p))


@lru_cache(maxsize=1)
def bundled_world_params() -> WorldParams:
    """The calibration shipped with roost (the uncalibrated whiteboard world if none is)."""
    ref = resources.files("history").joinpath(BUNDLED_WORLD_FILE)
    if not ref.is_file():
        return WorldParams()
    return parse_calibration(ref.read_text(encoding="utf-8"), f"history/{BUNDLED_WORLD_FILE}")
