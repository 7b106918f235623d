"""The built-in cohort on disk, laid out like the RSNA 2019 Kaggle data, drawn slice by slice on demand.

A cohort folder holds ``stage_2_train.csv`` (RSNA labels), ``slices.csv`` (one row per slice:
``ID,PatientID,StudyInstanceUID,SeriesInstanceUID,z,level,subtypes``, subtypes joined by ``|``),
``cohort.json`` (the manifest: layout, generator version, seed and scale, counts), and the
slices drawn so far: ``stage_2_train/ID_<id>.dcm`` (one deflated CT DICOM per slice) and
``masks/ID_<id>.png`` (ground-truth hemorrhage masks, 0 none, 1..5 the subtypes in RSNA order).

The plan (:func:`~rsna_workshop.synthetic.plan.plan_cohort`) says what every slice holds, so
the label files are written from it at once (:func:`ensure_cohort`, a fraction of a second) and
the pixels only when a slice is asked for (:func:`ensure_slices`); :func:`build_cohort` draws
them all (``rsna-workshop data build``). Several processes may do this in one folder at the
same time, and a process killed half-way leaves nothing the next one trips on:

- the label files and manifest are written into a new hidden folder beside the cohort, renamed
  into place whole; an out-of-date cohort is moved aside, and deleted, only once a newer one is
  ready to take its place;
- each slice file is written under a unique temporary name and renamed into place
  (:mod:`~rsna_workshop.synthetic.writer`), so builders of the same slice both succeed;
- a complete cohort is only read, never written: it may be read-only and shared.

One limit: a process of an older package version that is still drawing when a newer version
replaces the folder would put its slices into the new folder; give each version its own data
folder when both run at once.

>>> report = build_cohort()        # doctest: +SKIP
>>> report.built, report.n_slices  # doctest: +SKIP
(True, 2511)
"""

from __future__ import annotations

import csv
import json
import os
import random
import secrets
import shutil
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from joblib import Parallel, delayed
from tqdm.auto import tqdm

from .. import config
from ..ct.rsna import IMAGE_FOLDER, LABEL_FILE, PATIENT_COLUMNS, PATIENT_FILE, SUBTYPES
from ..errors import DataError, SettingsError
from .generator import GENERATOR_VERSION
from .plan import SliceJob, plan_cohort
from .writer import MASK_FOLDER, TEMP_SUFFIX, write_atomic, write_slice

MANIFEST = "cohort.json"
LAYOUT = 2  # 2: labels from the plan, slices drawn on demand, deflated DICOM files
POOL_FROM = 64  # fewer missing slices are drawn in this process: starting workers costs 1-2 s
PROGRESS_FROM = 100  # a progress bar for draws of at least this many slices
STALE_SECONDS = 600  # temporary files and folders this old were left by a killed process (a write takes ms)


@dataclass
class BuildReport:
    """What ``build_cohort`` did."""

    path: Path
    built: bool  # False: it was already there, nothing was done
    n_slices: int
    seconds: float
    nbytes: int


def build_cohort(out_dir=None, *, seed: int = 0, force: bool = False, workers: int | None = None,
                 scale: float = 1.0, progress: bool = False) -> BuildReport:
    """Make ``out_dir`` (default ``config.cohort_dir()``) hold the whole cohort, drawing what is missing.

    A second call with the same seed, scale and generator version does nothing
    (``report.built`` False); ``force=True`` draws every slice again. ``scale`` shrinks the
    cohort (tests); ``workers`` is the number of drawing processes (default: the usable cores).
    """
    if workers is not None and workers < 1:
        raise SettingsError(f"Use workers >= 1 (or None for all cores); got workers={workers}.")
    start = time.perf_counter()
    out = _folder(out_dir)
    wrote_labels = _ensure_labels(out, seed, scale, rewrite=force)
    drawn = ensure_slices(out, workers=workers, progress=progress, overwrite=force)
    if wrote_labels or drawn:
        sweep(out)
    n_slices = read_manifest(out)["n_slices"]
    return BuildReport(out, wrote_labels or drawn > 0, n_slices, time.perf_counter() - start, folder_bytes(out))


def ensure_cohort(out_dir=None, *, seed: int = 0, scale: float = 1.0) -> Path:
    """The cohort folder with its label files and manifest, written first if missing or out of date.

    Nothing is drawn (see :func:`ensure_slices`); a folder that is up to date is only read.
    """
    out = _folder(out_dir)
    _ensure_labels(out, seed, scale)
    return out


def ensure_slices(folder, ids=None, *, workers: int | None = None, progress: bool = False,
                  overwrite: bool = False) -> int:
    """Draw the slices of ``ids`` (default: all) that ``folder`` lacks; return how many were drawn.

    ``folder`` is a cohort made by :func:`ensure_cohort`. When every slice asked for is there,
    nothing is written (the folder may be read-only). Large requests are drawn by ``workers``
    processes (default: the usable cores), small ones in this process. ``overwrite=True`` draws
    and replaces the slices even when they are there.
    """
    folder = Path(folder)
    present = set() if overwrite else _present(folder / IMAGE_FOLDER)
    if ids is not None:
        ids = [image_id for image_id in dict.fromkeys(ids) if image_id not in present]
        if not ids:
            return 0
    jobs = _planned(folder)
    if ids is None:
        todo = [job for job in jobs.values() if job.id not in present]
    else:
        unknown = [image_id for image_id in ids if image_id not in jobs]
        if unknown:
            raise DataError(f"The cohort in '{folder}' has no slice {unknown[0]} ({len(unknown)} unknown ids).")
        todo = [jobs[image_id] for image_id in ids]
    if not todo:
        return 0
    _check_writable(folder / IMAGE_FOLDER, folder, "draw its missing slices")
    random.Random(os.getpid()).shuffle(todo)  # builders at work in one folder share it out
    return _draw(todo, folder, workers, progress, overwrite)


def _draw(todo: list[SliceJob], folder: Path, workers: int | None, progress: bool, overwrite: bool) -> int:
    """Draw and write ``todo`` in this process or in worker processes; return how many were drawn."""
    workers = min(workers or usable_cores(), len(todo))
    write = partial(write_slice, folder=folder, overwrite=overwrite)
    bar = tqdm(total=len(todo), unit="slice", desc="Drawing slices",
               disable=not progress or len(todo) < PROGRESS_FROM)
    with bar:
        if workers == 1 or len(todo) < POOL_FROM:
            return _count(map(write, todo), bar)
        # joblib's worker processes start fresh (no fork of a process that may hold TensorFlow)
        # and, unlike multiprocessing's, never re-run a script that lacks `if __name__ == "__main__"`
        parallel = Parallel(n_jobs=workers, return_as="generator_unordered")
        return _count(parallel(delayed(write)(job) for job in todo), bar)


def _count(results, bar) -> int:
    """How many of ``results`` are True, advancing the progress bar by one per result."""
    drawn = 0
    for result in results:
        drawn += result
        bar.update()
    return drawn


def usable_cores() -> int:
    """The cores this process may run on (at most 8)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, 8))


def read_manifest(folder: Path) -> dict | None:
    """The cohort's manifest, or None when the folder holds no cohort."""
    try:
        manifest = json.loads((Path(folder) / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def wanted_manifest(seed: int, scale: float) -> dict:
    """The manifest fields a cohort of ``seed`` and ``scale`` drawn by this package has."""
    return {"layout": LAYOUT, "generator_version": GENERATOR_VERSION, "seed": seed, "scale": scale}


def holds(folder: Path, seed: int, scale: float) -> bool:
    """True when ``folder`` holds the label files of this package's cohort of ``seed`` and ``scale``."""
    manifest = read_manifest(folder) or {}
    return all(manifest.get(key) == value for key, value in wanted_manifest(seed, scale).items())


def folder_bytes(folder: Path) -> int:
    """Disk footprint of a folder's files."""
    return sum(f.stat().st_size for f in Path(folder).rglob("*") if f.is_file())


def sweep(folder: Path, older_than: float = STALE_SECONDS) -> None:
    """Remove what killed processes left: temporary slice files and hidden label folders beside ``folder``."""
    limit = time.time() - older_than
    leftovers = [*(folder / IMAGE_FOLDER).glob(f"*{TEMP_SUFFIX}"), *(folder / MASK_FOLDER).glob(f"*{TEMP_SUFFIX}"),
                 *folder.parent.glob(f".{folder.name}.*.new"), *folder.parent.glob(f".{folder.name}.*.old")]
    for path in leftovers:
        try:
            if path.lstat().st_mtime < limit:
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        except OSError:
            pass  # another process swept it first


def _folder(out_dir) -> Path:
    return Path(out_dir).expanduser().absolute() if out_dir is not None else config.cohort_dir()


def _present(images: Path) -> set[str]:
    """The ids whose DICOM file is in ``images`` (one directory listing)."""
    try:
        return {name[:-4] for name in os.listdir(images) if name.endswith(".dcm")}
    except FileNotFoundError:
        return set()


def _planned(folder: Path) -> dict[str, SliceJob]:
    """The plan of the cohort in ``folder``, by id; the folder must be up to date."""
    manifest = read_manifest(folder) or {}
    seed, scale = manifest.get("seed"), manifest.get("scale")
    if seed is None or not holds(folder, seed, scale):
        raise DataError(f"'{folder}' holds no up-to-date built-in cohort (no {MANIFEST} of generator "
                        f"version {GENERATOR_VERSION}): run `rsna-workshop data build --out {folder}`.")
    return {job.id: job for job in plan_cohort(seed, scale)}


def _ensure_labels(out: Path, seed: int, scale: float, rewrite: bool = False) -> bool:
    """Write the label files and manifest of the cohort into ``out`` unless they are there; True if written."""
    if not scale > 0:
        raise SettingsError(f"scale must be > 0; got scale={scale}.")
    if holds(out, seed, scale) and not rewrite:
        return False
    if out.exists():
        _check_replaceable(out)
    _check_writable(out.parent, out, "write it", create=True)
    new = out.with_name(f".{out.name}.{secrets.token_hex(4)}.new")
    new.mkdir()
    try:
        write_labels(new, plan_cohort(seed, scale), wanted_manifest(seed, scale))
        if rewrite and holds(out, seed, scale):
            for name in (LABEL_FILE, PATIENT_FILE, MANIFEST):  # in place: the slices stay
                write_atomic(out / name, (new / name).read_bytes())
        else:
            _swap_in(new, out, seed, scale)
    finally:
        shutil.rmtree(new, ignore_errors=True)
    return True


def _swap_in(new: Path, out: Path, seed: int, scale: float, attempts: int = 10) -> None:
    """Rename the folder ``new`` to ``out``. An ``out`` that another process installed meanwhile
    with the same manifest is kept; an out-of-date one is moved aside and deleted afterwards."""
    aside = []
    try:
        for _ in range(attempts):
            try:
                os.rename(new, out)  # atomic; fails when out exists and is not an empty folder
                return
            except OSError:
                if holds(out, seed, scale):
                    return
            aside.append(out.with_name(f".{out.name}.{secrets.token_hex(4)}.old"))
            try:
                os.rename(out, aside[-1])
            except FileNotFoundError:  # another process moved it aside first
                aside.pop()
        raise DataError(f"Could not put the built-in cohort in place at '{out}' after {attempts} tries; "
                        f"is another program changing that folder?")
    finally:
        for path in aside:
            shutil.rmtree(path, ignore_errors=True)


def _check_replaceable(out: Path) -> None:
    """Raise a DataError unless ``out`` may be replaced: a writable folder holding only cohort files."""
    _check_writable(out, out, "replace it with this version's cohort")
    foreign = sorted(set(os.listdir(out)) - {MANIFEST, LABEL_FILE, PATIENT_FILE, IMAGE_FOLDER, MASK_FOLDER})
    if foreign:
        raise DataError(f"'{out}' holds other files than a built-in cohort (e.g. {foreign[0]}), so it is "
                        f"not replaced: choose a new or empty folder for the cohort.")


def _check_writable(path: Path, cohort: Path, action: str, create: bool = False) -> None:
    """Raise a DataError that says what to do when ``path`` (the cohort or its parent) is read-only."""
    try:
        if create:
            path.mkdir(parents=True, exist_ok=True)
        writable = os.access(path, os.W_OK)
    except OSError:
        writable = False
    if not writable:
        raise DataError(
            f"The built-in cohort in '{cohort}' is incomplete or out of date and that folder is "
            f"read-only, so this process cannot {action}. Whoever owns it can run "
            f"`rsna-workshop data build --out {cohort}`; or set {config.DATA_ENV} to a folder of "
            f"your own, where the cohort is then built."
        )


def write_labels(folder: Path, jobs: list[SliceJob], manifest: dict) -> None:
    """``stage_2_train.csv`` (RSNA format), ``slices.csv``, the manifest and the empty slice folders."""
    with open(folder / LABEL_FILE, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["ID", "Label"])
        for job in jobs:
            for name in SUBTYPES:
                out.writerow([f"{job.id}_{name}", int(name in job.requested)])
            out.writerow([f"{job.id}_any", int(bool(job.requested))])
    with open(folder / PATIENT_FILE, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(PATIENT_COLUMNS)
        for job in jobs:
            subtypes = "|".join(name for name in SUBTYPES if name in job.requested)
            out.writerow((job.id, job.patient_id, job.study_uid, job.series_uid, job.z, job.level, subtypes))
    (folder / IMAGE_FOLDER).mkdir(exist_ok=True)
    (folder / MASK_FOLDER).mkdir(exist_ok=True)
    requested = [job.requested for job in jobs]
    counts = {"slices": len(jobs), "hemorrhage": sum(bool(r) for r in requested)}
    counts.update({f"{name}_only": sum(r == (name,) for r in requested) for name in SUBTYPES})
    counts.update({name: sum(name in r for r in requested) for name in SUBTYPES})
    (folder / MANIFEST).write_text(json.dumps({**manifest, "n_slices": len(jobs), "counts": counts}, indent=1))
