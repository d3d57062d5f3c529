"""The long fuzzing campaign: thousands of generated hostile inputs per surface, counted.

    nice -n 10 python benchmarks/fuzz_campaign.py --inputs 10000 [--cli-every 20] [--seed 0]

Surfaces and what each input goes through (generators and oracle: tests/fuzzkit.py):

    fleet      a fleet file → the fleet boundary (parse, validate, check against the catalog);
               every ``--cli-every``-th also through `roost recommend --json`
    logs       a deployment log (.csv, .csv.gz or .parquet, cells/columns/rows damaged, some
               files cut short) → history.ingest.ingest into a fresh store; every
               ``--cli-every``-th through `roost history ingest --json`
    plans      a committed plan → DeploymentPlan.from_dict, check against the catalog, repricing
    settings   a stack's roost:* settings → stacks.settings.parse_settings; every
               ``--cli-every``-th written as Pulumi.<stack>.yaml and read by `roost versions --json`

It prints, per surface, the inputs tried, how many were accepted and refused, and the counts
of internal errors (exit 70, traceback) and silent accepts (a non-finite number in an
output, or a write after a refusal), with the first few offending inputs. Exit 1 when any
surface had one. Run it before each release; results go in docs/results.md.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import fuzzkit  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


class Tally:
    def __init__(self, surface: str):
        self.surface = surface
        self.tried = 0
        self.codes: Counter[int] = Counter()
        self.internal = 0
        self.silent = 0
        self.examples: list[str] = []
        self.started = time.perf_counter()

    def add(self, outcome: fuzzkit.Outcome, what: object) -> None:
        self.tried += 1
        if self.tried % 500 == 0:  # partial counts survive an interrupted run
            print(f"  {self.surface}: {self.tried:,} inputs, {self.internal} internal errors, "
                  f"{self.silent} silent accepts, {time.perf_counter() - self.started:.0f} s", flush=True)
        self.codes[outcome.exit_code] += 1
        problems = outcome.problems
        if any(p in ("internal error", "traceback") for p in problems):
            self.internal += 1
        elif problems or outcome.output.startswith("non-finite"):
            self.silent += 1
        else:
            return
        if len(self.examples) < 5:
            self.examples.append(f"{problems or outcome.output[:200]}: {outcome.output[-300:]!r} ← {repr(what)[:400]}")
            print(f"  {self.surface} FOUND: {self.examples[-1]}", flush=True)

    def row(self) -> dict:
        return {"surface": self.surface, "inputs": self.tried, "accepted": self.codes.get(0, 0),
                "refused": self.tried - self.codes.get(0, 0), "internal_errors": self.internal,
                "silent_accepts": self.silent, "seconds": round(time.perf_counter() - self.started, 1),
                "exit_codes": dict(sorted(self.codes.items())), "examples": self.examples}


def _campaign(strategy: st.SearchStrategy, n: int, seed: int, body) -> None:
    config = settings(max_examples=n, deadline=None, database=None, derandomize=False,
                      phases=[Phase.generate], suppress_health_check=list(HealthCheck))

    @config
    @given(strategy)
    def run(value):
        body(value)

    # A seed per campaign makes a run repeatable.
    run._hypothesis_internal_use_seed = seed  # type: ignore[attr-defined]
    run()


def fleet(n: int, seed: int, cli_every: int, work: Path) -> Tally:
    tally = Tally("fleet")

    def body(text: str) -> None:
        cli = tally.tried % cli_every == 0
        tally.add(fuzzkit.fleet_outcome(text, work, cli=cli), text)
    _campaign(fuzzkit.fleet_texts(), n, seed, body)
    return tally


def logs(n: int, seed: int, cli_every: int, work: Path) -> Tally:
    tally = Tally("logs")

    def body(drawn) -> None:
        (name, frame), truncate = drawn
        cli = tally.tried % cli_every == 0
        with tempfile.TemporaryDirectory(dir=work) as tmp:
            tally.add(fuzzkit.log_outcome(name, frame, Path(tmp), truncate=truncate, cli=cli),
                      (name, frame.head(3), truncate))
    _campaign(st.tuples(fuzzkit.log_files(), st.none() | st.none() | st.integers(0, 10**6)), n, seed, body)
    return tally


def plans(n: int, seed: int, cli_every: int, work: Path) -> Tally:
    tally = Tally("plans")
    _campaign(fuzzkit.plans(), n, seed, lambda plan: tally.add(fuzzkit.plan_outcome(plan), plan))
    return tally


def stack_settings(n: int, seed: int, cli_every: int, work: Path) -> Tally:
    tally = Tally("settings")

    def body(raw: dict) -> None:
        if tally.tried % cli_every == 0:
            raw = dict(raw)
            raw.pop("planVersion", None)
            with tempfile.TemporaryDirectory(dir=work) as tmp:
                tally.add(fuzzkit.stack_file_outcome(raw, Path(tmp), ["versions", "--json"]), raw)
        else:
            tally.add(fuzzkit.settings_outcome(raw), raw)
    _campaign(fuzzkit.stack_settings(), n, seed, body)
    return tally


SURFACES = {"fleet": fleet, "logs": logs, "plans": plans, "settings": stack_settings}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=10_000, help="inputs per surface")
    parser.add_argument("--cli-every", type=int, default=20, help="send every Nth fleet/settings input through the CLI")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--surface", choices=sorted(SURFACES), action="append", help="only these (repeatable)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="roost-fuzz-") as tmp:
        for name in args.surface or list(SURFACES):
            work = Path(tmp) / name
            work.mkdir()
            tally = SURFACES[name](args.inputs, args.seed, args.cli_every, work)
            rows.append(tally.row())
            if not args.json:
                r = rows[-1]
                print(f"{name:9s} {r['inputs']:>7,} inputs  {r['accepted']:>6,} accepted  {r['refused']:>6,} refused  "
                      f"{r['internal_errors']} internal errors  {r['silent_accepts']} silent accepts  "
                      f"({r['seconds']} s; exit codes {r['exit_codes']})", flush=True)
                for example in r["examples"]:
                    print(f"    {example}")
    if args.json:
        print(json.dumps(rows, indent=2))
    return 1 if any(r["internal_errors"] or r["silent_accepts"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
