"""Fleet file v1: valid files parse into frozen objects; every bad input is one clear line."""
from __future__ import annotations

import dataclasses
import textwrap

import pytest

from placement.errors import FleetError
from placement.fleet import load_fleet, parse_fleet_text
from placement.types import AcceleratorPolicy, Cloud, Precision, SpotPolicy, Task

BASE_MODEL = """
  - name: {name}
    task: text-classification
    framework: pytorch
    params_millions: 110
    precision: fp16
    image: ghcr.io/acme/bert:1.0
    load: {{peak_rps: 100, input_tokens: 128}}
    slo: {{p95_latency_ms: 100}}
"""


def fleet_text(*models: str, header: str = "version: 1\nmodels:") -> str:
    return header + "".join(models)


def model(name: str = "bert", **replace: str) -> str:
    text = BASE_MODEL.format(name=name)
    for key, value in replace.items():
        lines = text.splitlines()
        lines = [f"    {key}: {value}" if line.strip().startswith(f"{key}:") else line for line in lines]
        if not any(line.strip().startswith(f"{key}:") for line in text.splitlines()):
            lines.append(f"    {key}: {value}")
        text = "\n".join(lines) + "\n"
    return text


def errors_of(text: str) -> list[str]:
    with pytest.raises(FleetError) as info:
        parse_fleet_text(text, source="fleet.yaml")
    return info.value.problems


def test_example_fleet_parses_into_frozen_specs(project_root):
    fleet = load_fleet(project_root / "examples" / "fleet.yaml")
    assert len(fleet.models) == 8
    names = [m.name for m in fleet.models]
    assert len(set(names)) == 8
    tasks = {m.task for m in fleet.models}
    assert {Task.TABULAR, Task.IMAGE_CLASSIFICATION, Task.TEXT_CLASSIFICATION, Task.SPEECH_RECOGNITION,
            Task.TEXT_EMBEDDING, Task.LLM_GENERATION, Task.TEXT_TO_IMAGE} <= tasks
    spec = fleet.model("drafting-70b")
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.name = "x"  # type: ignore[misc]
    assert spec.clouds == (Cloud.AWS, Cloud.AZURE)
    assert spec.precision is Precision.FP8
    assert len(fleet.sha256) == 64


def test_defaults_apply_and_model_keys_win():
    text = textwrap.dedent("""\
        version: 1
        defaults:
          spot: allow
          min_replicas: 3
          load: {mean_rps: 10}
        models:
        """) + BASE_MODEL.format(name="a") + model("b", spot="never")
    fleet = parse_fleet_text(text)
    a, b = fleet.models
    assert a.spot is SpotPolicy.ALLOW and a.min_replicas == 3
    assert b.spot is SpotPolicy.NEVER
    # load merges key by key: the default mean_rps survives the model's own load mapping.
    assert a.load.mean_rps == 10 and a.load.peak_rps == 100


def test_memory_is_derived_from_params_and_precision_when_absent():
    fleet = parse_fleet_text(fleet_text(model("fp16"), model("int4", precision="int4")))
    fp16, int4 = fleet.models
    assert fp16.memory_gib_derived
    # 110 M params × 2 bytes ≈ 0.205 GiB; with 20% and 1 GiB runtime ≈ 1.25 GiB.
    assert fp16.memory_gib == pytest.approx(110e6 * 2 / 2**30 * 1.2 + 1.0, rel=0.01)
    assert int4.memory_gib < fp16.memory_gib
    explicit = parse_fleet_text(fleet_text(model("x", memory_gib="7.5"))).models[0]
    assert explicit.memory_gib == 7.5 and not explicit.memory_gib_derived


def test_defaults_are_sensible():
    spec = parse_fleet_text(fleet_text(model())).models[0]
    assert spec.min_replicas == 2
    assert spec.spot is SpotPolicy.NEVER  # spot is opt-in: never buy interruptible capacity by surprise
    assert spec.accelerator is AcceleratorPolicy.AUTO
    assert spec.clouds is None and spec.max_replicas is None


BAD_INPUTS = [
    # (description, fleet text, expected fragment of the single error line)
    ("negative peak load", fleet_text(model("llama-70b", load="{peak_rps: -5}")),
     "fleet.yaml: models[0] (llama-70b).load.peak_rps: must be > 0"),
    ("unknown model key with suggestion", fleet_text(model("m", precison="fp16")),
     'models[0] (m).precison: unknown key (did you mean "precision"?)'),
    ("unknown nested key", fleet_text(model("m", load="{peak_rsp: 5}")),
     'models[0] (m).load.peak_rsp: unknown key (did you mean "peak_rps"?)'),
    ("unknown top-level key", "version: 1\nmodel:\n" + BASE_MODEL.format(name="m"),
     'fleet.yaml: model: unknown key (did you mean "models"?)'),
    ("bad task with suggestion", fleet_text(model("m", task="text-clasification")),
     'models[0] (m).task: must be one of'),
    ("bad precision", fleet_text(model("m", precision="fp64")), "models[0] (m).precision: must be one of"),
    ("uppercase name", fleet_text(model("Bert")), "models[0] (Bert).name: must be lowercase letters"),
    ("name too long", fleet_text(model("a" * 41)), "name: must be at most 40 characters"),
    ("name starting with a digit", fleet_text(model("7b-model")), "name: must be lowercase letters"),
    ("duplicate names", fleet_text(model("dup"), model("dup")),
     "models[1] (dup).name: duplicate name 'dup' (first used by models[0])"),
    ("zero params", fleet_text(model("m", params_millions="0")), "models[0] (m).params_millions: must be > 0"),
    ("non-numeric slo", fleet_text(model("m", slo="{p95_latency_ms: fast}")),
     "models[0] (m).slo.p95_latency_ms: must be a number"),
    ("missing image", fleet_text(BASE_MODEL.format(name="m").replace("    image: ghcr.io/acme/bert:1.0\n", "")),
     "models[0] (m).image: is required"),
    ("unknown cloud", fleet_text(model("m", clouds="[aws, ibm]")), "models[0] (m).clouds[1]: must be one of"),
    ("bad spot policy", fleet_text(model("m", spot="always")), "models[0] (m).spot: must be one of"),
    ("mean above peak", fleet_text(model("m", load="{peak_rps: 10, mean_rps: 20}")),
     "models[0] (m).load.mean_rps: must be ≤ load.peak_rps (10)"),
    ("max below min replicas", fleet_text(model("m", min_replicas="4", max_replicas="2")),
     "models[0] (m).max_replicas: must be ≥ min_replicas (4)"),
    ("min_replicas zero", fleet_text(model("m", min_replicas="0")), "models[0] (m).min_replicas: must be ≥ 1"),
    ("tokens on an image task", fleet_text(model("m", task="image-classification")),
     "models[0] (m).load.input_tokens: only applies to text"),
    ("hostile image", fleet_text(model("m", image="'x; rm -rf /'")),
     "models[0] (m).image: must be a container image reference"),
    ("hostile env name", fleet_text(model("m", env="{'A;B': x}")),
     "models[0] (m).env: environment variable name 'A;B'"),
    ("wrong version", "version: 2\nmodels:\n" + BASE_MODEL.format(name="m"),
     "fleet.yaml: version: must be 1"),
    ("empty models", "version: 1\nmodels: []\n", "fleet.yaml: models: must not be empty"),
    ("not a mapping", "- just\n- a list\n", "fleet.yaml: the fleet file must be a mapping"),
    ("invalid YAML", "version: 1\nmodels: [\n", "fleet.yaml: line"),
    ("defaults with unknown key", "version: 1\ndefaults: {spott: allow}\nmodels:\n" + BASE_MODEL.format(name="m"),
     'fleet.yaml: defaults.spott: unknown key (did you mean "spot"?)'),
    ("zero budget", fleet_text(model("m", budget_monthly_usd="0")),
     "models[0] (m).budget_monthly_usd: must be > 0"),
]


@pytest.mark.parametrize("description,text,expected", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_gives_one_clear_line(description, text, expected):
    problems = errors_of(text)
    assert any(expected in p for p in problems), problems
    for p in problems:
        assert "\n" not in p
        assert p.startswith("fleet.yaml: ")
        assert "Traceback" not in p


def test_all_errors_are_reported_at_once():
    text = fleet_text(model("a", params_millions="-1"), model("b", spot="maybe"), model("c", precison="fp16"))
    problems = errors_of(text)
    assert len(problems) == 3
    assert [p.split(":")[1].strip().split(" ")[0] for p in problems] == ["models[0]", "models[1]", "models[2]"]


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(FleetError, match="fleet file not found"):
        load_fleet(tmp_path / "nope.yaml")
