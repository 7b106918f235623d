"""The notebooks' title link, setup cell and metadata, written by one script so all six agree.

    .venv/bin/python tests/setup_cells.py      # rewrite notebooks/NN_*.ipynb in place

Only the first markdown cell's Colab link, the first code cell and the notebook metadata change;
the lesson cells stay as they are. The metadata is what the kernel reports (ipykernel's kernel
spec and language info of this Python), so JupyterLab finds nothing to update and does not mark
a notebook modified when it opens it. ``tests/test_notebooks.py`` checks the notebooks against
this file.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

REPOSITORY = "rsna-ai-workshop/rsna_workshop"
NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
SETUP = f'''PACKAGE_URL = "git+https://github.com/{REPOSITORY}"  # where Colab installs the workshop from
DATA_SOURCE = "builtin"  # "builtin": synthetic head CTs, works offline | "original": the original
                         # workshop's project files (needs internet) | or the path of an RSNA Kaggle folder
import sys
if "google.colab" in sys.modules:  # on Colab: install the workshop (about a minute); Colab's own
    %pip install -q "rsna_workshop @ {{PACKAGE_URL}}"  # ipywidgets 7 shows the widgets, nothing to enable
else:  # in JupyterLab: use the installed package, or this source checkout
    sys.path.append("..")
from rsna_workshop.workshop.setup import prepare
'''
# Notebooks whose lessons need CT files (patient IDs for leakage, HU for three windows): with
# "original" they use the built-in cohort (prepare says so).
NEEDS_CT = {"06_going_further.ipynb"}
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
# A markdown image link (the old badge) or the text link below, on its own line.
LINK_LINE = re.compile(r"^\[!?\[?Open.*\]\(https://colab\.research\.google\.com/.*\)$", re.MULTILINE)


def colab_url(name: str) -> str:
    """Where Colab opens notebook ``name`` from the repository."""
    return f"https://colab.research.google.com/github/{REPOSITORY}/blob/main/notebooks/{name}"


def colab_link(name: str) -> str:
    """A text link (an image badge shows as a broken picture without internet)."""
    return f"[Open this notebook in Google Colab]({colab_url(name)})"


def setup_source(name: str) -> str:
    """The setup cell of notebook ``name``."""
    if name in NEEDS_CT:
        return SETUP + "workshop = prepare(DATA_SOURCE, needs_ct=True)  # the lessons need CT files"
    return SETUP + "workshop = prepare(DATA_SOURCE)"


def language_info() -> dict:
    """The language info ipykernel reports for this Python."""
    from ipykernel.ipkernel import IPythonKernel  # only for writing the notebooks

    return dict(IPythonKernel.language_info)


def update(path: Path) -> bool:
    """Rewrite one notebook's link, setup cell and metadata; True when something changed."""
    notebook = nbformat.read(path, as_version=4)
    before = nbformat.writes(notebook)
    title = notebook.cells[0]
    title.source = LINK_LINE.sub(colab_link(path.name), title.source, count=1)
    notebook.cells[1].source = setup_source(path.name)
    notebook.metadata = {"kernelspec": KERNELSPEC, "language_info": language_info()}
    after = nbformat.writes(notebook)
    if after != before:
        path.write_text(after + "\n", encoding="utf-8")
    return after != before


def main() -> None:
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        print(f"{path.name}: {'updated' if update(path) else 'unchanged'}")


if __name__ == "__main__":
    sys.exit(main())
