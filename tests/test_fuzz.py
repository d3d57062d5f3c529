"""Property-based fuzzing of the input surfaces, driven through the CLI in-process.

Generated fleet files, deployment logs, committed plans and stack settings, valid and mutated
(tests/fuzzkit.py). Any exit 70, traceback, non-finite number in an output, or a write after a
refusal fails. Examples are few here (the suite must stay quick); benchmarks/fuzz_campaign.py
runs the same generators for thousands of inputs per surface.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import fuzzkit
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

# No shrinking: a failing input is reported as drawn (shrinking through the CLI takes minutes).
FAST = settings(max_examples=25, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SLOW = settings(FAST, max_examples=5)


def assert_clean(outcome: fuzzkit.Outcome, what: object) -> None:
    assert not outcome.problems, (outcome.problems, outcome.output[-800:], repr(what)[:2000])


@FAST
@given(fuzzkit.fleet_texts())
def test_fleet_files_parse_or_fail_in_one_line(text):
    with tempfile.TemporaryDirectory() as tmp:
        assert_clean(fuzzkit.fleet_outcome(text, Path(tmp), cli=False), text)


@settings(FAST, max_examples=8)
@given(fuzzkit.log_files(), st.none() | st.integers(0, 10**6))
def test_logs_through_roost_history_ingest(log, truncate):
    name, frame = log
    with tempfile.TemporaryDirectory() as tmp:
        assert_clean(fuzzkit.log_outcome(name, frame, Path(tmp), truncate=truncate), (name, frame, truncate))


@FAST
@given(fuzzkit.plans())
def test_committed_plans_are_checked_and_repriced_never_trusted(plan):
    assert_clean(fuzzkit.plan_outcome(plan), plan)


@FAST
@given(fuzzkit.stack_settings())
def test_stack_settings_parse_or_fail_in_one_line(raw):
    assert_clean(fuzzkit.settings_outcome(raw), raw)


@SLOW
@given(fuzzkit.stack_settings())
def test_stack_files_through_roost_versions(raw):
    raw.pop("planVersion", None)  # no store here: a named version would be a (correctly) lost tail
    with tempfile.TemporaryDirectory() as tmp:
        assert_clean(fuzzkit.stack_file_outcome(raw, Path(tmp), ["versions", "--json"]), raw)
