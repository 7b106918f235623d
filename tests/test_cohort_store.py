"""How the built-in cohort is stored: labels from the plan at once, slices drawn on demand into
compressed DICOM files, several builders at once, killed builds, read-only shared folders."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image

from rsna_workshop.ct import read_ct
from rsna_workshop.datasets import from_rsna, read_labels
from rsna_workshop.errors import DataError
from rsna_workshop.synthetic import GENERATOR_VERSION, SUBTYPES, ensure_cohort, ensure_slices
from rsna_workshop.synthetic.cohort import MANIFEST, build_cohort, holds, sweep
from rsna_workshop.synthetic.plan import QUIRKS, draw, plan_cohort
from rsna_workshop.synthetic.writer import TEMP_SUFFIX, dicom_bytes, mask_png, to_dicom
from rsna_workshop.workshop import open_data, resolve

SCALE = 0.05  # about 130 slices
DEFLATED = "1.2.840.10008.1.2.1.99"


def planned(scale: float = SCALE) -> dict:
    return {job.id: job for job in plan_cohort(0, scale)}


def on_disk(folder: Path) -> set[str]:
    return {path.stem for path in (folder / "stage_2_train").glob("*.dcm")}


def leftovers(folder: Path) -> list[Path]:
    """Temporary files in the cohort and hidden work folders beside it."""
    return [*folder.rglob(f"*{TEMP_SUFFIX}"), *folder.parent.glob(f".{folder.name}.*")]


def snapshot(folder: Path) -> dict:
    """Every path under ``folder`` with its size, modification time and inode."""
    return {str(p): (s.st_size, s.st_mtime_ns, s.st_ino) for p in [folder, *folder.rglob("*")]
            for s in [p.stat()]}


def make_read_only(folder: Path) -> None:
    for path in [folder, *folder.rglob("*")]:
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def make_writable(folder: Path) -> None:
    for path in [folder, *folder.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)


def run_python(code: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``code`` in a new Python process that the file permissions bind (root drops the
    capability to ignore them, as a second user of a shared folder would be bound)."""
    prefix = []
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv: permissions cannot be enforced")
        caps = "-dac_override,-dac_read_search,-fowner"
        prefix = ["setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}"]
    return subprocess.run([*prefix, sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)


def data_build(out: Path, scale: float, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "rsna_workshop.cli", "data", "build", "--out", str(out),
                             "--scale", str(scale)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **popen)


def assert_complete(folder: Path, scale: float) -> None:
    """Every planned slice has a DICOM file and a mask, the labels are the plan's, nothing is left over."""
    jobs = planned(scale)
    assert holds(folder, 0, scale)
    assert on_disk(folder) == set(jobs) == {p.stem for p in (folder / "masks").glob("*.png")}
    assert not leftovers(folder)
    data = from_rsna(folder, "hemorrhage")  # no image missing, so no warning
    assert len(data) == len(jobs)
    for image_id in sorted(jobs)[:: max(1, len(jobs) // 6)]:
        expected = dicom_bytes(to_dicom(draw(jobs[image_id]).hu, jobs[image_id]))
        assert (folder / "stage_2_train" / f"{image_id}.dcm").read_bytes() == expected, image_id


# ---- labels first, pixels on demand ---------------------------------------------------------------


def test_labels_and_manifest_come_from_the_plan_before_any_pixel_is_drawn(tmp_path):
    folder = ensure_cohort(tmp_path / "cohort", scale=SCALE)
    jobs = planned()
    assert on_disk(folder) == set() and (folder / "masks").is_dir()
    table = read_labels(folder / "stage_2_train.csv")
    assert [i.decode() for i in table.ids] == sorted(jobs)
    for image_id, row in zip(table.ids, table.labels):
        requested = jobs[image_id.decode()].requested
        assert list(row) == [int(name in requested) for name in SUBTYPES] + [int(bool(requested))]
    with open(folder / "slices.csv") as handle:
        rows = {row["ID"]: row for row in csv.DictReader(handle)}
    assert set(rows) == set(jobs)
    assert all(rows[i]["subtypes"] == "|".join(s for s in SUBTYPES if s in jobs[i].requested) for i in jobs)
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["generator_version"] == GENERATOR_VERSION and manifest["scale"] == SCALE
    assert manifest["n_slices"] == manifest["counts"]["slices"] == len(jobs)
    assert manifest["counts"]["hemorrhage"] == sum(bool(job.requested) for job in jobs.values())
    before = snapshot(folder)
    assert ensure_cohort(folder, scale=SCALE) == folder and snapshot(folder) == before


def test_ensure_slices_draws_only_what_is_asked_and_the_files_read_back_exactly(tmp_path):
    folder = ensure_cohort(tmp_path / "cohort", scale=SCALE)
    jobs = planned()
    quirky = {job.quirk: job.id for job in jobs.values()}
    wanted = [quirky[quirk] for quirk in (None, *QUIRKS.values())]
    assert ensure_slices(folder, wanted + wanted[:2]) == len(wanted)
    assert on_disk(folder) == set(wanted)
    for image_id in wanted:
        drawn = draw(jobs[image_id])
        path = folder / "stage_2_train" / f"{image_id}.dcm"
        assert pydicom.dcmread(path).file_meta.TransferSyntaxUID == DEFLATED
        assert np.array_equal(read_ct(path).hu, drawn.hu), jobs[image_id].quirk
        assert np.array_equal(np.asarray(Image.open(folder / "masks" / f"{image_id}.png")), drawn.mask)
        assert path.stat().st_size < 200_000  # uncompressed: 525 kB
    before = snapshot(folder)
    assert ensure_slices(folder, wanted) == 0 and snapshot(folder) == before
    with pytest.raises(DataError, match="has no slice ID_nope"):
        ensure_slices(folder, ["ID_nope"])


def test_a_recipe_samples_the_same_images_whatever_is_already_on_disk(tmp_path, monkeypatch):
    def recipe_ids(folder):
        monkeypatch.setattr(resolve, "ensure_cohort", lambda: ensure_cohort(folder, scale=0.2))
        data = open_data("experiment1", seed=0)
        assert all(item.source.is_file() for item in data.items)
        return [item.id for item in data.items]

    fresh = recipe_ids(tmp_path / "fresh")
    assert on_disk(tmp_path / "fresh") == set(fresh) and len(fresh) == 60
    busy = ensure_cohort(tmp_path / "busy", scale=0.2)
    others = [image_id for image_id in sorted(planned(0.2)) if image_id not in fresh][:40]
    ensure_slices(busy, others + fresh[:5], workers=1)
    assert recipe_ids(busy) == fresh
    assert on_disk(busy) == set(fresh) | set(others)


def test_an_out_of_date_cohort_is_replaced_and_a_foreign_folder_is_not(tmp_path):
    folder = ensure_cohort(tmp_path / "cohort", scale=SCALE)
    ensure_slices(folder, sorted(planned())[:2])
    manifest = json.loads((folder / MANIFEST).read_text())
    (folder / MANIFEST).write_text(json.dumps({**manifest, "generator_version": "older"}))
    assert ensure_cohort(folder, scale=SCALE) == folder
    assert holds(folder, 0, SCALE) and on_disk(folder) == set() and not leftovers(folder)
    assert not holds(folder, 1, SCALE) and ensure_cohort(folder, seed=1, scale=SCALE) and holds(folder, 1, SCALE)

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(DataError, match="holds other files than a built-in cohort.*notes.txt"):
        ensure_cohort(mine, scale=SCALE)
    assert (mine / "notes.txt").read_text() == "keep me"


def test_build_cohort_draws_everything_once_and_force_draws_again_in_place(tmp_path):
    report = build_cohort(tmp_path / "cohort", scale=SCALE, workers=2)
    assert report.built and report.n_slices == len(planned())
    assert_complete(report.path, SCALE)
    assert report.nbytes < 200_000 * report.n_slices
    again = build_cohort(report.path, scale=SCALE)
    assert not again.built and again.n_slices == report.n_slices
    some = report.path / "stage_2_train" / f"{sorted(planned())[0]}.dcm"
    some.write_bytes(b"damaged")
    forced = build_cohort(report.path, scale=SCALE, force=True, workers=1)
    assert forced.built and read_ct(some).hu.shape == (512, 512)
    assert_complete(report.path, SCALE)


def test_sweep_removes_only_what_killed_processes_left_long_ago(tmp_path):
    folder = ensure_cohort(tmp_path / "cohort", scale=SCALE)
    old_temp = folder / "stage_2_train" / f".ID_x.dcm.1-ab{TEMP_SUFFIX}"
    new_temp = folder / "masks" / f".ID_y.png.2-cd{TEMP_SUFFIX}"
    old_labels = tmp_path / ".cohort.0badc0de.new"
    for path in (old_temp, new_temp):
        path.write_bytes(b"half a file")
    old_labels.mkdir()
    for path in (old_temp, old_labels):
        os.utime(path, (time.time() - 7200, time.time() - 7200))
    sweep(folder)
    assert not old_temp.exists() and not old_labels.exists() and new_temp.exists()


# ---- several processes, killed processes ----------------------------------------------------------


def test_two_builds_started_together_on_one_empty_folder_both_succeed(tmp_path):
    out = tmp_path / "cohort"
    builds = [data_build(out, 0.1) for _ in range(2)]
    results = [build.communicate(timeout=600) for build in builds]
    assert [build.returncode for build in builds] == [0, 0], results
    assert all("cohort" in stdout for stdout, _ in results)
    assert_complete(out, 0.1)


def test_a_build_killed_half_way_is_finished_by_the_next_one(tmp_path):
    out = tmp_path / "cohort"
    build = data_build(out, 0.1, start_new_session=True)  # its own process group: the workers die too
    deadline = time.monotonic() + 300
    while len(on_disk(out)) < 8 and time.monotonic() < deadline and build.poll() is None:
        time.sleep(0.2)
    assert build.poll() is None, "the build ended before it could be killed"
    os.killpg(build.pid, signal.SIGKILL)
    build.communicate(timeout=60)
    assert 8 <= len(on_disk(out)) < len(planned(0.1))
    again = data_build(out, 0.1)
    stdout, stderr = again.communicate(timeout=600)
    assert again.returncode == 0, stderr
    assert "Built the cohort" in stdout
    for path in out.rglob(f"*{TEMP_SUFFIX}"):  # a killed writer's temporary file: ignored, swept later
        path.unlink()
    assert_complete(out, 0.1)


def test_two_processes_drawing_the_same_slices_leave_complete_identical_files(tmp_path):
    folder = ensure_cohort(tmp_path / "cohort", scale=SCALE)
    jobs = planned()
    ids = sorted(jobs)[:12]
    for overwrite in (False, True):  # sharing the work, then each writing every file
        code = ("import sys; from rsna_workshop.synthetic import ensure_slices; "
                f"print(ensure_slices({str(folder)!r}, {ids!r}, workers=1, overwrite={overwrite}))")
        runs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
                for _ in range(2)]
        drawn = [int(run.communicate(timeout=300)[0]) for run in runs]
        assert [run.returncode for run in runs] == [0, 0]
        assert sum(drawn) >= len(ids) if not overwrite else drawn == [len(ids)] * 2
    assert on_disk(folder) == set(ids) and not leftovers(folder)
    for image_id in ids:
        drawn = draw(jobs[image_id])
        assert (folder / "stage_2_train" / f"{image_id}.dcm").read_bytes() == dicom_bytes(
            to_dicom(drawn.hu, jobs[image_id]))
        assert (folder / "masks" / f"{image_id}.png").read_bytes() == mask_png(drawn.mask)


# ---- a shared read-only cohort --------------------------------------------------------------------


def test_a_read_only_cohort_is_read_without_a_write_and_says_what_to_do_when_short(tmp_path, monkeypatch):
    data = tmp_path / "data"
    monkeypatch.setenv("RSNA_WORKSHOP_DATA", str(data))
    assert len(open_data("experiment1", seed=0)) == 60  # the full cohort's labels and 60 slices
    cohort = data / "synthetic"
    make_read_only(cohort)
    before = snapshot(cohort)
    code = """if True:
        import rsna_workshop as rw
        data = rw.open_data("experiment1", seed=0)
        print(len([data.image(i) for i in range(len(data))]), "images")
        try:
            rw.open_data("experiment1", seed=1)
        except rw.WorkshopError as error:
            print("error:", error)
    """
    try:
        run = run_python(code, {"RSNA_WORKSHOP_DATA": str(data)})
    finally:
        after = snapshot(cohort)
        make_writable(cohort)
    assert run.returncode == 0, run.stderr
    assert "60 images" in run.stdout
    assert f"in '{cohort}' is incomplete or out of date and that folder is read-only" in run.stdout
    assert f"rsna-workshop data build --out {cohort}" in run.stdout and "RSNA_WORKSHOP_DATA" in run.stdout
    assert after == before


def test_a_read_only_out_of_date_cohort_is_not_replaced(tmp_path):
    folder = ensure_cohort(tmp_path / "cohort", scale=SCALE)
    manifest = json.loads((folder / MANIFEST).read_text())
    (folder / MANIFEST).write_text(json.dumps({**manifest, "generator_version": "older"}))
    make_read_only(folder)
    make_read_only(tmp_path)
    before = snapshot(tmp_path)
    code = (f"from rsna_workshop.synthetic import ensure_cohort\n"
            f"ensure_cohort({str(folder)!r}, scale={SCALE})")
    try:
        run = run_python(code)
    finally:
        after = snapshot(tmp_path)
        make_writable(tmp_path)
    assert run.returncode == 1 and "DataError" in run.stderr and "read-only" in run.stderr
    assert after == before
