"""A class on a shared server: the prepared read-only folder, the attendee's own cache, Binder.

The read-only tests run the attendee's side on a folder made read-only with ``chmod -R a-w``; as
root (which ignores mode bits) also bind-mounted read-only in a private mount namespace. The
Binder test builds a fresh virtual environment and runs ``binder/postBuild`` offline (about 12
minutes): it runs only with ``RSNA_WORKSHOP_BINDER_TEST=1``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
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


def read_only(folder: Path) -> list[str]:
    """``chmod -R a-w folder``, and the command prefix under which it cannot be written.

    Root ignores mode bits, so as root the prefix runs the command in a private mount namespace
    where ``folder`` is bind-mounted read-only (the kernel refuses every write, even root's);
    the test is skipped where no such namespace can be made.
    """
    subprocess.run(["chmod", "-R", "a+rX,a-w", str(folder)], check=True)
    if os.geteuid() != 0:
        return []
    script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'
    prefix = ["unshare", "--mount", "sh", "-c", script, str(folder)]
    if not shutil.which("unshare") or subprocess.run(prefix + ["true"], capture_output=True).returncode:
        pytest.skip("running as root, which ignores chmod a-w, and no mount namespace can be made here "
                    "to mount the folder read-only")
    return prefix


def writable_again(folder: Path):
    subprocess.run(["chmod", "-R", "u+w", str(folder)], check=True)


ATTENDEE = textwrap.dedent("""
    import os, warnings
    from rsna_workshop import config
    from rsna_workshop.datasets import from_rsna
    from rsna_workshop.imaging import Preprocess
    from rsna_workshop.model import embed, train
    from rsna_workshop.workshop.classroom import classroom_preprocessings
    assert not os.access(config.data_dir(), os.W_OK), "the shared folder is writable here"
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
def test_an_attendee_reads_the_read_only_folder_and_writes_only_their_own_cache(tmp_path, weights_file):
    report = prepare_classroom(tmp_path / "prepared", progress=False, scale=0.02)
    assert (report.folder / ENV_FILE).read_text().count("export ") == 4
    try:
        prefix = read_only(report.folder)
        before = sorted(report.folder.rglob("*"))
        home = tmp_path / "home"
        home.mkdir()
        env = {**os.environ, "HOME": str(home), config.DATA_ENV: str(report.folder),
               config.SHARED_CACHE_ENV: str(report.cache), WEIGHTS_ENV: str(report.weights),
               config.BACKBONE_LOG_ENV: str(home / "backbone.log")}
        env.pop(config.CACHE_ENV, None)  # the default: ~/.cache/rsna_workshop, as the data is read-only
        env.pop("XDG_CACHE_HOME", None)
        done = subprocess.run(prefix + [sys.executable, "-c", ATTENDEE], env=env, cwd=home,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        assert f"ATTENDEE OK {home / '.cache' / 'rsna_workshop'} 2" in done.stdout
        runs = (home / "backbone.log").read_text().splitlines()
        assert [run.split("\t")[3] for run in runs] == [Preprocess(window="subdural").key]
        assert len(list((home / ".cache" / "rsna_workshop").rglob("*.npz"))) == 1
        assert sorted(report.folder.rglob("*")) == before
    finally:
        writable_again(report.folder)


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
def test_postbuild_in_a_fresh_venv_then_every_notebook_on_the_read_only_folder(tmp_path, weights_file):
    venv, classroom, home, out = (tmp_path / name for name in ("venv", "classroom", "home", "executed"))
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run(pip + ["-r", str(ROOT / "binder" / "requirements.txt")], check=True)
    build_env = {**os.environ, "PATH": f"{venv / 'bin'}:{os.environ['PATH']}", WEIGHTS_ENV: str(weights_file),
                 config.OFFLINE_ENV: "1", "RSNA_WORKSHOP_CLASSROOM": str(classroom), "HOME": str(tmp_path)}
    for name in (config.DATA_ENV, config.CACHE_ENV, config.SHARED_CACHE_ENV, "XDG_CACHE_HOME"):
        build_env.pop(name, None)
    subprocess.run([str(ROOT / "binder" / "postBuild")], cwd=ROOT, env=build_env, check=True)
    home.mkdir()
    run_env = {**build_env, "HOME": str(home), config.BACKBONE_LOG_ENV: str(home / "backbone.log")}
    run_env.pop(WEIGHTS_ENV)  # start gives the copy in the read-only folder
    started = subprocess.run([str(ROOT / "binder" / "start"), "env", "-0"], env=run_env,
                             capture_output=True, text=True, check=True)  # what start gives the server
    server_env = dict(line.split("=", 1) for line in started.stdout.split("\0") if "=" in line)
    assert server_env[config.DATA_ENV] == str(classroom) and server_env[WEIGHTS_ENV].startswith(str(classroom))
    try:
        command = [str(venv / "bin" / "python"), "-c", RUN_NOTEBOOKS, str(out), str(ROOT / "notebooks")]
        done = subprocess.run(read_only(classroom) + command, cwd=home, env=server_env, capture_output=True,
                              text=True, timeout=1800)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert len(list(out.glob("*.html"))) == len(list((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")))
        log = home / "backbone.log"
        assert not log.exists(), f"notebooks computed embeddings the shared cache holds:\n{log.read_text()}"
        assert not (home / ".cache" / "rsna_workshop" / "embeddings").exists()
    finally:
        writable_again(classroom)
