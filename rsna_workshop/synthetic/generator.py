"""One synthetic axial head CT slice: anatomy, hemorrhage with its mass effect, then the scanner.

>>> s = generate_slice(7, level=0.6, subtypes=("subdural",))
>>> s.hu.shape, s.hu.dtype, s.mask.max() <= 5
((512, 512), dtype('float32'), True)
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from threadpoolctl import threadpool_limits

from ..ct.rsna import SUBTYPES
from ..errors import SettingsError
from .acquisition import Scanner, acquire, random_scanner
from .anatomy import SIZE, Frame, PatientHead, Tissue, head_frame, hu_table, paint, random_head
from .base import TOP, cavity_depth, draw_base, posterior_fossa
from .cortex import draw_cortex
from .deep import draw_calcifications, draw_caudate_heads, draw_deep, draw_leukoaraiosis, draw_midline, ventricles
from .extras import Extras, draw_extras, metal_streaks, random_extras
from .face import draw_ears, draw_face
from .hemorrhage import CODES, Bleed, midline_shift, paint_bleeds, plan_bleed, shows, thickness_table
from .skull import draw_holder, draw_vault

BASE_BONE_MM = 7.0  # thickness of the skull base around the fossae
HU_MIN, HU_MAX = -1000.0, 3000.0  # air .. dense bone and metal (what every stored form keeps exactly)
GENERATOR_VERSION = "18"  # bump when the generated images change: rebuilds cohorts, voids caches


@dataclass
class SyntheticSlice:
    """One generated slice. ``mask`` holds 0 (none) or 1..5, the subtypes in RSNA order."""

    hu: np.ndarray  # float32 (512, 512), whole Hounsfield units
    mask: np.ndarray  # uint8 (512, 512)
    tissue: np.ndarray  # uint8 (512, 512), :class:`Tissue` labels before blur and noise
    level: float
    subtypes: tuple[str, ...]  # subtypes actually visible (mask not empty), RSNA order
    head: PatientHead
    bleeds: tuple[Bleed, ...]


def patient_head(patient: int) -> PatientHead:
    """The head of patient seed ``patient``."""
    return random_head(np.random.default_rng([patient, 0]))


def patient_scanner(patient: int) -> Scanner:
    """The scanner that imaged patient seed ``patient`` (one series per patient)."""
    return random_scanner(np.random.default_rng([patient, 4]))


def patient_extras(patient: int) -> Extras:
    """Devices, old findings and artefacts of patient seed ``patient``."""
    return random_extras(np.random.default_rng([patient, 5]))


def patient_bleeds(patient: int, subtypes, level: float | None) -> tuple[Bleed, ...]:
    """The bleeds of patient seed ``patient``, each centred at ``level`` (or a typical level).

    A patient's epidural and subdural bleeds lie on opposite sides, whichever of them a slice
    shows; each bleed depends only on the patient, its subtype and ``level``."""
    side = 1.0 if patient % 2 else -1.0
    sides = {"epidural": side, "subdural": -side}
    return tuple(plan_bleed(name, np.random.default_rng([patient, 1, CODES[name]]), level, sides.get(name))
                 for name in subtypes)


def generate_slice(seed: int, *, level: float, subtypes=(), patient: int | None = None,
                   bleed_level: float | None = None, scanner: Scanner | None = None) -> SyntheticSlice:
    """Generate one 512x512 head CT slice in HU, with its ground-truth hemorrhage mask.

    Parameters
    ----------
    seed : noise and texture of this slice; same arguments give identical arrays.
    level : 0 foramen magnum and maxillary sinuses, about 0.15 orbits, 0.5 basal ganglia, 1 vertex.
    subtypes : hemorrhage subtypes to draw, any of ``SUBTYPES``; a bleed is drawn where
        :func:`~rsna_workshop.synthetic.hemorrhage.shows` says the slice cuts it.
    patient : seed of the head, its scanner and its bleeds, shared by a patient's slices
        (default: ``seed``).
    bleed_level : level where the bleeds are largest (default: ``level``).
    scanner : the acquisition (default: the patient's scanner).
    """
    if not 0.0 <= level <= 1.0:
        raise SettingsError(f"level must lie in 0 (skull base) .. 1 (vertex), got {level}.")
    unknown = [name for name in subtypes if name not in CODES]
    if unknown:
        raise SettingsError(f"Unknown hemorrhage subtype(s) {unknown}; choose from {', '.join(SUBTYPES)}.")
    patient = seed if patient is None else patient
    with threadpool_limits(1, user_api="blas"):  # small matrix products: threads only cost time
        return _generate(seed, level, subtypes, patient, bleed_level, scanner or patient_scanner(patient))


def _generate(seed: int, level: float, subtypes, patient: int, bleed_level, scanner: Scanner) -> SyntheticSlice:
    """:func:`generate_slice` once its arguments are checked."""
    head = patient_head(patient)
    planned = patient_bleeds(patient, [name for name in SUBTYPES if name in subtypes],
                             level if bleed_level is None else bleed_level)
    bleeds = tuple(b for b in planned if shows(b, level))
    rng = np.random.default_rng([seed, 2])
    f = head_frame(head, level, scanner.spacing)
    thickness = thickness_table(bleeds, level, f.px_per_mm)
    tissue, offset = draw_anatomy(head, patient, f, rng, thickness, midline_shift(bleeds, level, f.px_per_mm))
    extras = patient_extras(patient)
    draw_extras(extras, head, f, tissue, offset)
    draw_holder(f, tissue, scanner.holder, scanner.holder_gap)
    hu = hu_table(head)[tissue] + offset
    mask = paint_bleeds(bleeds, f, tissue, hu, thickness, rng)
    streaks = metal_streaks(extras, f)
    if streaks is not None:
        hu += streaks
    if extras.motion:  # the patient moved: a faint shifted copy of the slice
        hu = 0.75 * hu + 0.25 * np.roll(hu, (int(round(extras.motion)), int(round(extras.motion / 2))), axis=(0, 1))
    hu = acquire(hu, tissue, f, scanner, rng)
    hu = np.rint(np.clip(hu, HU_MIN, HU_MAX)).astype(np.float32)
    present = tuple(name for name in SUBTYPES if (mask == CODES[name]).any())
    return SyntheticSlice(hu, mask, tissue, float(level), present, head, bleeds)


def draw_anatomy(head: PatientHead, head_seed: int, f: Frame, rng: np.random.Generator,
                 thickness: np.ndarray, shift_px: float) -> tuple[np.ndarray, np.ndarray]:
    """The tissue map of a slice and the HU offsets within tissues (partial volume, mottling).

    ``thickness`` (pixels per polar angle) of extra-axial collections pushes the brain in, and
    ``shift_px`` moves the midline structures away from a mass."""
    t = np.zeros((SIZE, SIZE), np.uint8)
    offset = np.zeros((SIZE, SIZE), np.float32)
    draw_vault(head, f, t, offset, rng)
    low = min(f.local(0, -1), f.local(0, 1)) < TOP
    depth = cavity_depth(f) if low else f.depth
    cavity = (depth > 0) & (t != Tissue.DENSE)
    if low:
        base = (f.depth > 0) & ~cavity
        paint(t, base, Tissue.MUSCLE)  # muscles and fat of the face and neck, far from the cavity
        paint(t, base & (depth > -f.mm(BASE_BONE_MM)), Tissue.BONE)  # the skull base around it
        draw_face(head, f, t, ~cavity, rng)
        draw_ears(f, t)
    paint(t, cavity, Tissue.WHITE)
    if low:
        draw_base(head, f, t, cavity, rng)
    fb = _shifted(f, shift_px)
    cerebrum = (t == Tissue.WHITE) & ~posterior_fossa(f)
    draw_deep(head, fb, t, cerebrum)
    paint(t, ventricles(head, fb), Tissue.VENTRICLE, cerebrum)
    draw_caudate_heads(fb, t, cerebrum)
    draw_calcifications(head, fb, t, cerebrum)
    subarachnoid = f.mm(0.4 + 2.2 * head.atrophy)
    surface = depth - thickness[f.psi] - subarachnoid
    medial, fissure = _medial_surface(head, fb, subarachnoid)
    effaced = np.clip(thickness[f.psi] / f.mm(5.0), 0, 1) if thickness.any() else None
    draw_cortex(head, head_seed, f, t, offset, surface, medial, effaced)
    if fissure is not None:
        draw_midline(head, fb, t, t == Tissue.CSF, fissure & cavity)
    draw_leukoaraiosis(head, fb, t)
    return t, offset


def _shifted(f: Frame, shift_px: float) -> Frame:
    """The frame of the midline structures, moved ``shift_px`` sideways (most at the centre)."""
    if abs(shift_px) < 0.5:
        return f
    bow = np.exp(-((f.y + 0.05) / 0.5) ** 2) * np.clip(1 - (f.x / 0.8) ** 2, 0, 1)
    x = f.x - np.float32(shift_px / f.half_axes[0]) * bow.astype(np.float32)
    return replace(f, x=x, slack=abs(shift_px))


def _medial_surface(head: PatientHead, fb: Frame, subarachnoid: float):
    """Depth below the medial surface of the hemispheres (None where there is no fissure) and
    the fissure itself (CSF between the hemispheres)."""
    g = float(np.sqrt(np.clip((0.82 - fb.local(0, 0)) / 0.22, 0, 1)))
    gap = (-0.44 * g, 0.4 * g)  # the corpus callosum, ventricles and midbrain interrupt it
    if fb.level < 0.22:
        return None, None
    half = fb.mm(0.6) + subarachnoid
    across = np.abs(fb.x) * np.float32(fb.half_axes[0])
    fissure = ((fb.y < gap[0]) | (fb.y > gap[1])) & (fb.depth > 0)
    medial = np.where(fissure, across - half, np.float32(1e4)).astype(np.float32)
    return medial, fissure & (across < half)
