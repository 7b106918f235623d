"""The built-in cohort on disk, laid out like the RSNA 2019 Kaggle data.

``build_cohort()`` writes, under its folder: ``stage_2_train.csv`` (RSNA labels),
``stage_2_train/ID_<id>.dcm`` (one CT DICOM per slice), ``masks/ID_<id>.png`` (ground-truth
hemorrhage masks, 0 none, 1..5 the subtypes in RSNA order), ``slices.csv`` (one row per slice:
``ID,PatientID,StudyInstanceUID,SeriesInstanceUID,z,level,subtypes``, subtypes joined by ``|``)
and ``cohort.json`` (the manifest that makes a second build a no-op).

>>> report = build_cohort()        # doctest: +SKIP
>>> report.built, report.n_slices  # doctest: +SKIP
(True, 2511)
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian

from .. import config
from ..ct.rsna import IMAGE_FOLDER, LABEL_FILE, PATIENT_COLUMNS, PATIENT_FILE, SUBTYPES
from ..errors import SettingsError
from .generator import GENERATOR_VERSION
from .plan import PADDING_VALUE, SLICE_MM, SliceJob, draw, plan_cohort

MANIFEST = "cohort.json"


@dataclass
class BuildReport:
    """What ``build_cohort`` did."""

    path: Path
    built: bool  # False: it was already there, nothing was done
    n_slices: int
    seconds: float
    nbytes: int


def write_slice(job: SliceJob, folder: Path) -> tuple[str, ...]:
    """Generate one slice, write its DICOM and mask; return the subtypes that are visible."""
    s = draw(job)
    to_dicom(s.hu, job).save_as(folder / IMAGE_FOLDER / f"{job.id}.dcm", enforce_file_format=True)
    Image.fromarray(s.mask).save(folder / "masks" / f"{job.id}.png", compress_level=1)
    return s.subtypes


def to_dicom(hu: np.ndarray, job: SliceJob) -> pydicom.Dataset:
    """A CT Image Storage dataset holding ``hu``, with the job's quirk (if any)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = job.sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = pydicom.Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, job.sop_uid
    ds.StudyInstanceUID, ds.SeriesInstanceUID = job.study_uid, job.series_uid
    ds.FrameOfReferenceUID = job.frame_uid
    ds.Modality, ds.ImageType = "CT", ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.Manufacturer = "rsna_workshop synthetic generator"
    ds.PatientName = f"Synthetic^Patient {job.patient_number:04d}"
    ds.PatientID = job.patient_id
    ds.StudyID, ds.SeriesNumber, ds.InstanceNumber = "1", 1, job.instance
    ds.KVP, ds.SliceThickness = 120, SLICE_MM
    half = 256 * job.spacing
    ds.ImagePositionPatient = [-half, -half, job.z]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = [job.spacing, job.spacing]
    ds.Rows = ds.Columns = hu.shape[0]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
    ds.RescaleSlope, ds.RescaleType = 1, "HU"
    ds.WindowCenter, ds.WindowWidth = [40, 40], [80, 80]
    values = hu.astype(np.int32)
    if job.quirk == "signed":
        ds.PixelRepresentation, ds.RescaleIntercept = 1, 0
        pixels = values.astype(np.int16)
    elif job.quirk == "padding":
        ds.PixelRepresentation, ds.RescaleIntercept = 1, -1024
        ds.PixelPaddingValue = PADDING_VALUE
        pixels = (values + 1024).astype(np.int16)
        pixels[outside_fov()] = PADDING_VALUE
    elif job.quirk == "12bit":
        ds.PixelRepresentation, ds.RescaleIntercept = 0, 0
        ds.BitsStored, ds.HighBit = 12, 11
        pixels = np.mod(values, 4096).astype(np.uint16)
    else:
        ds.PixelRepresentation, ds.RescaleIntercept = 0, -1024
        pixels = (values + 1024).astype(np.uint16)
        if job.quirk == "single_window":
            ds.WindowCenter, ds.WindowWidth = 40, 80
    ds.PixelData = pixels.tobytes()
    return ds


def outside_fov(size: int = 512) -> np.ndarray:
    """Pixels outside the scanner's circular field of view (air, or padding in some files)."""
    yy, xx = np.mgrid[0:size, 0:size] - (size - 1) / 2
    return np.hypot(yy, xx) > size / 2


def build_cohort(out_dir=None, *, seed: int = 0, force: bool = False, workers: int | None = None,
                 scale: float = 1.0) -> BuildReport:
    """Generate the cohort into ``out_dir`` (default ``config.cohort_dir()``), unless it is there.

    A second call with the same seed, scale and generator version does nothing
    (``report.built`` False); ``force=True`` rebuilds. ``scale`` shrinks the cohort (tests).
    The build goes to a sibling ``.partial`` folder, renamed into place only when complete.
    """
    if not scale > 0 or (workers is not None and workers < 1):
        raise SettingsError(f"scale must be > 0 and workers >= 1 (or None for all cores); got scale={scale}, "
                         f"workers={workers}.")
    start = time.perf_counter()
    out = Path(out_dir) if out_dir is not None else config.cohort_dir()
    wanted = {"generator_version": GENERATOR_VERSION, "seed": seed, "scale": scale}
    manifest = read_manifest(out)
    if not force and manifest and all(manifest.get(k) == v for k, v in wanted.items()):
        return BuildReport(out, False, manifest["n_slices"], time.perf_counter() - start, folder_bytes(out))
    jobs = plan_cohort(seed, scale)
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    (partial / IMAGE_FOLDER).mkdir(parents=True)
    (partial / "masks").mkdir()
    workers = workers or min(os.cpu_count() or 1, 8)
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        visible = pool.starmap(write_slice, [(job, partial) for job in jobs], chunksize=16)
    write_tables(partial, jobs, visible)
    counts = {"slices": len(jobs), "hemorrhage": sum(bool(v) for v in visible)}
    counts.update({f"{name}_only": sum(v == (name,) for v in visible) for name in SUBTYPES})
    counts.update({name: sum(name in v for v in visible) for name in SUBTYPES})
    (partial / MANIFEST).write_text(json.dumps({**wanted, "n_slices": len(jobs), "counts": counts}, indent=1))
    if out.exists():
        shutil.rmtree(out)
    partial.rename(out)
    return BuildReport(out, True, len(jobs), time.perf_counter() - start, folder_bytes(out))


def ensure_cohort(out_dir=None) -> Path:
    """The cohort folder, built first if missing or out of date."""
    return build_cohort(out_dir).path


def read_manifest(folder: Path) -> dict | None:
    """The cohort's manifest, or None when the folder holds no complete cohort."""
    try:
        return json.loads((Path(folder) / MANIFEST).read_text())
    except (OSError, ValueError):
        return None


def folder_bytes(folder: Path) -> int:
    """Disk footprint of a folder's files."""
    return sum(f.stat().st_size for f in Path(folder).rglob("*") if f.is_file())


def write_tables(folder: Path, jobs: list[SliceJob], visible: list[tuple[str, ...]]):
    """``stage_2_train.csv`` (RSNA format) and ``slices.csv`` (patients and levels)."""
    with open(folder / LABEL_FILE, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["ID", "Label"])
        for job, seen in zip(jobs, visible):
            for name in SUBTYPES:
                out.writerow([f"{job.id}_{name}", int(name in seen)])
            out.writerow([f"{job.id}_any", int(bool(seen))])
    with open(folder / PATIENT_FILE, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(PATIENT_COLUMNS)
        for job, seen in zip(jobs, visible):
            row = (job.id, job.patient_id, job.study_uid, job.series_uid, job.z, job.level, "|".join(seen))
            out.writerow(row)
