"""Time the built-in cohort: notebook 1's data step from an empty folder, and the full build.

    .venv/bin/python benchmarks/bench_cohort.py [--out DIR] [--skip-full]

Prints, each measured in this run on an empty temporary data folder:

- the machine: seconds one process takes for a fixed NumPy workload of the generator's kind
  (512x512 FFTs and elementwise maths), so that build times from different days or machines can
  be put side by side;
- notebook 1's data step: seconds from ``open_data("experiment1")`` to a data set whose 60
  images exist (label files from the plan, then only those 60 slices drawn);
- the full build (``rsna-workshop data build``): seconds (target <= 90 s on the 2-core machine),
  slices per second, disk footprint (target <= 600 MB) and per slice, and the speed-up over one
  process drawing and writing a spread of the cohort's slices;
- the class counts against the lessons' minimums.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from rsna_workshop import config
from rsna_workshop.synthetic import build_cohort
from rsna_workshop.synthetic.cohort import MANIFEST, ensure_cohort
from rsna_workshop.synthetic.plan import plan_cohort
from rsna_workshop.synthetic.writer import MASK_FOLDER, write_slice
from rsna_workshop.workshop import open_data

TARGET_SECONDS = 90
TARGET_MB = 600
MINIMUMS = {"normal": 1000, "hemorrhage": 1000, "intraparenchymal_only": 80, "subdural_only": 80}
BASELINE_SLICES = 120


def machine_seconds(repeats: int = 200) -> float:
    """Seconds one process takes for a fixed workload like one slice's heaviest steps."""
    rng = np.random.default_rng(0)
    image = rng.standard_normal((512, 512), dtype=np.float32)
    start = time.perf_counter()
    for _ in range(repeats):
        angle = np.arctan2(image, image.T)
        image = np.fft.irfft2(np.fft.rfft2(np.sqrt(angle * angle + 1)), s=image.shape).astype(np.float32)
    return time.perf_counter() - start


def notebook1_data_step(data_dir: Path) -> None:
    """Seconds to notebook 1's data set on an empty data folder: labels, then its 60 slices."""
    os.environ[config.DATA_ENV] = str(data_dir)
    start, cpu = time.perf_counter(), time.process_time()
    ensure_cohort()
    labels = time.perf_counter() - start
    dataset = open_data("experiment1", seed=0)
    total, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert all(item.source.is_file() for item in dataset.items)
    print(f"notebook 1's data step: {total:.1f} s from an empty data folder to {len(dataset)} slices on disk "
          f"(label files {labels:.2f} s, drawing {total - labels:.1f} s; {cpu:.1f} s of CPU in this process)")


def single_process_seconds_per_slice(folder: Path) -> float:
    """Seconds per slice when one process draws and writes a spread of the cohort's slices."""
    jobs = plan_cohort(0)
    jobs = jobs[:: max(1, len(jobs) // BASELINE_SLICES)][:BASELINE_SLICES]
    (folder / "stage_2_train").mkdir(parents=True)
    (folder / MASK_FOLDER).mkdir()
    write_slice(jobs[0], folder)  # warm-up
    start = time.perf_counter()
    for job in jobs:
        write_slice(job, folder, overwrite=True)
    return (time.perf_counter() - start) / len(jobs)


def full_build(out: Path, scratch: Path) -> None:
    """The whole cohort into an empty ``out``, against one process, with its counts."""
    report = build_cohort(out, progress=True)
    n, seconds, megabytes = report.n_slices, report.seconds, report.nbytes / 1e6
    counts = json.loads((report.path / MANIFEST).read_text())["counts"]
    counts["normal"] = counts["slices"] - counts["hemorrhage"]
    per_slice = single_process_seconds_per_slice(scratch / "baseline")
    print(f"full cohort: {n} slices in {seconds:.1f} s ({n / seconds:.1f} slices/s, "
          f"{seconds / n * 1e3:.0f} ms per slice), target <= {TARGET_SECONDS} s: "
          f"{'PASS' if seconds <= TARGET_SECONDS else 'FAIL'}")
    print(f"disk: {megabytes:.0f} MB ({megabytes / n * 1e3:.0f} kB per slice), target <= {TARGET_MB} MB: "
          f"{'PASS' if megabytes <= TARGET_MB else 'FAIL'}")
    print(f"single process: {per_slice * 1e3:.1f} ms per slice -> {per_slice * n:.1f} s for the cohort; "
          f"the parallel build is {per_slice * n / seconds:.2f}x faster")
    for name, minimum in MINIMUMS.items():
        print(f"{name:22s} {counts[name]:5d}  (at least {minimum}: {'PASS' if counts[name] >= minimum else 'FAIL'})")
    print("per subtype (slices showing it):", ", ".join(f"{k} {v}" for k, v in counts.items() if k in (
        "epidural", "intraparenchymal", "intraventricular", "subarachnoid", "subdural")))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="build the full cohort here and keep it (default: a temporary folder)")
    parser.add_argument("--skip-full", action="store_true", help="only notebook 1's data step")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench_cohort_"))
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
          f"the machine's reference workload: {machine_seconds():.2f} s")
    try:
        notebook1_data_step(scratch / "data")
        if not args.skip_full:
            full_build(args.out or scratch / "synthetic", scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
