"""A class on a shared server: the prepared read-only folder, the attendee's own cache, Binder.

The read-only tests run the attendee's side as a user for whom mode bits count: this user when it
is not root, else ``nobody`` (root ignores ``chmod a-w``). The Binder test builds a fresh virtual
environment and runs ``binder/postBuild`` offline (about 12 minutes): it runs only with
``RSNA_WORKSHOP_BINDER_TEST=1``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from rsna_workshop import cli, config
from rsna_workshop.imaging import Preprocess
from rsna_workshop.model import WEIGHTS_ENV
from rsna_workshop.workshop import RECIPES
from rsna_workshop.workshop.classroom import ENV_FILE, classroom_preprocessings, prepare_classroom

ROOT = Path(__file__).resolve().parents[1]
BINDER_ENV = "RSNA_WORKSHOP_BINDER_TEST"


def floors(requirements) -> dict[str, str]:
    """Package name to its lowest version (the largest floor where a name comes twice)."""
    found: dict[str, str] = {}
    for text in requirements:
        requirement = Requirement(text)
        (spec,) = requirement.specifier
        assert spec.operator == ">=", text
        found[requirement.name] = max(found.get(requirement.name, spec.version), spec.version,
                                      key=lambda v: tuple(map(int, v.split("."))))
    return found


def test_binder_installs_what_the_package_and_its_lab_and_run_extras_declare():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = floors(project["dependencies"] + project["optional-dependencies"]["lab"]
                      + project["optional-dependencies"]["run"])
    lines = (ROOT / "binder" / "requirements.txt").read_text().splitlines()
    assert floors(line for line in lines if line and not line.startswith("#")) == declared


def test_binder_scripts_are_executable_and_stop_on_the_first_error():
    for name in ("postBuild", "start"):
        assert os.access(ROOT / "binder" / name, os.X_OK), f"binder/{name} is not executable"
    assert "set -euo pipefail" in (ROOT / "binder" / "postBuild").read_text()


def test_every_recipes_preprocessing_and_lesson_6s_three_windows_are_prepared():
    keys = [p.key for p in classroom_preprocessings()]
    assert len(keys) == len(set(keys))
    assert set(keys) == {r.preprocess.key for r in RECIPES.values()} | {Preprocess(multi_window=True).key}


# ---- as an attendee, on a read-only folder --------------------------------------------------------


def reachable_folder(prefix: str) -> Path:
    """A new folder under /tmp that every user can enter (pytest's own are private to this user)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    folder.chmod(0o755)
    return folder


def writable_by_attendee(folder: Path) -> Path:
    """``folder`` created and handed to the attendee's user."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(folder, "nobody", "nogroup")
    return folder


def as_attendee(command: list[str]) -> list[str]:
    """``command`` run by a user for whom read-only mode bits count; skips where none can be had."""
    if os.geteuid() != 0:
        return command
    if not shutil.which("setpriv"):
        pytest.skip("running as root, and no setpriv to run as nobody: root ignores chmod a-w")
    wrapped = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *command]
    if subprocess.run(wrapped[:4] + [sys.executable, "-c", "import rsna_workshop"],
                      capture_output=True).returncode:
        pytest.skip("nobody cannot run this Python (its folders are private to root)")
    return wrapped


def make_read_only(folder: Path):
    subprocess.run(["chmod", "-R", "a+rX,a-w", str(folder)], check=True)


def remove(folder: Path):
    subprocess.run(["chmod", "-R", "u+w", str(folder)], check=True)
    shutil.rmtree(folder)


ATTENDEE = textwrap.dedent("""
    import warnings
    from rsna_workshop import config
    from rsna_workshop.datasets import from_rsna
    from rsna_workshop.imaging import Preprocess
    from rsna_workshop.model import embed, train
    from rsna_workshop.workshop.classroom import classroom_preprocessings
    warnings.simplefilter("error")  # a cache that cannot be written, or a damaged one, fails
    cohort = from_rsna(config.cohort_dir(), "hemorrhage")
    for preprocess in classroom_preprocessings():
        assert embed(cohort.with_preprocess(preprocess)).shape == (len(cohort), 1280)
    own = cohort.with_preprocess(Preprocess(window="subdural"))  # the attendee's own variant
    embed(own)
    result = train(own, epochs=2, seed=0)
    print("ATTENDEE OK", config.cache_dir(), len(result.history["loss"]))
""")


@pytest.mark.slow
def test_an_attendee_reads_the_read_only_folder_and_writes_only_their_own_cache(weights_file):
    shared = reachable_folder("classroom_")
    try:
        report = prepare_classroom(shared / "prepared", progress=False, scale=0.02)
        assert (shared / "prepared" / ENV_FILE).read_text().count("export ") == 4
        make_read_only(shared / "prepared")
        before = sorted(p for p in (shared / "prepared").rglob("*"))
        home = writable_by_attendee(shared / "home")
        env = {**os.environ, "HOME": str(home), config.DATA_ENV: str(report.folder),
               config.SHARED_CACHE_ENV: str(report.cache), WEIGHTS_ENV: str(report.weights),
               config.BACKBONE_LOG_ENV: str(home / "backbone.log")}
        env.pop(config.CACHE_ENV, None)  # the default: ~/.cache/rsna_workshop, as the data is read-only
        done = subprocess.run(as_attendee([sys.executable, "-c", ATTENDEE]), env=env, cwd=home,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        assert f"ATTENDEE OK {home / '.cache' / 'rsna_workshop'} 2" in done.stdout
        runs = (home / "backbone.log").read_text().splitlines()
        assert [run.split("\t")[3] for run in runs] == [Preprocess(window="subdural").key]
        assert len(list((home / ".cache" / "rsna_workshop").rglob("*.npz"))) == 1
        assert sorted(p for p in (shared / "prepared").rglob("*")) == before
    finally:
        remove(shared)


def test_classroom_prepare_prints_the_export_lines(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "prepare_classroom", lambda folder: FakeReport(Path(folder)))
    assert cli.main(["classroom", "prepare", str(tmp_path / "class room")]) == 0
    out = capsys.readouterr().out
    assert f"export {config.DATA_ENV}='{tmp_path / 'class room'}'" in out
    assert f'export {config.CACHE_ENV}="$HOME/.cache/rsna_workshop"' in out
    assert f"chmod -R a+rX,a-w {tmp_path / 'class room'}" in out


class FakeReport:
    """What prepare_classroom reports, without building anything."""

    def __init__(self, folder: Path):
        self.folder, self.cache, self.weights = folder, folder / "cache", folder / "weights" / "w.h5"
        self.n_slices, self.preprocessings, self.seconds = 2511, ("a", "b"), 1.0


# ---- Binder: a fresh environment, postBuild offline, the notebooks on the read-only folder ---------


RUN_NOTEBOOKS = "from rsna_workshop.workshop.runner import run_notebooks; import sys; " \
                "run_notebooks(sys.argv[1], folder=sys.argv[2], timeout=900)"


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get(BINDER_ENV), reason=f"about 12 minutes: set {BINDER_ENV}=1")
def test_postbuild_in_a_fresh_venv_then_every_notebook_on_the_read_only_folder(weights_file):
    work = reachable_folder("binder_")
    try:
        venv, classroom = work / "venv", work / "classroom"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        subprocess.run(pip + ["-r", str(ROOT / "binder" / "requirements.txt")], check=True)
        path = f"{venv / 'bin'}:{os.environ['PATH']}"
        build_env = {**os.environ, "PATH": path, WEIGHTS_ENV: str(weights_file), config.OFFLINE_ENV: "1",
                     "RSNA_WORKSHOP_CLASSROOM": str(classroom), "HOME": str(work)}
        for name in (config.DATA_ENV, config.CACHE_ENV, config.SHARED_CACHE_ENV):
            build_env.pop(name, None)
        subprocess.run([str(ROOT / "binder" / "postBuild")], cwd=ROOT, env=build_env, check=True)
        home = writable_by_attendee(work / "home")
        out = writable_by_attendee(work / "executed")
        run_env = {**build_env, "HOME": str(home), config.BACKBONE_LOG_ENV: str(home / "backbone.log")}
        run_env.pop(WEIGHTS_ENV)  # start gives the copy in the read-only folder
        command = [str(ROOT / "binder" / "start"), "python", "-c", RUN_NOTEBOOKS, str(out),
                   str(ROOT / "notebooks")]
        done = subprocess.run(as_attendee(command), cwd=home, env=run_env, capture_output=True,
                              text=True, timeout=1800)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert len(list(out.glob("*.html"))) == len(list((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")))
        log = home / "backbone.log"
        assert not log.exists(), f"notebooks computed embeddings the shared cache holds:\n{log.read_text()}"
    finally:
        remove(work)
