"""The front of the skull base: orbits (globe, lens, optic nerve, extraocular muscles, fat), the
nasal cavity, ethmoid, maxillary and sphenoid sinuses, the nose and the ears.

Air cells (ethmoid, mastoid) are a honeycomb: a smooth random field thresholded inside the bone,
so each patient's cells differ and thin bony septa separate them.
"""

from __future__ import annotations

import numpy as np

from .anatomy import Frame, PatientHead, Tissue, ellipse, field_noise, paint, presence, tube


def honeycomb(f: Frame, region: np.ndarray, rng: np.random.Generator, cell_mm: float, air: float) -> np.ndarray:
    """Air cells inside ``region``: about ``air`` of it, cells about ``cell_mm`` wide."""
    rows, cols = np.nonzero(region.any(axis=1))[0], np.nonzero(region.any(axis=0))[0]
    out = np.zeros(region.shape, bool)
    if len(rows) == 0:
        return out
    win = slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)
    shape = (rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)
    field = field_noise(rng, (max(shape[0], 8), max(shape[1], 8)), f.mm(cell_mm))[: shape[0], : shape[1]]
    threshold = np.quantile(field, 1 - air) if field.size else 0
    out[win] = region[win] & (np.abs(field - threshold) > 0.18) & (field > threshold)
    return out


def draw_face(head: PatientHead, f: Frame, t: np.ndarray, outside: np.ndarray, rng: np.random.Generator):
    """Orbits, nose and paranasal sinuses, where the slice cuts them, ``outside`` the cranial cavity."""
    front = f.local(0, -0.8)
    if front > 0.3:
        return
    outline = (t != Tissue.AIR) & outside
    nose = presence(front, -0.25, 0.2)
    if nose:  # the external nose, in front of the outline
        paint(t, tube(f, [(0, -0.98), (0, -1.08 - 0.12 * nose)], [f.mm(11) * nose, f.mm(3) * nose]), Tissue.SOFT)
    maxillary = presence(front, -0.3, 0.11)
    for side in (-1, 1):
        if maxillary:
            paint(t, ellipse(f, side * 0.33, -0.68, 0.2 * maxillary, 0.2 * maxillary), Tissue.BONE, outline)
            paint(t, ellipse(f, side * 0.33, -0.68, 0.17 * maxillary, 0.17 * maxillary), Tissue.AIR, outline)
        _orbit(head, f, t, side, outside)
    p = presence(front, -0.2, 0.13)
    if p:  # nasal cavity with its septum and turbinates
        cavity = ellipse(f, 0, -0.72, 0.14 * p, 0.3 * p) & outside
        paint(t, cavity, Tissue.AIR)
        for side in (-1, 1):
            paint(t, ellipse(f, side * 0.1, -0.72, 0.05 * p, 0.2 * p), Tissue.SOFT, cavity)
        paint(t, cavity & (np.abs(f.x - head.septum_offset * 0.2) < f.norm(1.2)), Tissue.BONE)
    p = presence(front, 0.06, 0.25)
    if p:  # ethmoid air cells between the orbits
        region = ellipse(f, 0, -0.72, 0.13 * p, 0.26 * p) & outside
        paint(t, region, Tissue.BONE)
        paint(t, honeycomb(f, region, rng, 5.0, 0.8), Tissue.AIR)
    p = presence(f.local(0, -0.35), 0.04, 0.24)
    if p:  # sphenoid body and sinus
        sinus = ellipse(f, 0, -0.37, 0.17 * p, 0.13 * p) & outside
        paint(t, sinus, Tissue.AIR)
        paint(t, sinus & (np.abs(f.x - head.septum_offset) < f.norm(0.8)), Tissue.BONE)


def _orbit(head: PatientHead, f: Frame, t: np.ndarray, side: int, outside: np.ndarray):
    """One orbit: fat cone, globe with sclera, vitreous and lens, optic nerve and recti."""
    p = presence(f.local(side * 0.4, -0.75), 0.06, 0.3)
    if not p:
        return
    apex = (side * 0.15, -0.4)
    g = presence(f.local(side * 0.42, -0.85), 0.1, 0.28)
    radius = f.mm(12.0) * max(g, 0.3)
    cx, cy = side * 0.42, -0.8
    cone = tube(f, [(cx, cy), apex], [radius * p + f.mm(2.5), f.mm(2.5)]) & outside
    paint(t, cone, Tissue.FAT)
    for wall in (0.22, 0.64):  # medial and lateral recti along the walls
        paint(t, tube(f, [(side * wall, cy + 0.05), (side * 0.2, -0.45)], [f.mm(2.2) * p, f.mm(1.5) * p]),
              Tissue.MUSCLE, cone)
    nerve = presence(f.local(side * 0.3, -0.6), 0.13, 0.25)
    if nerve:
        paint(t, tube(f, [(cx - side * 0.02, cy + 0.1), (side * 0.3 + 0.02 * np.sin(head.fold), -0.6), apex],
                      [f.mm(2.2) * nerve] * 3), Tissue.MUSCLE, cone)
    if g:
        radius = f.mm(12.0) * g
        paint(t, _disc(f, cx, cy, radius + f.mm(1.0)), Tissue.SOFT)  # sclera and uvea
        paint(t, _disc(f, cx, cy, radius), Tissue.VITREOUS)
        lens = presence(f.local(cx, cy), 0.16, 0.23)
        if lens:
            front = (radius - f.mm(2.0)) / f.half_axes[1]
            paint(t, ellipse(f, cx, cy - front, f.norm(4.5) * lens, f.norm(1.8) * lens), Tissue.LENS)


def _disc(f: Frame, cx: float, cy: float, radius_px: float) -> np.ndarray:
    """A disc of ``radius_px`` pixels around normalised ``(cx, cy)``."""
    return ellipse(f, cx, cy, radius_px / f.half_axes[0], radius_px / f.half_axes[1])


def draw_ears(f: Frame, t: np.ndarray):
    """The auricles beside the head at the level of the external auditory canals."""
    for side in (-1, 1):
        p = presence(f.local(side, 0.1), 0.0, 0.26)
        if p:
            shell = tube(f, [(side * 1.0, -0.05), (side * 1.2, 0.05), (side * 1.18, 0.3), (side * 1.0, 0.3)],
                         [f.mm(2.0) * p] * 4)
            paint(t, shell & (t == Tissue.AIR), Tissue.SOFT)
