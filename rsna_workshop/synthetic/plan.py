"""What the built-in cohort holds: its patients, their slices and the bleeds asked of each slice.

:func:`plan_cohort` decides everything about the cohort that is not pixels (patients, levels,
bleeds, UIDs, scanner quirks) from one seed, without drawing anything;
:mod:`~rsna_workshop.synthetic.cohort` draws and writes the slices.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from pydicom.uid import generate_uid

from ..ct.rsna import SUBTYPES
from .generator import SyntheticSlice, generate_slice, patient_bleeds
from .hemorrhage import LEVELS, cut

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


def draw(job: SliceJob) -> SyntheticSlice:
    """The slice a job describes: its Hounsfield units, hemorrhage mask and visible subtypes."""
    return generate_slice(job.seed, level=job.level, subtypes=job.requested, patient=job.patient,
                          bleed_level=job.bleed_level)
