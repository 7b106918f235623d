"""Slices per second from a 512 x 512 CT DICOM file to the model-ready (224, 224, 3) image.

Writes a small built-in cohort (a few hundred synthetic 512 x 512 DICOM files, with their
scanner quirks) to a temporary folder, then times, in this one process:

- read only: ``dicom.read_ct`` (the baseline every other figure is divided by);
- read + window + resize, and read + window + colour-code + resize (the target: >= 150 slices/s),
  with and without the skull mask, and the multi-window RGB, all through ``imaging.load_image``.

Each pass is run ``--repeat`` times and the best is kept (files are in the OS cache by then).

    python benchmarks/bench_preprocessing.py [--scale 0.15] [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from rsna_workshop.dicom import read_ct
from rsna_workshop.imaging import Preprocess, load_image
from rsna_workshop.synthetic import build_cohort

TARGET = 150.0
HEADLINE = "read + window + colour-code + resize"
PIPELINES = {
    "read + brain window + resize": Preprocess(),
    HEADLINE: Preprocess(color_code=True),
    "  ... colour-code inside the skull": Preprocess(color_code=True, inside_skull=True),
    "read + multi-window RGB + resize": Preprocess(multi_window=True),
}


def best_rate(step, files: list[Path], repeat: int) -> float:
    """Slices per second of ``step(path)`` over ``files``, the best of ``repeat`` passes."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for path in files:
            step(path)
        best = min(best, time.perf_counter() - start)
    return len(files) / best


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.15, help="cohort scale (0.15: about 300 slices)")
    parser.add_argument("--repeat", type=int, default=3, help="passes per pipeline; the best is kept")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        cohort = build_cohort(Path(folder) / "cohort", seed=0, scale=args.scale)
        files = sorted((cohort.path / "stage_2_train").glob("*.dcm"))
        print(f"wrote {len(files)} DICOM files of 512 x 512 in {time.perf_counter() - start:.1f} s")
        baseline = best_rate(read_ct, files, args.repeat)
        print(f"{'pipeline (one process)':40s} {'slices/s':>9s} {'vs read':>8s}")
        print(f"{'read only (dicom.read_ct)':40s} {baseline:9.0f} {1:8.2f}")
        rates = {}
        for name, preprocess in PIPELINES.items():
            rates[name] = best_rate(lambda path: load_image(path, preprocess), files, args.repeat)
            print(f"{name:40s} {rates[name]:9.0f} {rates[name] / baseline:8.2f}")
    verdict = "met" if rates[HEADLINE] >= TARGET else "MISSED"
    print(f"target {TARGET:.0f} slices/s for {HEADLINE}: {verdict} ({rates[HEADLINE]:.0f})")


if __name__ == "__main__":
    main()
