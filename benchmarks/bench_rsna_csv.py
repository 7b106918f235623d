"""Loading and sampling recipe 3 from a full-size RSNA label file: time and peak memory.

Generates a label file the size of Kaggle's ``stage_2_train.csv`` (752,803 images, 4.5 million
rows, CRLF line ends as Python's csv module writes them) and an image folder holding only part of
the images (empty files: sampling never opens them), then measures in fresh processes:

- baseline: one plain ``csv.reader`` pass over the file (no parsing of the IDs at all);
- ours: ``RECIPES["experiment3"].dataset(source=...)``, i.e. parse, tabulate, check the folder,
  classify, sample 1000 + 1000.

Targets: under 10 s and under 1 GB peak resident memory.

    .venv/bin/python benchmarks/bench_rsna_csv.py
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

N_IMAGES = 752_803
SUBTYPES = ("epidural", "intraparenchymal", "intraventricular", "subarachnoid", "subdural", "any")
PRESENT_PER_CLASS = 2_500


def generate(root: Path, seed: int = 0) -> int:
    """Write the label file and a partial image folder under ``root``; return the row count."""
    rng = np.random.default_rng(seed)
    numbers = rng.choice(16**9, size=N_IMAGES, replace=False)
    positive = rng.random((N_IMAGES, 5)) < 0.035
    rows = ["ID,Label"]
    for number, flags in zip(numbers.tolist(), positive.tolist()):
        image = f"ID_{number:09x}"
        rows += [f"{image}_{name},{int(flag)}" for name, flag in zip(SUBTYPES, flags)]
        rows.append(f"{image}_any,{int(any(flags))}")
    (root / "stage_2_train.csv").write_bytes(("\r\n".join(rows) + "\r\n").encode())
    images = root / "stage_2_train"
    images.mkdir()
    bleeding = positive.any(axis=1)
    for group in (np.flatnonzero(~bleeding), np.flatnonzero(bleeding)):
        for index in group[:PRESENT_PER_CLASS]:
            (images / f"ID_{numbers[index]:09x}.dcm").touch()
    return len(rows) - 1


def measure(kind: str, root: str) -> dict:
    """Run one measurement (in this process); return seconds, peak memory and a check value."""
    start = time.perf_counter()
    if kind == "baseline":
        import csv

        with open(Path(root) / "stage_2_train.csv", newline="") as handle:
            check = sum(1 for _ in csv.reader(handle)) - 1
    else:
        from rsna_workshop.workshop import open_data

        check = open_data("experiment3", seed=0, source=root).counts()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_mb": peak_megabytes(), "check": check}


def peak_megabytes() -> float:
    """This process's peak resident memory. Linux's ``VmHWM`` starts afresh at exec, unlike
    ``ru_maxrss``, which keeps the parent's peak (here: the generator's)."""
    try:
        status = Path("/proc/self/status").read_text()
        return int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1]) / 1024
    except (OSError, StopIteration):
        scale = 1 / 1024 if sys.platform != "darwin" else 1 / 1024**2  # kB on Linux, bytes on macOS
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def run_fresh(kind: str, root: Path) -> dict:
    """``measure`` in a new Python process, so that each peak is its own."""
    out = subprocess.run([sys.executable, __file__, "--measure", kind, str(root)], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        start = time.perf_counter()
        n_rows = generate(root)
        size_mb = (root / "stage_2_train.csv").stat().st_size / 1e6
        print(f"generated {n_rows:,} rows ({size_mb:.0f} MB), {2 * PRESENT_PER_CLASS:,} images present, "
              f"in {time.perf_counter() - start:.1f} s")
        baseline = run_fresh("baseline", root)
        ours = run_fresh("ours", root)
    print(f"csv.reader pass (baseline): {baseline['seconds']:6.2f} s  peak {baseline['peak_mb']:6.0f} MB  "
          f"rows {baseline['check']:,}")
    print(f"load + sample experiment3:  {ours['seconds']:6.2f} s  peak {ours['peak_mb']:6.0f} MB  "
          f"counts {ours['check']}")
    print(f"ratio ours / baseline: {ours['seconds'] / baseline['seconds']:.2f}x time, "
          f"{ours['peak_mb'] / baseline['peak_mb']:.1f}x peak memory")
    ok = ours["seconds"] < 10 and ours["peak_mb"] < 1024
    print(f"targets (< 10 s, < 1024 MB): {'PASS' if ok else 'FAIL'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--measure":
        print(json.dumps(measure(sys.argv[2], sys.argv[3])))
    else:
        main()
