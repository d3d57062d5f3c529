"""Build the default model roost ships, from the bundled history; the one way to rebuild it.

    python tools/build_default_model.py           # rebuild placement/data/default_model/
    python tools/build_default_model.py --check   # exit 1 if the shipped files differ from a rebuild

Run it after anything the model depends on changes: the bundled sample or the simulator
(the default history), the catalog, the features, the trainer or the LightGBM version.
The build is deterministic (fixed seeds and threads, LightGBM's deterministic mode, the
timestamp of the newest log window instead of the clock), and
``tests/placement/learned/test_shipped_model.py`` fails while the shipped files are not
what this script builds. See docs/models.md.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, no install needed

from roost.training import build_default_model, model_differences, shipped_model_root  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare a rebuild with the shipped files; write nothing")
    args = parser.parse_args()
    root = shipped_model_root()
    root.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    # Built beside the shipped folder, so that publishing it is a rename on one file system.
    with tempfile.TemporaryDirectory(prefix=".build-", dir=root.parent) as tmp:
        built = build_default_model(Path(tmp), on_stage=lambda stage: print(f"  {stage}", file=sys.stderr))
        shipped = [p for p in root.iterdir() if p.is_dir() and p.name.startswith("m-")]
        if args.check:
            problems = model_differences(built, shipped[0]) if len(shipped) == 1 else \
                [f"{len(shipped)} shipped model directories in {root}, expected 1"]
            for problem in problems:
                print(f"differs: {problem}")
            print(f"{'shipped model is stale' if problems else 'shipped model matches a rebuild'} "
                  f"({built.name}, {time.perf_counter() - start:.0f} s)")
            return 1 if problems else 0
        for old in shipped:
            shutil.rmtree(old)
        built.rename(root / built.name)
    size = sum(f.stat().st_size for f in (root / built.name).iterdir())
    print(f"built {root / built.name} ({size / 1e6:.1f} MB) in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
