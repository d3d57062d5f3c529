"""Build history/data/benchmarks.csv: public throughput measurements in roost's terms.

    python tools/build_benchmarks.py --mlperf ../shared/data/benchmarks/mlperf_inference_subset.csv

Two sources (history/data/BENCHMARKS.md says what each row means and where it comes from):

* the MLPerf Inference subset in ../shared (GPT-J, Mixtral, Llama 3.1 405B, DeepSeek-R1,
  GPT-OSS, DLRM v1/v2, 3D-UNet, Whisper, RNN-T; NVIDIA GPUs only — no other MLPerf
  benchmark is added, as its README asks);
* NVIDIA's TensorRT-LLM performance overview (docs/source/performance/perf-overview.md of
  NVIDIA/TensorRT-LLM at commit 00f37686aa85), transcribed below: trtllm-bench offline
  throughput for fixed input/output lengths.

Each row is mapped to a roost model profile (task, framework, params, active params,
precision, tokens, image size, steps, explicit GFLOPs) and to the hardware it ran on: the
catalog's accelerator name where the catalog sells it, else the datasheet figures of the
benchmark's own accelerator (H100 PCIe, H200 NVL, GH200, A30), so the calibration needs
nothing but this file. The output is sorted and deterministic.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "history" / "data" / "benchmarks.csv"
MLPERF_SOURCE = "MLCommons MLPerf Inference (closed, datacenter) via ../shared/data/benchmarks/mlperf_inference_subset.csv"
TRTLLM_SOURCE = ("NVIDIA/TensorRT-LLM@00f37686aa85:docs/source/performance/perf-overview.md "
                 "(trtllm-bench throughput, total output tokens/s of the TP group)")

# MLPerf accelerator name -> (roost name, catalog name or "", GPUs per machine if the row does not say)
MLPERF_ACCELERATORS = {
    "T4": "T4", "A10": "A10", "L4": "L4", "L40S": "L40S", "A100-40GB": "A100-40GB", "A100-80GB": "A100-80GB",
    "H100-SXM-80GB": "H100", "H100-NVL-94GB": "H100-NVL", "H200-SXM-141GB": "H200", "B200-SXM-180GB": "B200",
    "H100-PCIe-80GB": "H100-PCIe", "H200-NVL-141GB": "H200-NVL", "GH200-96GB": "GH200-96GB",
    "GH200-144GB": "GH200-144GB", "A30": "A30",
}
# Datasheet figures of benchmark accelerators the catalog does not sell (NVIDIA datasheets;
# dense tensor rates without sparsity): memory GB, bandwidth GB/s, fp16, fp32, int8, architecture, NVLink.
EXTRA_GPUS = {
    "A30": (24.0, 933.0, 165.0, 10.3, 330.0, "Ampere", False),
    "H100-PCIe": (80.0, 2000.0, 756.0, 51.0, 1513.0, "Hopper", False),
    "H200-NVL": (141.0, 4800.0, 835.0, 60.0, 1671.0, "Hopper", True),
    "GH200-96GB": (96.0, 4000.0, 989.0, 67.0, 1979.0, "Hopper", True),
    "GH200-144GB": (144.0, 4900.0, 989.0, 67.0, 1979.0, "Hopper", True),
}
NVLINK_CATALOG = {"V100", "V100-32GB", "A100-40GB", "A100-80GB", "H100", "H100-NVL", "H200", "B200", "B300"}

# Each benchmark's model in roost's terms (MLCommons inference docs and the model cards;
# BENCHMARKS.md lists the sources). Tokens are dataset means; "per" converts the reported
# unit to requests: tokens/s ÷ output tokens, DLRM samples (user-item pairs) ÷ 128 items.
MLPERF_MODELS = {
    "gptj": dict(task="llm-generation", params=6053, input_tokens=900, output_tokens=69),
    "mixtral-8x7b": dict(task="llm-generation", params=46703, active=12879, input_tokens=145, output_tokens=145),
    "llama3.1-405b": dict(task="llm-generation", params=405000, input_tokens=9400, output_tokens=680),
    "deepseek-r1": dict(task="llm-generation", params=671000, active=37000, input_tokens=800, output_tokens=3900),
    "gpt-oss-120b": dict(task="llm-generation", params=116800, active=5100, input_tokens=1000, output_tokens=1500),
    "dlrm-v1": dict(task="recommendation", params=6000, items=128),
    "dlrm-v2": dict(task="recommendation", params=24000, items=128),
    "3d-unet": dict(task="image-segmentation", params=19, gflops=120000),
    "whisper": dict(task="speech-recognition", params=1550, input_tokens=350, output_tokens=45),
    "rnnt": dict(task="speech-recognition", params=120, input_tokens=120, output_tokens=30),
}

# TensorRT-LLM perf overview: model -> (params M, active M or None, {gpu column: (roost name, TP, precision)}, rows)
TRTLLM = {
    "llama-4-scout": (109000, 17000, [("B200", 1, "fp4"), ("H200", 4, "fp8"), ("H100", 4, "fp8")], """
128/128 | 25,342 | 30,354 |
128/2048 | 14,699 | 34,316 | 15,130
128/4096 | 8,932 | 21,332 | 8,603
500/2000 | 11,977 | 24,630 | 12,399
1000/1000 | 10,591 | 21,636 | 12,129
1000/2000 | 9,356 | 18,499 | 9,838
2048/128 | 3,137 | 3,699 | 3,253
2048/2048 | 7,152 | 14,949 | 7,972
5000/500 | 2,937 | 4,605 | 3,342
20000/2000 | 1,644 | 2,105 |"""),
    "llama-3.3-70b": (70600, None, [("B200", 1, "fp4"), ("H200", 1, "fp8"), ("H100", 2, "fp8")], """
128/128 | 11,147 | 3,803 | 6,378
128/2048 | 9,922 | 4,336 | 6,651
128/4096 | 6,831 | 2,872 | 4,199
500/2000 | 7,762 | 3,666 | 5,222
1000/1000 | 7,007 | 2,909 | 4,205
1000/2000 | 6,271 | 2,994 | 4,146
2048/128 | 1,339 | 442 | 762
2048/2048 | 4,783 | 2,003 | 3,082
5000/500 | 1,459 | 566 | 898
20000/2000 | 665 | 283 | 437"""),
    "qwen3-235b-a22b": (235000, 22000, [("B200", 8, "fp4"), ("H200", 8, "fp8"), ("H100", 8, "fp8")], """
128/128 | 63,362 | 30,429 |
128/2048 | 66,057 | 42,821 | 19,658
128/4096 | 39,496 | 26,852 | 12,447
500/2000 | 57,117 | 28,026 | 18,351
1000/1000 | 42,391 | 23,789 | 14,898
1000/2000 | 34,105 | 22,061 | 15,136
2048/128 | 7,329 | 3,331 |
2048/2048 | 26,854 | 16,672 | 9,924
5000/500 | 8,190 | 3,623 | 3,225
20000/2000 | 4,453 | 1,876 |"""),
    "qwen3-30b-a3b": (30500, 3300, [("B200", 1, "fp4")], """
128/128 | 39,827
128/2048 | 37,844
128/4096 | 24,953
500/2000 | 27,817
1000/1000 | 25,828
1000/2000 | 22,051
2048/128 | 6,251
2048/2048 | 17,554
5000/500 | 6,142
20000/2000 | 2,944"""),
    "llama-4-maverick": (400000, 17000, [("B200", 8, "fp4"), ("H200", 8, "fp8"), ("H100", 8, "fp8")], """
128/128 | 124,323 | 63,994 |
128/2048 | 112,676 | 40,572 | 10,829
128/4096 | 68,170 | 24,616 | 6,744
500/2000 | | 37,835 | 10,108
1000/1000 | 79,617 | 31,782 | 9,677
1000/2000 | 63,766 | 34,734 | 9,151
2048/128 | 18,088 | 7,307 |
2048/2048 | 52,195 | 20,957 | 6,916
5000/500 | | 8,456 | 3,457
20000/2000 | 12,678 | 4,106 |"""),
    "llama-3.1-405b": (405000, None, [("B200", 4, "fp4"), ("H200", 8, "fp8"), ("H100", 8, "fp8")], """
128/128 | 6,281 | 3,814 | 3,627
128/2048 | 8,020 | 5,348 | 4,340
128/4096 | 6,345 | 4,741 | 3,116
500/2000 | 6,244 | 4,724 | 3,994
1000/1000 | 5,209 | 3,330 | 2,919
1000/2000 | 4,933 | 3,722 | 2,895
2048/128 | 749 | 456 | 453
2048/2048 | 4,212 | 2,948 | 2,296
5000/500 | 1,048 | 650 | 610
20000/2000 | 672 | 505 | 345"""),
    "llama-3.1-8b": (8030, None, [("H200", 1, "fp8"), ("H100", 1, "fp8")], """
128/128 | 27,911 | 28,312
128/2048 | 26,221 | 22,714
128/4096 | 18,027 | 14,325
500/2000 | 20,770 | 17,660
1000/1000 | 17,744 | 15,220
1000/2000 | 16,828 | 13,899
2048/128 | 3,538 | 3,450
2048/2048 | 12,194 | 9,305
5000/500 | 3,902 | 3,459
20000/2000 | 1,804 | 1,351"""),
}
# The world has no fp4: NVFP4/MXFP4 weights are 4-bit, so they are int4 weights with fast kernels.
PRECISION = {"fp4": "int4", "mxfp4": "int4", "fp8": "fp8", "int8": "int8", "fp16": "fp16", "bfloat16": "bf16",
             "bf16": "bf16", "int4": "int4"}

COLUMNS = ("benchmark", "source", "scenario", "round", "setting", "accelerator", "catalog_accelerator", "gpus",
           "task", "framework", "params_millions", "active_params_millions", "precision", "input_tokens",
           "output_tokens", "image_size", "steps", "gflops_per_request", "measured", "unit", "requests_per_unit",
           "measured_rps_per_gpu", "gpu_memory_gib", "gpu_bandwidth_gbps", "gpu_fp16_tflops", "gpu_fp32_tflops",
           "gpu_int8_tops", "gpu_architecture", "nvlink")


def _hardware(name: str, catalog_gpus: dict) -> dict:
    if name in catalog_gpus:
        g = catalog_gpus[name]
        return {"catalog_accelerator": name, "gpu_memory_gib": g["memory_gib"],
                "gpu_bandwidth_gbps": g["memory_bandwidth_gbps"], "gpu_fp16_tflops": g["fp16_tflops"],
                "gpu_fp32_tflops": g["fp32_tflops"], "gpu_int8_tops": g.get("int8_tops") or "",
                "gpu_architecture": g["architecture"], "nvlink": name in NVLINK_CATALOG}
    mem, bw, fp16, fp32, int8, arch, nvlink = EXTRA_GPUS[name]
    return {"catalog_accelerator": "", "gpu_memory_gib": mem, "gpu_bandwidth_gbps": bw, "gpu_fp16_tflops": fp16,
            "gpu_fp32_tflops": fp32, "gpu_int8_tops": int8, "gpu_architecture": arch, "nvlink": nvlink}


def _mlperf_precision(row: dict, family: str, arch: str) -> str:
    declared = (row.get("declared_weight_precision") or "").split(";")[-1].strip().lower()
    if declared in PRECISION:
        return PRECISION[declared]
    if family.startswith("dlrm") or family == "3d-unet":
        return "int8"                       # NVIDIA's closed-division engines for these are INT8
    if family in ("whisper", "rnnt"):
        return "fp16"
    if row["round"] == "v6.0" and arch.startswith("Blackwell"):
        return "int4"                       # FP4 on Blackwell in v6.0 (README of the subset)
    return "fp8" if arch in ("Hopper", "Ada Lovelace", "Blackwell") else "fp16"


def mlperf_rows(path: Path, catalog_gpus: dict) -> list[dict]:
    out = []
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            name = MLPERF_ACCELERATORS.get(row["accelerator"])
            if name is None:
                continue                    # CPUs and AMD accelerators: see BENCHMARKS.md
            family = row["benchmark"].replace("-99.9", "").replace("-99", "")
            model = MLPERF_MODELS[family]
            hw = _hardware(name, catalog_gpus)
            unit = row["unit"]
            if unit == "tokens/s":
                per = 1.0 / model["output_tokens"]
            elif "items" in model:
                per = 1.0 / model["items"]
            else:
                per = 1.0
            gpus = max(int(x) for x in row["accelerators_per_system"].split(";"))
            measured = float(row["per_accelerator_throughput"])
            out.append({
                "benchmark": f"mlperf:{family}", "source": MLPERF_SOURCE + "; " + row["source_paths"].split(";")[0],
                "scenario": row["scenario"], "round": row["round"], "setting": row["benchmark"],
                "accelerator": name, "gpus": min(gpus, 8), "task": model["task"], "framework": "tensorrt",
                "params_millions": model["params"], "active_params_millions": model.get("active", ""),
                "precision": _mlperf_precision(row, family, hw["gpu_architecture"]),
                "input_tokens": model.get("input_tokens", ""), "output_tokens": model.get("output_tokens", ""),
                "image_size": "", "steps": "", "gflops_per_request": model.get("gflops", ""),
                "measured": measured, "unit": f"{unit} per accelerator", "requests_per_unit": round(per, 8),
                "measured_rps_per_gpu": round(measured * per, 6), **hw,
            })
    return out


def trtllm_rows(catalog_gpus: dict) -> list[dict]:
    out = []
    for model, (params, active, columns, table) in TRTLLM.items():
        for line in table.strip().splitlines():
            cells = [c.strip() for c in line.split("|")]
            isl, osl = (int(x) for x in cells[0].split("/"))
            for (gpu, tp, precision), cell in zip(columns, cells[1:]):
                if not cell:
                    continue
                total = float(cell.replace(",", ""))
                measured = total / tp
                out.append({
                    "benchmark": f"trtllm:{model}", "source": TRTLLM_SOURCE, "scenario": "Offline",
                    "round": "trtllm-1.0", "setting": f"ISL/OSL {isl}/{osl}, TP{tp}", "accelerator": gpu, "gpus": tp,
                    "task": "llm-generation", "framework": "tensorrt", "params_millions": params,
                    "active_params_millions": active or "", "precision": PRECISION[precision],
                    "input_tokens": isl, "output_tokens": osl, "image_size": "", "steps": "", "gflops_per_request": "",
                    "measured": measured, "unit": "output tokens/s per GPU", "requests_per_unit": round(1.0 / osl, 8),
                    "measured_rps_per_gpu": round(measured / osl, 6), **_hardware(gpu, catalog_gpus),
                })
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mlperf", type=Path, default=ROOT.parent / "shared/data/benchmarks/mlperf_inference_subset.csv")
    parser.add_argument("-o", "--output", type=Path, default=OUT)
    args = parser.parse_args()
    catalog_gpus = json.loads((ROOT / "placement/data/catalog.json").read_text())["gpus"]
    rows = mlperf_rows(args.mlperf, catalog_gpus) + trtllm_rows(catalog_gpus)
    rows.sort(key=lambda r: (r["benchmark"], r["setting"], r["scenario"], r["accelerator"], r["round"]))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    args.output.write_text(buffer.getvalue())
    print(f"{args.output}: {len(rows)} rows, {len({r['benchmark'] for r in rows})} benchmarks")


if __name__ == "__main__":
    main()
