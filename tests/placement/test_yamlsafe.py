"""The bounded YAML reader, and fleet files that used to crash or be silently accepted."""
from __future__ import annotations

import time
import tracemalloc

import pytest

from placement.errors import FleetError
from placement.fleet import parse_fleet_text
from placement.yamlsafe import MAX_DEPTH, YamlError, load_yaml

from testdata import FLEET_V1


def alias_bomb(depth: int) -> str:
    """~650 bytes at depth 9: each level is a list of nine aliases to the level below."""
    lines = ['l0: &l0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, depth + 1):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_quickly_and_in_little_memory():
    text = alias_bomb(9)
    assert len(text) < 700
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(YamlError, match="expands to more than"):
        load_yaml(text, "bomb.yaml")
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert elapsed < 2 and peak < 50e6, (elapsed, peak)


def test_a_few_aliases_are_still_fine():
    assert load_yaml("a: &a {k: 1}\nb: *a\nc:\n  <<: *a\n  k: 2\n", "f") == {"a": {"k": 1}, "b": {"k": 1},
                                                                         "c": {"k": 2}}


@pytest.mark.parametrize("text", ["x: " + "[" * 100_000 + "]" * 100_000, "x: " + "{a: " * 5000 + "1" + "}" * 5000])
def test_deep_nesting_is_refused_not_a_recursion_error(text):
    with pytest.raises(YamlError, match=f"nested more than {MAX_DEPTH} levels"):
        load_yaml(text, "deep.yaml")


@pytest.mark.parametrize("text, line", [("a: 1\nb: 2\na: 3\n", 3), ("{a: 1, a: 2}", 1)])
def test_duplicate_keys_are_refused_with_both_lines(text, line):
    with pytest.raises(YamlError, match=rf"line {line}, .*duplicate key 'a' \(first on line 1\)"):
        load_yaml(text, "dup.yaml")


def test_too_large_and_binary_text_are_refused():
    with pytest.raises(YamlError, match="at most 10"):
        load_yaml("a: 1\n" * 10, "big.yaml", max_bytes=10)
    with pytest.raises(YamlError, match="not UTF-8"):
        load_yaml(b"\xff\xfe\x00a", "bin.yaml")
    with pytest.raises(YamlError, match="special characters are not allowed"):  # found by the fuzzer
        load_yaml("a: 1\nb: \x17\n", "ctl.yaml")


@pytest.mark.parametrize("version", ["1.0", "true", "'1'", "2"])
def test_only_the_integer_1_is_fleet_version_1(version):
    with pytest.raises(FleetError, match="version: must be 1"):
        parse_fleet_text(FLEET_V1.replace("version: 1", f"version: {version}"), "fleet.yaml")


def test_a_duplicate_key_in_a_fleet_file_is_an_error_not_the_last_value():
    text = FLEET_V1.replace("    team: risk\n", "    team: risk\n    team: fraud\n")
    with pytest.raises(FleetError, match=r"fleet.yaml: line \d+, column \d+: invalid YAML: duplicate key 'team'"):
        parse_fleet_text(text, "fleet.yaml")


@pytest.mark.parametrize("value, words", [(".inf", "finite"), (".nan", "finite"), ("1e308", "≤")])
def test_peak_rps_must_be_finite_and_plausible(value, words):
    with pytest.raises(FleetError, match=f"load.peak_rps: must be .*{words}"):
        parse_fleet_text(FLEET_V1.replace("peak_rps: 1500", f"peak_rps: {value}"), "fleet.yaml")


def test_the_cli_refuses_hostile_fleet_files_in_one_line(tmp_path):
    from click.testing import CliRunner

    from roost.cli import main

    for name, text in {"bomb.yaml": alias_bomb(9), "deep.yaml": "models: " + "[" * 100_000,
                       "inf.yaml": FLEET_V1.replace("peak_rps: 1500", "peak_rps: .inf")}.items():
        (tmp_path / name).write_text(text)
        result = CliRunner().invoke(main, ["recommend", str(tmp_path / name)])
        assert result.exit_code == 2, (name, result.output)
        assert "internal error" not in result.output
