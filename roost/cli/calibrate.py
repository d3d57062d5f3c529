"""`roost calibrate`: fit the world model to public benchmarks, or check how well it predicts them."""
from __future__ import annotations

import click

from roost.output import console, print_json, table


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.0f}%"


@click.command("calibrate")
@click.option("--benchmarks", type=click.Path(dir_okay=False, exists=True),
              help="Benchmark table (roost's format). Default: the bundled history/data/benchmarks.csv.")
@click.option("--check", is_flag=True,
              help="Fit nothing that is kept: report leave-one-benchmark-out error (each benchmark "
                   "predicted by a world fitted on the others).")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Where to write the calibration. Default: the bundled history/data/world.json.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def calibrate_cmd(benchmarks: str | None, check: bool, output: str | None, as_json: bool) -> None:
    """Fit the simulator's world to measured throughput and write a versioned, hashed calibration.

    The same table always gives the same file (and world version); an edited file is refused.
    """
    from history import calibration as C
    from placement.atomic import atomic_write_bytes

    if check:
        report = C.check(benchmarks)
        if as_json:
            print_json(report)
            return
        lobo = report["leave_one_benchmark_out"]
        out = console()
        out.print(f"World {report['world_version']}: leave-one-benchmark-out error over {report['rows']} rows — "
                  f"median {_pct(lobo['median_error'])}, p90 {_pct(lobo['p90_error'])}")
        rows = [(name, str(s["rows"]), _pct(s["median_error"]), _pct(s["p90_error"]))
                for name, s in lobo["per_benchmark"].items()]
        out.print(table("Leave-one-benchmark-out", ["benchmark", "rows", "median error", "p90 error"], rows))
        return
    document, fitted = C.calibrate(benchmarks)
    path = output or str(C.bundled_world_path())
    atomic_write_bytes(path, C.calibration_bytes(document))
    if as_json:
        print_json({"world_version": document["world_version"], "path": path, "sha256": document["sha256"],
                    "rows": fitted["rows"], "in_sample": {"median_error": fitted["median_error"],
                                                          "p90_error": fitted["p90_error"]},
                    "params": document["params"]})
        return
    console().print(f"Calibrated world {document['world_version']} on {fitted['rows']} benchmark rows "
                    f"(in-sample error median {_pct(fitted['median_error'])}, p90 {_pct(fitted['p90_error'])}) "
                    f"→ {path}")
