"""Fleet keys that say how much work a request is: load.image_size, load.steps,
active_params_millions, gflops_per_request — validated, carried into the profile and
features, and moving predictions the way the physics says."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from placement import features as F
from placement import workload
from placement.errors import FleetError
from placement.fleet import parse_fleet_text
from placement.types import ModelProfile, Precision, Task

MODEL = """version: 1
models:
  - name: m
    task: {task}
    framework: tensorrt
    params_millions: {params}
    precision: fp16
    image: ghcr.io/acme/m:1
    load: {{peak_rps: 10{load}}}
    slo: {{p95_latency_ms: 1000}}
{extra}"""


def parse(task: str = "object-detection", load: str = "", extra: str = "", params: float = 37):
    return parse_fleet_text(MODEL.format(task=task, load=load, extra=extra, params=params), source="fleet.yaml")


def errors(**kwargs) -> list[str]:
    with pytest.raises(FleetError) as info:
        parse(**kwargs)
    return info.value.problems


def test_the_keys_reach_the_profile():
    profile = parse(load=", image_size: [800, 1333]", extra="    gflops_per_request: 250\n").models[0].profile
    assert profile.image_size == (800, 1333) and profile.gflops_per_request == 250
    assert parse(load=", image_size: 640").models[0].profile.image_size == (640, 640)
    t2i = parse(task="text-to-image", load=", image_size: 1024, steps: 20", params=2600).models[0].profile
    assert (t2i.image_size, t2i.steps) == ((1024, 1024), 20)
    moe = parse(task="llm-generation", params=46700, extra="    active_params_millions: 12900\n").models[0]
    assert moe.profile.active_params_millions == 12900


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"load": ", image_size: -3"}, "models[0] (m).load.image_size: must be a side in pixels"),
    ({"load": ", image_size: true"}, "load.image_size: must be a side in pixels"),
    ({"load": ", image_size: '224'"}, "load.image_size: must be a side in pixels"),
    ({"load": ", image_size: [1, 2, 3]"}, "load.image_size: must be a side in pixels"),
    ({"load": ", image_size: [224.5, 224]"}, "load.image_size: must be a side in pixels"),
    ({"load": ", image_size: 100000"}, "load.image_size: must be a side in pixels"),
    ({"task": "llm-generation", "load": ", image_size: 224"}, "load.image_size: only applies to image tasks"),
    ({"load": ", steps: 20"}, "load.steps: only applies to text-to-image, not object-detection"),
    ({"task": "text-to-image", "load": ", steps: 0"}, "load.steps: must be > 0"),
    ({"task": "text-to-image", "load": ", steps: 2.5"}, "load.steps: must be a whole number"),
    ({"extra": "    gflops_per_request: -1\n"}, "gflops_per_request: must be > 0"),
    ({"extra": "    gflops_per_request: lots\n"}, "gflops_per_request: must be a number"),
    ({"extra": "    active_params_millions: 0\n"}, "active_params_millions: must be > 0"),
    ({"extra": "    active_params_millions: 40\n"}, "active_params_millions: must be ≤ params_millions (37)"),
])
def test_bad_values_give_one_clear_line(kwargs, expected):
    problems = errors(**kwargs)
    assert len(problems) == 1, problems
    assert problems[0].startswith("fleet.yaml: models[0] (m).") and expected in problems[0]


def profile(**kw) -> ModelProfile:
    base = dict(task=Task.OBJECT_DETECTION, framework="tensorrt", params_millions=37.0, precision=Precision.FP16,
                memory_gib=2.0, peak_rps=10.0, slo_p95_latency_ms=1000.0)
    return ModelProfile(**{**base, **kw})


def test_defaults_are_the_typical_model_of_the_task():
    for task, side in workload.DEFAULT_IMAGE_SIZE.items():
        stated = profile(task=task, image_size=(side, side),
                         steps=workload.DEFAULT_STEPS if task is Task.TEXT_TO_IMAGE else None)
        assert workload.prefill_flops(stated) == pytest.approx(workload.prefill_flops(profile(task=task)))


def test_more_pixels_or_steps_are_more_work_and_an_explicit_figure_wins():
    flops = [workload.prefill_flops(profile(image_size=(s, s))) for s in (320, 640, 800, 1024)]
    assert all(a < b for a, b in zip(flops, flops[1:]))
    steps = [workload.prefill_flops(profile(task=Task.TEXT_TO_IMAGE, steps=n)) for n in (4, 20, 50)]
    assert all(a < b for a, b in zip(steps, steps[1:]))
    assert workload.prefill_flops(profile(image_size=(1024, 1024), gflops_per_request=7.0)) == 7e9


def _roofline_rps(catalog, profiles: list[ModelProfile], accelerator: str = "L4") -> np.ndarray:
    offering = next(o for o in catalog.offerings if o.accelerator == accelerator and o.accelerator_count == 1)
    cols = F.offering_columns([offering])
    raw = {**{k: np.repeat(v, len(profiles)) for k, v in cols.items()}, **F.profiles_columns(profiles)}
    return F.physics(raw)["roofline_saturation_rps"]


def test_features_see_the_work(catalog):
    sizes = _roofline_rps(catalog, [profile(image_size=(s, s)) for s in (320, 640, 800, 1024)])
    assert np.all(np.diff(sizes) < 0)
    steps = _roofline_rps(catalog, [profile(task=Task.TEXT_TO_IMAGE, params_millions=860.0, memory_gib=4.0, steps=n)
                                    for n in (4, 20, 30, 50)])
    assert np.all(np.diff(steps) < 0)


def test_active_params_change_speed_not_memory(catalog):
    dense = parse(task="llm-generation", params=46700).models[0]
    moe = parse(task="llm-generation", params=46700, extra="    active_params_millions: 12900\n").models[0]
    assert moe.memory_gib == dense.memory_gib
    fast, slow = _roofline_rps(catalog, [moe.profile, dense.profile], accelerator="H100")
    assert fast > 2 * slow
    raw = F.profiles_columns([moe.profile, dense.profile])
    assert raw["params_millions"][0] == raw["params_millions"][1]


def test_profiles_without_the_keys_keep_their_features(catalog):
    plain = profile()
    stated = dataclasses.replace(plain, image_size=(640, 640))
    a, b = _roofline_rps(catalog, [plain, stated])
    assert a == pytest.approx(b)
