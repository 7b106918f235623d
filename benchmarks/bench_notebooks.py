"""Run time of the five workshop notebooks, cold (empty embedding cache) and warm.

Targets (issue 8): each notebook at most 120 s warm; the five together at most 480 s cold.
The cohort is generated once beforehand (its own benchmark times that) and linked into a fresh
data folder, so "cold" here means: cohort on disk, no cached embeddings, fresh kernels.

    .venv/bin/python benchmarks/bench_notebooks.py [--out build/bench_notebooks]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

WARM_TARGET_S = 120
COLD_TARGET_S = 480
LESSONS = ["1", "2", "3", "4", "5"]


def fresh_data_folder(cohort: Path) -> Path:
    """A new data folder holding (hard links to) the built cohort and no cache."""
    folder = Path(tempfile.mkdtemp(prefix="bench_notebooks_"))
    shutil.copytree(cohort, folder / "synthetic", copy_function=os.link)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="build/bench_notebooks", help="where executed notebooks go")
    args = parser.parse_args()

    from rsna_workshop.workshop.runner import run_notebooks
    from rsna_workshop.synthetic import build_cohort

    report = build_cohort()
    print(f"cohort: {report.n_slices} slices at {report.path} ({'built' if report.built else 'reused'})")
    data = fresh_data_folder(report.path)
    os.environ["RSNA_WORKSHOP_DATA"] = str(data)  # the kernels inherit it
    try:
        cold = run_notebooks(Path(args.out) / "cold", names=LESSONS)
        warm = run_notebooks(Path(args.out) / "warm", names=LESSONS)
    finally:
        shutil.rmtree(data, ignore_errors=True)
    print(f"\n{'notebook':36s} {'cold s':>8s} {'warm s':>8s} {'warm/target':>12s}")
    for c, w in zip(cold, warm):
        print(f"{c.name:36s} {c.seconds:8.1f} {w.seconds:8.1f} {w.seconds / WARM_TARGET_S:12.2f}")
    total_cold = sum(r.seconds for r in cold)
    print(f"{'five together':36s} {total_cold:8.1f} {sum(r.seconds for r in warm):8.1f}")
    print(f"cold total / target {COLD_TARGET_S} s: {total_cold / COLD_TARGET_S:.2f}; "
          f"slowest warm / target {WARM_TARGET_S} s: {max(r.seconds for r in warm) / WARM_TARGET_S:.2f}")


if __name__ == "__main__":
    main()
