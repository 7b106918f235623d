"""One PNG per executed notebook: its title and the cells tagged ``screenshot`` (where the lesson
happens), rendered from nbconvert's HTML by headless Chromium and trimmed to the content.

    make workshop        # or: rsna-workshop notebooks run --out build
    .venv/bin/python docs/screenshots/render_screenshots.py build

Needs a ``chromium`` binary (Debian: ``apt-get install chromium``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import numpy as np
from nbconvert import HTMLExporter
from PIL import Image

HERE = Path(__file__).resolve().parent
WIDTH, MAX_HEIGHT = 1280, 9000


def tagged_html(executed: Path) -> str:
    """HTML of the notebook's title cell and its ``screenshot``-tagged cells, with their outputs."""
    notebook = nbformat.read(executed, as_version=4)
    notebook.cells = [c for c in notebook.cells if "screenshot" in c.metadata.get("tags", [])]
    html, _ = HTMLExporter().from_notebook_node(notebook)
    return html


def trim(png: Path) -> None:
    """Cut the blank page below the last non-white row (plus a margin)."""
    image = Image.open(png).convert("RGB")
    rows = np.flatnonzero((np.asarray(image) < 245).any(axis=(1, 2)))
    image.crop((0, 0, image.width, min(image.height, int(rows[-1]) + 30))).save(png, optimize=True)


def screenshot(html: str, target: Path, chromium: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "page.html"
        page.write_text(html, encoding="utf-8")
        subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={target}",
             f"--window-size={WIDTH},{MAX_HEIGHT}", "--hide-scrollbars",
             "--disable-background-networking", "--disable-component-update", "--no-first-run",
             page.as_uri()],
            check=True, capture_output=True, timeout=120,
        )
    trim(target)


def main(build: str = "build") -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("No chromium on PATH; on Debian: apt-get install -y chromium")
    executed = sorted(Path(build).glob("[0-9][0-9]_*.ipynb"))
    if not executed:
        sys.exit(f"No executed notebooks in '{build}'; run `rsna-workshop notebooks run --out {build}`.")
    for notebook in executed:
        target = HERE / notebook.with_suffix(".png").name
        screenshot(tagged_html(notebook), target, chromium)
        print(f"{target} ({Image.open(target).height} px tall)")


if __name__ == "__main__":
    main(*sys.argv[1:])
