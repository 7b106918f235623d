"""Every notebook runs top to bottom with ``DATA_SOURCE = "original"``, offline.

Stand-ins for the original workshop's project files (small ``.tm`` files made from the built-in
cohort, with their own training settings) lie in the downloads folder, as a download would leave
them. Each lesson must use its file where the original session published one, and say in one
line where it falls back to the built-in cohort.
"""

from __future__ import annotations

import os

import nbformat
import pytest

from rsna_workshop.datasets import write_tm
from rsna_workshop.synthetic import ensure_cohort
from rsna_workshop.workshop import RECIPES, open_data
from rsna_workshop.workshop.runner import run_notebooks, workshop_notebooks

pytestmark = pytest.mark.slow

PER_CLASS = 12  # images per class in each stand-in project
EPOCHS = 7  # the stand-ins' own setting, unlike any recipe's


@pytest.fixture(scope="module")
def original_data(tmp_path_factory):
    """A data folder with the stand-in projects in downloads/ and the real cohort and cache linked."""
    cohort = ensure_cohort()  # the run's own data folder: built once, shared with the other tests
    data = tmp_path_factory.mktemp("data")
    (data / "synthetic").symlink_to(cohort)
    (data / "cache").symlink_to(cohort.parent / "cache", target_is_directory=True)
    (cohort.parent / "cache").mkdir(exist_ok=True)
    for recipe in {r.original: r for r in RECIPES.values() if r.original}.values():
        images = open_data(recipe, seed=0)  # the built-in cohort: draws the slices not drawn yet
        write_tm(images.sample(PER_CLASS, seed=0), data / "downloads" / f"{recipe.original}.tm",
                 epochs=EPOCHS)
    return data


def outputs(path) -> str:
    """All text the executed notebook shows."""
    cells = nbformat.read(path, as_version=4).cells
    return "\n".join(str(out.get("text", "")) + str(out.get("data", {}).get("text/plain", ""))
                     for cell in cells if cell.cell_type == "code" for out in cell.outputs)


def test_every_notebook_runs_on_the_original_files_and_says_where_it_falls_back(
        original_data, tmp_path, monkeypatch):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    for path in workshop_notebooks():
        notebook = nbformat.read(path, as_version=4)
        notebook.cells[1].source = notebook.cells[1].source.replace(
            'DATA_SOURCE = "builtin"', 'DATA_SOURCE = "original"', 1)
        nbformat.write(notebook, folder / path.name)
    monkeypatch.setenv("RSNA_WORKSHOP_DATA", str(original_data))  # the kernels inherit it
    monkeypatch.setenv("RSNA_WORKSHOP_OFFLINE", "1")
    runs = run_notebooks(tmp_path / "out", folder=folder, timeout=900)
    shown = {run.name[:2]: outputs(run.notebook) for run in runs}
    assert len(shown) == 6 and os.environ.get("RSNA_WORKSHOP_DATA") == str(original_data)
    assert f"Loaded: {PER_CLASS} hemorrhage and {PER_CLASS} normal slices" in shown["01"]  # the file's
    assert "published no project for 'experiment5-masked'" in shown["05"]
    assert "holds pictures without Hounsfield units" in shown["05"]
    assert "needs CT files" in shown["06"] and "built-in synthetic cohort" in shown["06"]
    assert "75 epochs" in shown["04"]  # lesson 4 trains the file longer than its own setting
