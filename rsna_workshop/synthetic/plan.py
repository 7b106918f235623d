"""What the built-in cohort holds: its patients, their slices and the bleeds each slice shows.

:func:`plan_cohort` decides everything about the cohort that is not pixels (patients, levels,
bleeds, UIDs, scanner quirks) from one seed, without drawing anything. Each slice's label
(:attr:`SliceJob.requested`) is decided here, from the bleeds' geometry alone
(:func:`~rsna_workshop.synthetic.hemorrhage.shows`), and :func:`draw` renders exactly those
bleeds: a slice at the edge of a bleed that does not cut it is planned, and labelled, as normal.
The cohort holds what the recipes need (1000 normal and 1000 hemorrhage slices, 80 with only an
intraparenchymal and 80 with only a subdural bleed) with a margin, so that seeds sample different
slices and a patient split can hold whole patients out.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from pydicom.uid import generate_uid

from ..ct.rsna import SUBTYPES
from .generator import SyntheticSlice, generate_slice, patient_bleeds, patient_scanner
from .hemorrhage import CENTRES, shows

LEVEL_STEP = 0.04  # one 5 mm slice, as a fraction of the foramen magnum to vertex distance
SLICE_MM = 5.0
# Patients per hemorrhage pattern (the full cohort), then patients without hemorrhage. Most
# patients give one slice, some a short run of neighbouring slices (SERIES): enough to show what a
# split by slice leaks, few enough that Teachable Machine's random split of slices does not mostly
# test on patients it has already seen (the original workshop drew its slices from thousands of
# patients).
BLEED_PATTERNS = {
    ("intraparenchymal",): 183,
    ("subdural",): 183,
    ("subarachnoid",): 152,
    ("epidural",): 80,
    ("intraventricular",): 73,
    ("intraparenchymal", "intraventricular"): 114,
    ("subarachnoid", "subdural"): 104,
    ("intraparenchymal", "subarachnoid"): 60,
    ("epidural", "subdural"): 28,
    ("intraparenchymal", "subdural"): 38,
    ("intraparenchymal", "intraventricular", "subarachnoid"): 38,
}
NORMAL_PATIENTS = 1000
SERIES = {1: 0.9, 2: 0.06, 3: 0.04}  # slices per patient: probability
BASE_SHARE = 0.7  # of normal patients imaged anywhere from the foramen magnum up, not near bleeds
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
    requested: tuple[str, ...]  # the subtypes this slice shows and is labelled with, RSNA order
    spacing: float
    quirk: str | None

    @property
    def z(self) -> float:
        """Table position of the slice, mm."""
        return round(self.level * SLICE_MM / LEVEL_STEP, 2)


def plan_cohort(seed: int = 0, scale: float = 1.0) -> list[SliceJob]:
    """Every slice of the cohort: patients, their levels and labels (nothing drawn)."""
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
    n = int(rng.choice(list(SERIES), p=list(SERIES.values())))
    if subtypes:
        bleed_level = round(float(rng.uniform(*CENTRES[subtypes[0]])), 4)
        # The bleed's centre on any slice of the run, or just beyond either end: about a fifth of a
        # bleeding patient's slices then miss the bleed, as in real series.
        start = bleed_level - LEVEL_STEP * int(rng.integers(-1, n + 1))
        bleeds = patient_bleeds(patient, subtypes, bleed_level)
    else:
        bleed_level, bleeds = 0.0, ()
        if rng.random() < BASE_SHARE:
            middle = rng.uniform(0.03, 0.95)
        else:  # where bleeds are, so the level of a slice does not give its label away
            middle = rng.uniform(*CENTRES[SUBTYPES[rng.integers(len(SUBTYPES))]])
        start = middle - LEVEL_STEP * (n - 1) / 2
    start = float(np.clip(start, 0.0, 1.0 - LEVEL_STEP * (n - 1)))
    levels = [round(start + LEVEL_STEP * k, 4) for k in range(n)]

    def uid(*parts) -> str:
        return generate_uid(entropy_srcs=[str(p) for p in (seed, patient, *parts)])

    spacing = patient_scanner(patient).spacing
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
            level=level,
            bleed_level=bleed_level,
            requested=tuple(name for name, b in zip(subtypes, bleeds) if shows(b, level)),
            spacing=spacing,
            quirk=QUIRKS.get(index % 40),
        ))
    return jobs


def draw(job: SliceJob) -> SyntheticSlice:
    """The slice a job describes: its Hounsfield units, hemorrhage mask and the subtypes it shows
    (always ``job.requested``)."""
    return generate_slice(job.seed, level=job.level, subtypes=job.requested, patient=job.patient,
                          bleed_level=job.bleed_level)
