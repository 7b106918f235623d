"""One synthetic axial head CT slice: anatomy, hemorrhage, blur, noise and scanner artefacts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..ct.rsna import SUBTYPES
from ..errors import SettingsError
from .anatomy import SIZE, PatientHead, Tissue, draw_slice, random_head
from .hemorrhage import CODES, Bleed, draw_bleed, oedema_rim, plan_bleed

HU_MIN, HU_MAX = -1000.0, 3000.0  # the generator never leaves this range
GENERATOR_VERSION = "9"  # bump when the generated images change: rebuilds cohorts, voids caches


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


def patient_bleeds(patient: int, subtypes, level: float | None) -> tuple[Bleed, ...]:
    """The bleeds of patient seed ``patient``, each centred at ``level`` (or a typical level)."""
    return tuple(
        plan_bleed(name, np.random.default_rng([patient, 1, CODES[name]]), level) for name in subtypes
    )


def generate_slice(seed: int, *, level: float, subtypes=(), patient: int | None = None,
                   bleed_level: float | None = None) -> SyntheticSlice:
    """Generate one 512x512 head CT slice in HU, with its ground-truth hemorrhage mask.

    Parameters
    ----------
    seed : noise and texture of this slice; same arguments give identical arrays.
    level : 0 skull base (orbits, petrous bones, posterior fossa) .. 1 vertex.
    subtypes : hemorrhage subtypes to draw, any of ``SUBTYPES``.
    patient : seed of the head and its bleeds, shared by a patient's slices (default: ``seed``).
    bleed_level : level where the bleeds are largest (default: ``level``).

    >>> s = generate_slice(7, level=0.6, subtypes=("subdural",))
    >>> s.hu.shape, s.subtypes
    ((512, 512), ('subdural',))
    """
    if not 0.0 <= level <= 1.0:
        raise SettingsError(f"level must lie in 0 (skull base) .. 1 (vertex), got {level}.")
    unknown = [name for name in subtypes if name not in CODES]
    if unknown:
        raise SettingsError(f"Unknown hemorrhage subtype(s) {unknown}; choose from {', '.join(SUBTYPES)}.")
    patient = seed if patient is None else patient
    head = patient_head(patient)
    bleeds = patient_bleeds(patient, subtypes, level if bleed_level is None else bleed_level)
    rng = np.random.default_rng([seed, 2])
    tissue, frame = draw_slice(head, level, rng)
    table = np.array([head.hu.get(t, 0.0) for t in Tissue], np.float32)
    hu = table[tissue]
    mask = np.zeros((SIZE, SIZE), np.uint8)
    for bleed in bleeds:
        rim = oedema_rim(bleed, frame, level)
        hu[rim & np.isin(tissue, (Tissue.WHITE, Tissue.GREY, Tissue.DEEP_GREY))] -= 9
        blood = draw_bleed(bleed, frame, tissue, level)
        hu[blood] = bleed.density
        mask[blood] = CODES[bleed.subtype]
    hu = ndimage.gaussian_filter(hu, head.blur, truncate=3.0)
    if level < 0.32:
        hu += _streaks(frame, rng, level)
    noise_sd = head.noise * (1.25 if level < 0.3 else 1.0)
    hu += _texture(rng, noise_sd, sigma=0.7)
    hu[_OUTSIDE_FOV | (tissue == Tissue.AIR) & (hu < -900)] = HU_MIN
    hu = np.rint(np.clip(hu, HU_MIN, HU_MAX)).astype(np.float32)
    present = tuple(name for name in SUBTYPES if (mask == CODES[name]).any())
    return SyntheticSlice(hu, mask, tissue, float(level), present, head, bleeds)


_OUTSIDE_FOV = np.hypot(*(np.mgrid[0:SIZE, 0:SIZE] - (SIZE - 1) / 2)) > SIZE / 2


def _texture(rng: np.random.Generator, sd: float, sigma: float = 1.6) -> np.ndarray:
    """Smoothed Gaussian noise with standard deviation ``sd`` (CT noise is spatially correlated)."""
    white = rng.standard_normal((SIZE, SIZE), dtype=np.float32)
    smooth = ndimage.gaussian_filter(white, sigma, truncate=2.5)
    return smooth * np.float32(sd / (0.28 / sigma))


def _streaks(frame, rng: np.random.Generator, level: float) -> np.ndarray:
    """Beam hardening near the skull base: a dark band between the petrous bones and thin rays."""
    strength = (0.32 - level) / 0.32
    band = np.exp(-((frame.y - 0.02) / 0.05) ** 2) * (np.abs(frame.x) < 0.45)
    angle = np.arctan2(frame.y - 0.02, frame.x)
    rays = np.cos(rng.integers(9, 16) * angle + rng.uniform(0, 6.3)) ** 16
    inside = frame.depth > 0
    return (inside * strength * (-20 * band + rng.uniform(4, 9) * (rays - 0.2))).astype(np.float32)
