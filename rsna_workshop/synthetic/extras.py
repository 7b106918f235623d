"""What else a head CT from the emergency department holds, besides the head and a bleed.

Real slices of the RSNA data come from trauma and stroke work-ups: monitoring leads and wires on
the scalp, dressings, scalp swellings, shunt catheters through burr holes, craniotomy cuts, old
infarcts, metal that throws streaks (an aneurysm clip by the circle of Willis; hair clips,
earrings, hearing aids outside the skull), and patients who move.
Each patient gets a few of these (the same on all their slices), whether or not they bleed; they
make slices as varied as real ones and give colour-coding some of its real false alarms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .anatomy import ANGLES, SIZE, Frame, PatientHead, Tissue, ellipse, paint, presence, tube

_ROWS, _COLS = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)


@dataclass(frozen=True)
class Extras:
    """One patient's devices, old findings and artefacts (angles in radians, lengths in mm)."""

    leads: tuple  # polar angles of monitoring electrodes on the scalp
    dressing: tuple | None  # (angle, half width, thickness, level, half height), see _lump
    swelling: tuple | None  # scalp swelling from trauma, as ``dressing``
    shunt: float | None  # side (-1 right, 1 left) of a frontal shunt catheter
    craniotomy: tuple | None  # (angle, half width) of a healed bone flap
    infarct: tuple | None  # old infarct: (side, y, size), normalised
    metal: tuple | None  # (x, y, level, rays) of a metal object, normalised (see _metal)
    motion: float  # pixels the patient moved during the scan


def random_extras(rng: np.random.Generator) -> Extras:
    """Draw one patient's extras; most patients have one or two, some none."""
    def maybe(p):
        return rng.random() < p

    return Extras(
        leads=tuple(rng.uniform(-np.pi, np.pi, int(rng.choice([0, 2, 3, 4], p=[0.55, 0.2, 0.15, 0.1])))),
        dressing=_lump(rng, (0.4, 1.2), (4, 14), (0.08, 0.2)) if maybe(0.1) else None,
        swelling=_lump(rng, (0.2, 0.6), (3, 14), (0.06, 0.16)) if maybe(0.25) else None,
        shunt=float(rng.choice([-1, 1])) if maybe(0.05) else None,
        craniotomy=(float(rng.uniform(-np.pi, np.pi)), float(rng.uniform(0.3, 0.7))) if maybe(0.05) else None,
        infarct=(float(rng.choice([-1, 1])), float(rng.uniform(-0.4, 0.4)), float(rng.uniform(0.12, 0.3)))
        if maybe(0.18) else None,
        metal=_metal(rng) if maybe(0.15) else None,
        motion=float(rng.uniform(1, 4)) if maybe(0.1) else 0.0,
    )


def _lump(rng: np.random.Generator, half_width, thickness, half_height) -> tuple[float, ...]:
    """A dressing or scalp swelling over part of the head: its centre (polar angle and level), half
    width (radians), thickness (mm) and half height (levels; 0.04 is one 5 mm slice), drawn from
    the given ranges. It shows on the few slices of its height, not on all of a patient's."""
    return (float(rng.uniform(-np.pi, np.pi)), float(rng.uniform(*half_width)), float(rng.uniform(*thickness)),
            float(rng.uniform(0.1, 0.95)), float(rng.uniform(*half_height)))


def _metal(rng: np.random.Generator) -> tuple:
    """Where one patient's metal lies: an aneurysm clip on the circle of Willis (one in four), or a
    hair clip, earring or hearing aid outside the skull, at any level; with the streaks it throws:
    a few (angle, HU at one pixel) pairs, bright or dark, one per path through the metal that
    starves the detector (their number, directions and strengths depend on its shape)."""
    if rng.random() < 0.25:
        where = (float(rng.uniform(-0.4, 0.4)), float(rng.uniform(-0.32, -0.18)), float(rng.uniform(0.24, 0.36)))
    else:
        angle, radius = rng.uniform(-np.pi, np.pi), rng.uniform(1.12, 1.22)
        where = (float(radius * np.cos(angle)), float(radius * np.sin(angle)), float(rng.uniform(0.05, 0.9)))
    count = int(rng.integers(3, 9))
    rays = tuple(zip(rng.uniform(0, np.pi, count).tolist(), (rng.choice([-1, 1], count) * rng.uniform(300, 1500, count)).tolist()))
    return where + (rays,)


def draw_extras(extras: Extras, head: PatientHead, f: Frame, t: np.ndarray, offset: np.ndarray):
    """Add the extras to the tissue map (devices, scalp, skull) and to the HU offsets (infarcts)."""
    scalp = f.mm(head.scalp)
    for angle in extras.leads:
        x, y = np.cos(angle) * 1.0, np.sin(angle) * 1.0
        paint(t, ellipse(f, x * 1.03, y * 1.03, f.norm(3.0), f.norm(3.0)), Tissue.HOLDER)
        paint(t, tube(f, [(x * 1.03, y * 1.03), (x * 1.35, y * 1.35)], [f.mm(0.6)] * 2) & (t == Tissue.AIR), Tissue.SOFT)
    for item, label in ((extras.dressing, Tissue.FAT), (extras.swelling, Tissue.SOFT)):
        if item is not None:
            angle, half, thick, level, height = item
            up = (f.local(np.cos(angle), np.sin(angle)) - level) / height
            if abs(up) < 1:  # an ellipsoidal cap: thickest at its centre, thinning to its rim
                along = _turn(f, angle) / half
                bulge = f.mm(thick) * np.clip(1 - along * along - up * up, 0, 1)
                paint(t, (f.outer < -0.5 * scalp) & (f.outer > -scalp - bulge) & (bulge > 1), label)
    if extras.craniotomy is not None:
        angle, half = extras.craniotomy
        for edge in (angle - half, angle + half):
            cut = (np.abs(_turn(f, edge)) * f.rho * max(f.half_axes) < f.mm(1.2)) & (f.outer > 0) & (f.depth < 0)
            paint(t, cut, Tissue.SOFT)
    if extras.shunt is not None:
        side = extras.shunt
        p = presence(f.local(side * 0.2, -0.35), 0.45, 0.8)
        if p:  # the catheter runs down from a frontal burr hole to the frontal horn
            depth = (f.local(side * 0.2, -0.35) - 0.45) / 0.35
            x, y = side * (0.08 + 0.22 * depth), -0.3 - 0.15 * depth
            paint(t, ellipse(f, x, y, f.norm(1.6), f.norm(1.6)), Tissue.HOLDER)
    if extras.infarct is not None:
        side, y, size = extras.infarct
        if presence(f.local(side * 0.6, y), 0.35, 0.75):
            wedge = ellipse(f, side * 0.72, y, size, size * 1.4) & np.isin(t, (Tissue.WHITE, Tissue.GREY))
            offset[wedge] -= 16.0


def shows_metal(extras: Extras, level: float) -> bool:
    """Whether a slice at ``level`` cuts the patient's metal object (and shows its streaks)."""
    return extras.metal is not None and abs(level - extras.metal[2]) <= 0.05


def metal_streaks(extras: Extras, f: Frame) -> np.ndarray | None:
    """Bright and dark streaks radiating from a metal object in the slice, or None."""
    if not shows_metal(extras, f.level):
        return None
    x, y, _, rays = extras.metal
    px, py = f.to_pixel(x, y)
    dx, dy = _COLS - np.float32(px), _ROWS - np.float32(py)
    distance = np.hypot(dx, dy) + np.float32(4)
    streaks = np.zeros_like(distance)
    for angle, strength in rays:  # a line through the metal both ways, 1-2 pixels wide, fading with distance
        across = dy * np.float32(np.cos(angle)) - dx * np.float32(np.sin(angle))
        streaks += np.float32(strength) * np.exp(-across * across / np.float32(2.0))
    streaks /= distance
    streaks[distance < 7] = 10000.0  # metal: after the kernel's blur it still saturates the HU scale
    return streaks


def _turn(f: Frame, reference: float) -> np.ndarray:
    """Signed polar angle of each pixel from ``reference``, in -pi..pi."""
    angle = f.psi.astype(np.float32) * np.float32(2 * np.pi / ANGLES) - np.float32(np.pi)
    return (angle - np.float32(reference) + np.float32(np.pi)) % np.float32(2 * np.pi) - np.float32(np.pi)
