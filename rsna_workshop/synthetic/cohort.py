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
import hashlib
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
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from .. import config
from ..ct.rsna import IMAGE_FOLDER, LABEL_FILE, PATIENT_COLUMNS, PATIENT_FILE, SUBTYPES
from ..errors import SettingsError
from .generator import GENERATOR_VERSION, generate_slice, patient_bleeds
from .hemorrhage import LEVELS, cut

MANIFEST = "cohort.json"
LEVEL_STEP = 0.04  # one 5 mm slice, as a fraction of the skull base to vertex distance
SLICE_MM = 5.0
# Patients per hemorrhage pattern (the full cohort), then patients without hemorrhage. Each patient
# has 3 or 4 contiguous slices: enough for a patient split, few enough that a random split of
# slices (Teachable Machine's) does not mostly test on patients it has already seen.
BLEED_PATTERNS = {
    ("intraparenchymal",): 52,
    ("subdural",): 52,
    ("epidural",): 36,
    ("intraventricular",): 32,
    ("subarachnoid",): 44,
    ("intraparenchymal", "intraventricular"): 22,
    ("subarachnoid", "subdural"): 22,
    ("intraparenchymal", "subarachnoid"): 18,
    ("epidural", "subdural"): 12,
    ("intraparenchymal", "subdural"): 12,
    ("intraparenchymal", "intraventricular", "subarachnoid"): 10,
}
NORMAL_PATIENTS = 315
SLICES_PER_PATIENT = (3, 4)
# Real-scanner quirks, one slice in ten: see rsna_workshop.dicom for how each is read.
QUIRKS = {1: "signed", 11: "padding", 21: "single_window", 31: "12bit"}
PADDING_VALUE = -2000


@dataclass
class BuildReport:
    """What ``build_cohort`` did."""

    path: Path
    built: bool  # False: it was already there, nothing was done
    n_slices: int
    seconds: float
    nbytes: int


@dataclass(frozen=True)
class SliceJob:
    """Everything needed to generate and write one slice."""

    id: str
    seed: int
    patient: int
    patient_id: str
    patient_number: int
    study_uid: str
    series_uid: str
    frame_uid: str
    sop_uid: str
    instance: int
    level: float
    bleed_level: float
    requested: tuple[str, ...]
    spacing: float
    quirk: str | None

    @property
    def z(self) -> float:
        """Table position of the slice, mm."""
        return round(self.level * SLICE_MM / LEVEL_STEP, 2)


def plan_cohort(seed: int = 0, scale: float = 1.0) -> list[SliceJob]:
    """Every slice of the cohort: patients, their levels and requested bleeds (nothing drawn)."""
    rng = np.random.default_rng([seed, 3])
    patterns = [(subtypes, max(1, round(n * scale))) for subtypes, n in BLEED_PATTERNS.items()]
    patterns.append(((), max(1, round(NORMAL_PATIENTS * scale))))
    jobs: list[SliceJob] = []
    number = 0
    for subtypes, count in patterns:
        for _ in range(count):
            number += 1
            patient = int(rng.integers(2**31))
            jobs += _patient_jobs(seed, number, patient, subtypes, rng, len(jobs))
    return jobs


def _patient_jobs(seed, number, patient, subtypes, rng, first_index) -> list[SliceJob]:
    """The slices of one patient: a contiguous run of levels (around the bleed, if any)."""
    n = int(rng.integers(SLICES_PER_PATIENT[0], SLICES_PER_PATIENT[1] + 1))
    if subtypes:
        low, high = LEVELS[subtypes[0]]
        bleed_level = float(rng.uniform(low, high))
        main = patient_bleeds(patient, subtypes[:1], bleed_level)[0]
        levels = [lv for lv in bleed_level + LEVEL_STEP * np.arange(-n, n + 1) if cut(main, lv) > 0.3]
        levels = [lv for lv in levels if 0.02 <= lv <= 0.98][:n]
        if levels[0] - LEVEL_STEP >= 0.02:  # the slice just below, as in real series: the bleed's
            levels.insert(0, levels[0] - LEVEL_STEP)  # edge or no bleed, otherwise nearly the same
    else:  # centred where bleeds are, so the level of a slice does not give its label away
        bleed_level = 0.0
        low, high = LEVELS[SUBTYPES[rng.integers(len(SUBTYPES))]]
        start = np.clip(rng.uniform(low, high) - LEVEL_STEP * (n - 1) / 2, 0.02, 0.98 - LEVEL_STEP * (n - 1))
        levels = list(start + LEVEL_STEP * np.arange(n))

    def uid(*parts) -> str:
        return generate_uid(entropy_srcs=[str(p) for p in (seed, patient, *parts)])

    spacing = round(float(rng.uniform(0.42, 0.49)), 4)
    jobs = []
    for k, level in enumerate(levels):
        index = first_index + k
        jobs.append(SliceJob(
            id="ID_" + hashlib.blake2b(f"{seed}/{index}".encode(), digest_size=5).hexdigest()[:9],
            seed=int(rng.integers(2**31)),
            patient=patient,
            patient_id=f"ID_SYNTH{seed:02d}{number:04d}",
            patient_number=number,
            study_uid=uid("study"),
            series_uid=uid("series"),
            frame_uid=uid("frame"),
            sop_uid=uid("sop", k),
            instance=k + 1,
            level=round(float(level), 4),
            bleed_level=bleed_level,
            requested=tuple(subtypes),
            spacing=spacing,
            quirk=QUIRKS.get(index % 40),
        ))
    return jobs


def write_slice(job: SliceJob, folder: Path) -> tuple[str, ...]:
    """Generate one slice, write its DICOM and mask; return the subtypes that are visible."""
    s = generate_slice(job.seed, level=job.level, subtypes=job.requested, patient=job.patient,
                       bleed_level=job.bleed_level)
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
