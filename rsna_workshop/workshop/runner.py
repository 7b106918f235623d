"""Execute the workshop notebooks headless and write each one executed, plus an HTML export.

This is what ``make workshop`` and ``rsna-workshop notebooks run`` do. Each notebook runs in a
fresh kernel of the current Python, with ``notebooks/`` as its working directory.

>>> runs = run_notebooks("build", names=["1", "05"])      # doctest: +SKIP
01_small_dataset.ipynb          41.3 s  build/01_small_dataset.ipynb, build/01_small_dataset.html
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from ..config import PROJECT_ROOT
from ..errors import MissingFileError, NotebookError, SettingsError

NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"


@dataclass(frozen=True)
class NotebookRun:
    """One executed notebook: where its executed copy and HTML are, and how long it took."""

    name: str
    seconds: float
    notebook: Path
    html: Path


def workshop_notebooks(folder: str | Path | None = None) -> list[Path]:
    """The workshop's notebooks, in order (``NN_name.ipynb``); ``folder`` defaults to notebooks/."""
    folder = Path(folder) if folder is not None else NOTEBOOK_DIR
    found = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if not found:
        raise MissingFileError(
            f"No workshop notebooks (NN_name.ipynb) in '{folder}'. Run this from a source "
            f"checkout of rsna_workshop, where they live in notebooks/."
        )
    return found


def select_notebooks(
    names: list[str | int] | None, folder: str | Path | None = None
) -> list[Path]:
    """Pick notebooks by file name (with or without ``.ipynb``) or number (``1``, ``"01"``).

    >>> [p.name for p in select_notebooks(["2", "05_color_coding_hounsfield"])]   # doctest: +SKIP
    ['02_class_imbalance.ipynb', '05_color_coding_hounsfield.ipynb']
    """
    available = workshop_notebooks(folder)
    if not names:
        return available
    chosen = []
    for name in names:
        text = str(name).strip()
        matches = [
            p for p in available
            if text in (p.name, p.stem) or (text.isdigit() and int(text) == int(p.name[:2]))
        ]
        if not matches:
            listing = ", ".join(p.name for p in available)
            raise SettingsError(
                f"No notebook called '{name}'. Give a number (1-{len(available)}) or one of: {listing}"
            )
        chosen.extend(m for m in matches if m not in chosen)
    return chosen


def _kernel_manager():
    """A kernel manager that starts ipykernel on this very Python, whatever kernelspecs exist."""
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import NATIVE_KERNEL_NAME, KernelSpecManager

    specs = KernelSpecManager(kernel_dirs=[], ensure_native_kernel=True)
    return KernelManager(kernel_name=NATIVE_KERNEL_NAME, kernel_spec_manager=specs)


def _failing_cell(notebook) -> tuple[int, str]:
    """The number (1-based) and first source line of the first code cell with an error output."""
    code_cells = [c for c in notebook.cells if c.cell_type == "code"]
    for number, cell in enumerate(code_cells, start=1):
        if any(out.get("output_type") == "error" for out in cell.get("outputs", [])):
            first_line = next((line for line in cell.source.splitlines() if line.strip()), "")
            return number, first_line
    return 0, ""


def _write(notebook, target: Path) -> Path:
    """Write the executed notebook and its HTML export; return the HTML path."""
    import nbformat
    from nbconvert import HTMLExporter

    nbformat.write(notebook, target)
    html, _ = HTMLExporter().from_notebook_node(notebook)
    html_path = target.with_suffix(".html")
    html_path.write_text(html, encoding="utf-8")
    return html_path


def execute_notebook(source: Path, out_dir: Path, timeout: int = 600) -> NotebookRun:
    """Run one notebook top to bottom; write it executed and as HTML even when it fails."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    notebook = nbformat.read(source, as_version=4)
    client = NotebookClient(
        notebook,
        km=_kernel_manager(),
        timeout=timeout,
        resources={"metadata": {"path": str(source.parent)}},
        store_widget_state=True,
    )
    target = Path(out_dir) / source.name
    start = time.perf_counter()
    try:
        client.execute(cleanup_kc=True)  # shut the kernel down: six idle kernels hold gigabytes
    except CellExecutionError as error:
        html = _write(notebook, target)
        number, first_line = _failing_cell(notebook)
        raise NotebookError(
            f"{source.name} failed in code cell {number} ('{first_line}'). The executed notebook "
            f"up to the error is in {target} and {html}.\n{error}"
        ) from error
    seconds = time.perf_counter() - start
    return NotebookRun(source.name, seconds, target, _write(notebook, target))


def run_notebooks(
    out_dir: str | Path = "build",
    names: list[str | int] | None = None,
    timeout: int = 600,
    folder: str | Path | None = None,
) -> list[NotebookRun]:
    """Execute the workshop notebooks (all, or ``names``) into ``out_dir`` and report each.

    Parameters
    ----------
    out_dir : folder for the executed ``.ipynb`` and ``.html`` files (created if missing).
    names : notebook file names or numbers; None runs them all, in order.
    timeout : seconds allowed for any one cell.
    folder : where the notebooks are; defaults to the checkout's notebooks/.

    Raises NotebookError naming the notebook and the failing cell; what ran is still written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    runs = []
    for source in select_notebooks(names, folder):
        print(f"Running {source.name} ...", flush=True)
        run = execute_notebook(source, out_dir, timeout=timeout)
        print(f"{run.name:36s} {run.seconds:6.1f} s  {run.notebook}, {run.html}", flush=True)
        runs.append(run)
    total = sum(run.seconds for run in runs)
    print(f"{len(runs)} notebook(s) executed in {total:.1f} s; open the .html files in {out_dir}")
    return runs
