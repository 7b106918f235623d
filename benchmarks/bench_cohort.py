"""Time the full built-in cohort build (both cores) against one process, and check its size.

    .venv/bin/python benchmarks/bench_cohort.py [--out DIR]

Prints build seconds (target <= 90 s on the 2-core machine), slices per second, disk footprint,
the speed-up over single-process generation measured in the same run, and the class counts
against the issue's minimums.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from rsna_workshop.synthetic import build_cohort
from rsna_workshop.synthetic.cohort import MANIFEST, write_slice
from rsna_workshop.synthetic.plan import plan_cohort

TARGET_SECONDS = 90
MINIMUMS = {"normal": 1000, "hemorrhage": 1000, "intraparenchymal_only": 80, "subdural_only": 80}
BASELINE_SLICES = 120


def single_process_seconds_per_slice(folder: Path) -> float:
    """Seconds per slice when one process generates and writes a spread of the cohort's slices."""
    jobs = plan_cohort(0)
    jobs = jobs[:: max(1, len(jobs) // BASELINE_SLICES)][:BASELINE_SLICES]
    (folder / "stage_2_train").mkdir(parents=True)
    (folder / "masks").mkdir()
    write_slice(jobs[0], folder)  # warm-up
    start = time.perf_counter()
    for job in jobs:
        write_slice(job, folder)
    return (time.perf_counter() - start) / len(jobs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="build here and keep it (default: a temporary folder)")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench_cohort_"))
    out = args.out or scratch / "synthetic"
    try:
        report = build_cohort(out, force=True)
        counts = json.loads((report.path / MANIFEST).read_text())["counts"]
        counts["normal"] = counts["slices"] - counts["hemorrhage"]
        per_slice = single_process_seconds_per_slice(scratch / "baseline")
        single = per_slice * report.n_slices
        print(f"full cohort: {report.n_slices} slices in {report.seconds:.1f} s "
              f"({report.n_slices / report.seconds:.1f} slices/s), target <= {TARGET_SECONDS} s: "
              f"{'PASS' if report.seconds <= TARGET_SECONDS else 'FAIL'}")
        print(f"disk: {report.nbytes / 1e6:.0f} MB ({report.nbytes / report.n_slices / 1e3:.0f} kB per slice)")
        print(f"single process: {per_slice * 1e3:.1f} ms per slice -> {single:.1f} s for the cohort; "
              f"parallel build is {single / report.seconds:.2f}x faster")
        for name, minimum in MINIMUMS.items():
            print(f"{name:22s} {counts[name]:5d}  (at least {minimum}: {'PASS' if counts[name] >= minimum else 'FAIL'})")
        print("per subtype (any slice showing it):",
              ", ".join(f"{k} {v}" for k, v in counts.items() if k in (
                  "epidural", "intraparenchymal", "intraventricular", "subarachnoid", "subdural")))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
