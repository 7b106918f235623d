"""The workshop notebooks: committed clean, set up the same way, and run end to end."""

import sys

import nbformat
import pytest
import setup_cells
from helpers import make_rsna
from lab_browser import find_chromium
from nbformat.v4 import new_code_cell, new_notebook

from rsna_workshop.errors import MissingFileError, NotebookError, SettingsError, WeightsUnavailableError
from rsna_workshop.model import backbone as weights
from rsna_workshop.workshop import runner
from rsna_workshop.workshop import setup as setup_notebook
from rsna_workshop.workshop.runner import run_notebooks, select_notebooks, workshop_notebooks

LESSONS = ["01_small_dataset.ipynb", "02_class_imbalance.ipynb", "03_balanced_dataset.ipynb",
           "04_overfitting_more_epochs.ipynb", "05_color_coding_hounsfield.ipynb"]
COMMITTED = workshop_notebooks()


def test_the_five_lessons_are_there_in_order():
    assert [p.name for p in COMMITTED][:5] == LESSONS


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.name)
def test_committed_notebooks_carry_no_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
             and (cell.outputs or cell.execution_count is not None)]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs; clear them before committing"


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.name)
def test_first_code_cell_is_the_setup_cell_right_after_the_title(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    setup = nb.cells[1]
    assert setup.cell_type == "code" and setup.source == setup_cells.setup_source(path.name)
    lines = setup.source.splitlines()
    assert lines[0].startswith('PACKAGE_URL = "git+https://')
    assert lines[1].startswith('DATA_SOURCE = "builtin"')
    assert '"google.colab" in sys.modules' in setup.source
    assert lines[-1].startswith("workshop = prepare(DATA_SOURCE")


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.name)
def test_colab_link_is_text_and_opens_this_notebook_from_the_repository_the_setup_installs(path):
    nb = nbformat.read(path, as_version=4)
    repository = nb.cells[1].source.split("github.com/")[1].split('"')[0]
    link = f"https://colab.research.google.com/github/{repository}/blob/main/notebooks/{path.name}"
    assert f"[Open this notebook in Google Colab]({link})" in nb.cells[0].source
    assert "![" not in nb.cells[0].source  # no image: offline it would show as a broken picture


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.name)
def test_metadata_is_what_the_kernel_reports_so_opening_changes_nothing(path):
    metadata = nbformat.read(path, as_version=4).metadata
    assert metadata.kernelspec == setup_cells.KERNELSPEC
    reported = setup_cells.language_info()
    assert {k: v for k, v in metadata.language_info.items() if k != "version"} == \
        {k: v for k, v in reported.items() if k != "version"}


def test_every_notebook_has_objectives_discussion_and_instructor_note():
    for path in COMMITTED:
        text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells
                         if c.cell_type == "markdown")
        for heading in ("**In this lesson you will**", "## Discussion", "### Instructor note"):
            assert heading in text, f"{path.name} lacks {heading}"


def test_select_by_number_or_name_and_refuse_unknown_names():
    assert [p.name for p in select_notebooks(["2", "05_color_coding_hounsfield", "1"])] == [
        LESSONS[1], LESSONS[4], LESSONS[0]]
    assert [p.name for p in select_notebooks([3, "03_balanced_dataset.ipynb"])] == [LESSONS[2]]
    with pytest.raises(SettingsError, match="No notebook called 'nine'.*01_small_dataset.ipynb"):
        select_notebooks(["nine"])


def test_missing_notebook_folder_says_where_to_run(tmp_path):
    with pytest.raises(MissingFileError, match="source checkout"):
        workshop_notebooks(tmp_path)


def _write(folder, name, *sources):
    nbformat.write(new_notebook(cells=[new_code_cell(s) for s in sources]), folder / name)


def test_run_writes_executed_notebook_and_html_in_the_notebook_folder(tmp_path):
    source = tmp_path / "nbs"
    source.mkdir()
    _write(source, "01_where.ipynb", "import os, sys\nprint(os.getcwd())\nprint(sys.executable)")
    (run,) = run_notebooks(tmp_path / "out", folder=source)
    cwd, executable = nbformat.read(run.notebook, as_version=4).cells[0].outputs[0].text.split()
    assert cwd == str(source)
    assert executable == sys.executable
    assert run.html.read_text().count("<html") == 1 and run.seconds > 0


def test_a_failing_cell_names_notebook_and_cell_and_keeps_what_ran(tmp_path):
    source = tmp_path / "nbs"
    source.mkdir()
    _write(source, "02_broken.ipynb", "x = 1", "y = x / 0")
    with pytest.raises(NotebookError, match=r"02_broken.ipynb failed in code cell 2 \('y = x / 0'\)"):
        run_notebooks(tmp_path / "out", names=["2"], folder=source)
    written = nbformat.read(tmp_path / "out" / "02_broken.ipynb", as_version=4)
    assert written.cells[1].outputs[0].ename == "ZeroDivisionError"
    assert (tmp_path / "out" / "02_broken.html").is_file()


@pytest.mark.slow
@pytest.mark.skipif(find_chromium() is not None,
                    reason="the browser test (test_browser.py) runs every notebook in JupyterLab")
def test_every_notebook_runs_end_to_end_on_the_builtin_cohort(tmp_path):
    runs = run_notebooks(tmp_path, timeout=900)
    assert [run.name for run in runs] == [p.name for p in COMMITTED]
    for run in runs:
        nb = nbformat.read(run.notebook, as_version=4)
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
                  if o.output_type == "error"]
        assert not errors


# ---- the first cell's helper ------------------------------------------------------------------


def test_prepare_without_weights_stops_with_what_to_do(no_weights):
    with pytest.raises(WeightsUnavailableError) as error:
        setup_notebook.prepare("builtin")
    message = str(error.value)
    assert "cannot start without the MobileNetV2 weights" in message
    assert f"os.environ['{weights.WEIGHTS_ENV}']" in message and "weights install" in message


def test_a_notebook_that_needs_ct_files_uses_the_builtin_cohort_for_original_and_says_so(
        tmp_path, weights_file, monkeypatch, capsys):
    monkeypatch.setattr(setup_notebook, "ensure_cohort", lambda: tmp_path)
    assert setup_notebook.prepare("original", needs_ct=True).source == "builtin"
    out = capsys.readouterr().out
    assert "needs CT files" in out and "cohort is ready" in out and str(tmp_path) in out
    assert setup_notebook.prepare("original").source == "original"
    assert "original workshop's project files (downloaded once" in capsys.readouterr().out


def test_prepare_refuses_a_folder_without_rsna_data(tmp_path, weights_file):
    with pytest.raises(MissingFileError, match="is not an RSNA Kaggle folder.*stage_2_train.csv"):
        setup_notebook.prepare(tmp_path)


def test_an_rsna_folder_feeds_each_recipe_from_that_folder(tmp_path, weights_file, capsys):
    slices = [(f"ID_n{i:02d}", (), f"P{i}") for i in range(40)] + [
        (f"ID_h{i:02d}", ("subdural",), f"P{i}") for i in range(40)]
    folder = make_rsna(tmp_path / "kaggle", slices, dicom=False)
    workshop = setup_notebook.prepare(str(folder))
    assert workshop.source == folder.resolve()
    assert f"RSNA Kaggle folder {folder.resolve()}" in capsys.readouterr().out
    data = workshop.dataset("experiment1", seed=4)
    assert data.counts() == {"normal": 30, "hemorrhage": 30}
    assert all(item.source.parent == folder.resolve() / "stage_2_train" for item in data.items)


def test_each_kernel_is_shut_down_after_its_notebook(tmp_path, monkeypatch):
    managers = []
    make = runner._kernel_manager
    monkeypatch.setattr(runner, "_kernel_manager", lambda: managers.append(make()) or managers[-1])
    source = tmp_path / "nbs"
    source.mkdir()
    _write(source, "01_a.ipynb", "x = 1")
    _write(source, "02_b.ipynb", "y = 2")
    run_notebooks(tmp_path / "out", folder=source)
    assert len(managers) == 2 and not any(km.is_alive() for km in managers)


def test_a_split_by_patient_takes_the_builtin_cohort_when_the_source_has_no_patients(monkeypatch, capsys):
    asked = []
    monkeypatch.setattr(setup_notebook, "open_data", lambda recipe, seed, source: asked.append(source))
    original = setup_notebook.Workshop("original", None)
    original.dataset("experiment3", seed=1)
    assert capsys.readouterr().out == ""
    original.dataset("experiment3", seed=1, needs_patients=True)
    assert "hold no patient IDs" in capsys.readouterr().out
    setup_notebook.Workshop("builtin", None).dataset("experiment3", needs_patients=True)
    assert asked == ["original", "builtin", "builtin"] and capsys.readouterr().out == ""
