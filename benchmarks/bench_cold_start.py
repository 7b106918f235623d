"""Notebook 1 on a fresh machine: seconds from running the first cell to the first trained model
on screen, on an empty data folder (no cohort, no cached embeddings), and again warm.

Target (issue 14): the first result within 30 s on 2 cores, after the pip install. The warm run
(same data folder, a fresh kernel) is the baseline measured in the same run: cold / warm is what
a fresh machine costs. The notebook's own cells run in a fresh kernel, as in JupyterLab or Colab,
up to the first "under the hood" panel.

    .venv/bin/python benchmarks/bench_cold_start.py
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 30
NOTEBOOK = "01_small_dataset.ipynb"
FIRST_RESULT = "figures.under_the_hood(result)"


def first_result_cells(path: Path):
    """The notebook up to (and with) the cell that shows the first trained model."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    last = next(i for i, cell in enumerate(notebook.cells) if FIRST_RESULT in cell.source)
    notebook.cells = notebook.cells[: last + 1]
    return notebook


def run(path: Path) -> list[tuple[str, float]]:
    """Run the notebook's cells up to its first result in a fresh kernel; seconds per code cell."""
    from nbclient import NotebookClient

    from rsna_workshop.workshop.runner import _kernel_manager

    notebook = first_result_cells(path)
    client = NotebookClient(notebook, km=_kernel_manager(), timeout=900,
                            resources={"metadata": {"path": str(path.parent)}})
    times = []
    with client.setup_kernel():
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "code":
                continue
            start = time.perf_counter()
            client.execute_cell(cell, index)
            times.append((cell.source.splitlines()[-1][:48], time.perf_counter() - start))
    return times


def main() -> None:
    from rsna_workshop.workshop.runner import NOTEBOOK_DIR

    data = Path(tempfile.mkdtemp(prefix="bench_cold_start_"))
    os.environ["RSNA_WORKSHOP_DATA"] = str(data)  # the kernel inherits it
    try:
        cold = run(NOTEBOOK_DIR / NOTEBOOK)
        warm = run(NOTEBOOK_DIR / NOTEBOOK)
    finally:
        shutil.rmtree(data, ignore_errors=True)
    print(f"{NOTEBOOK}, from the first cell to the first trained model on screen "
          f"({os.cpu_count()} cores)\n")
    print(f"{'cell (last line)':50s} {'cold s':>8s} {'warm s':>8s} {'cold/warm':>10s}")
    for (line, c), (_, w) in zip(cold, warm):
        print(f"{line:50s} {c:8.1f} {w:8.1f} {c / w:10.1f}")
    total_cold, total_warm = sum(t for _, t in cold), sum(t for _, t in warm)
    print(f"{'first result':50s} {total_cold:8.1f} {total_warm:8.1f} {total_cold / total_warm:10.1f}")
    print(f"\ncold / target {TARGET_S} s: {total_cold / TARGET_S:.2f} "
          f"({'met' if total_cold <= TARGET_S else 'not met'})")


if __name__ == "__main__":
    sys.exit(main())
