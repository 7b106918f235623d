"""The skull base and the posterior fossa.

Below about level 0.34 the cranial cavity is not one space: it is the posterior fossa (cerebellum,
fourth ventricle, brain stem) behind the petrous bones, the two middle cranial fossae (temporal
lobes) in front of them, and higher up the anterior fossa (frontal lobes above the orbital roofs)
and the suprasellar region. :func:`cavity_depth` gives each pixel's depth inside that union of
compartments; what lies between them is the bone of the skull base, so the petrous ridges, the
sphenoid body and clivus, and the orbital roofs take their shapes from the spaces around them.
:func:`draw_base` then adds the mastoid air cells, the auditory canals, the sella, the brain stem,
the fourth ventricle, the cerebellum and the basal cisterns.
"""

from __future__ import annotations

import numpy as np

from .anatomy import Frame, PatientHead, Tissue, ellipse, ellipse_depth, paint, presence, tube, tube_distance
from .face import honeycomb

TOP = 0.36  # above this (at the back of a slice) the cranial cavity is one space


def _fossa_size(f: Frame) -> float:
    return float(np.interp(f.local(0, 0.45), (-0.1, 0.05, 0.15, 0.25, TOP + 0.01), (0.75, 0.92, 1.0, 0.8, 0.0)))


def posterior_fossa(f: Frame, inset: float = 0.0) -> np.ndarray:
    """Pixels below the tentorium: the cerebellum, fourth ventricle and brain stem behind the clivus
    (``inset``: less a rim this wide, normalised)."""
    g = _fossa_size(f)
    if not g:
        return np.zeros(f.x.shape, bool)
    return ellipse(f, 0, 0.42, 0.86 * g - inset, 0.56 * g - inset)


def cavity_depth(f: Frame) -> np.ndarray:
    """Depth (pixels) inside the cranial cavity, whose shape changes from the foramen magnum up:
    the union of its fossae, less the bone that separates them."""
    g = _fossa_size(f)
    depth = ellipse_depth(f, 0, 0.42, 0.86 * g, 0.56 * g)
    for side in (-1, 1):
        h = float(np.interp(f.local(side * 0.5, -0.15), (0.0, 0.06, 0.14, 0.24, 0.34), (0.45, 0.8, 1.0, 1.05, 1.2)))
        np.maximum(depth, ellipse_depth(f, side * 0.55, -0.12, 0.4 * h, 0.42 * h), out=depth)
    q = float(np.interp(f.local(0, -0.55), (0.15, 0.2, 0.28, 0.36), (0.0, 0.7, 1.0, 1.3)))
    np.maximum(depth, ellipse_depth(f, 0, -0.55, 0.62 * q, 0.42 * q), out=depth)
    c = float(np.interp(f.local(0, -0.1), (0.17, 0.23, 0.32), (0.0, 0.9, 1.2)))
    np.maximum(depth, ellipse_depth(f, 0, -0.1, 0.3 * c, 0.35 * c), out=depth)
    for side in (-1, 1):  # occipital lobes above the tentorium
        o = float(np.interp(f.local(side * 0.5, 0.55), (0.18, 0.26, 0.36), (0.0, 0.8, 1.2)))
        np.maximum(depth, ellipse_depth(f, side * 0.5, 0.55, 0.45 * o, 0.4 * o), out=depth)
    penalty = f.mm(30.0) * max(0.0, (TOP - f.level) / 0.06)
    np.maximum(depth, f.depth - np.float32(penalty), out=depth)
    for side in (-1, 1):
        p = presence(f.local(side * 0.45, 0.1), -0.02, 0.27)
        if p:  # petrous ridge between the middle and posterior fossae
            ridge = [(side * 0.13, -0.08), (side * 0.45, 0.1), (side * 0.9, 0.3)]
            np.minimum(depth, tube_distance(f, ridge, [f.mm(2.0) * p, f.mm(3.5) * p, f.mm(5.5) * p]), out=depth)
        p = presence(f.local(side * 0.45, -0.5), 0.1, 0.27)
        if p:  # greater wing of the sphenoid in front of the middle fossa
            wing = [(side * 0.15, -0.42), (side * 0.35, -0.55), (side * 0.6, -0.58), (side * 0.85, -0.48)]
            np.minimum(depth, tube_distance(f, wing, [f.mm(1.8) * p] * 3 + [f.mm(1.5) * p]), out=depth)
    p = presence(f.local(0, -0.2), -0.1, 0.22)
    if p:  # clivus
        np.minimum(depth, tube_distance(f, [(0, -0.32), (0, -0.14)], [f.mm(5.0) * p] * 2), out=depth)
    return np.minimum(depth, f.depth)


def draw_base(head: PatientHead, f: Frame, t: np.ndarray, brain: np.ndarray, rng: np.random.Generator):
    """Mastoids and ear canals, sella, brain stem, fourth ventricle, cerebellum and basal cisterns."""
    for side in (-1, 1):
        _ears(head, f, t, side, rng)
    p = presence(f.local(0, -0.2), 0.2, 0.3)
    if p:
        paint(t, ellipse(f, 0, -0.22, 0.08 * p, 0.055 * p), Tissue.SOFT)  # pituitary gland
        paint(t, tube(f, [(-0.07, -0.15), (0, -0.13), (0.07, -0.15)], [f.mm(1.5) * p] * 3), Tissue.BONE)  # dorsum
    _posterior_fossa(head, f, t, brain)
    _cisterns(head, f, t, brain)


def _ears(head: PatientHead, f: Frame, t: np.ndarray, side: int, rng: np.random.Generator):
    """Mastoid air cells, internal and external auditory canals and vestibule of one side."""
    level = f.local(side * 0.7, 0.3)
    p = presence(level, -0.05, 0.26) * head.mastoid
    if p > 0.15:
        region = ellipse(f, side * 0.74, 0.3, 0.15 * p, 0.19 * p) & (t == Tissue.BONE)
        paint(t, honeycomb(f, region, rng, 2.6, 0.55), Tissue.AIR)
    p = presence(level, 0.07, 0.17)
    if p:
        paint(t, tube(f, [(side * 0.78, 0.13), (side * 1.02, 0.12)], [f.mm(2.5) * p] * 2), Tissue.AIR)
        bone = t == Tissue.BONE
        paint(t, tube(f, [(side * 0.2, 0.05), (side * 0.4, 0.1)], [f.mm(2.0) * p] * 2), Tissue.CSF, bone)
        paint(t, ellipse(f, side * 0.48, 0.12, f.norm(2.5) * p, f.norm(1.8) * p), Tissue.CSF, bone)


def _posterior_fossa(head: PatientHead, f: Frame, t: np.ndarray, brain: np.ndarray):
    """Cerebellar hemispheres with a few folia, vermis, cisterna magna, fourth ventricle, pons or medulla."""
    fossa = posterior_fossa(f) & brain & (t == Tissue.WHITE)
    if not fossa.any():
        return
    level = f.local(0, 0.3)
    paint(t, fossa, Tissue.STEM)
    atrophy = head.atrophy
    radius = np.hypot(f.x / 0.75, (f.y - 0.25) / 0.6)
    wobble = np.sin(f.x * 9 + head.fold) * 0.04 + np.sin(f.y * 11 + head.age) * 0.03
    folia = np.abs(np.sin((radius + wobble) * 40)) < 0.04 + 0.12 * atrophy
    broken = np.sin(f.x * 23 + head.fold) * np.sin(f.y * 19) > -0.2
    paint(t, folia & broken & fossa & (radius > 0.55) & (np.abs(f.x) > 0.1), Tissue.CSF)
    paint(t, ellipse(f, 0, 0.58, 0.08, 0.3) & fossa, Tissue.GREY)  # vermis
    magna = f.mm(1.5 + 6.0 * atrophy)
    paint(t, tube(f, [(0, 0.78), (0, 1.0)], [magna * 0.6, magna]) & fossa, Tissue.CSF)  # cisterna magna
    p = presence(level, 0.04, 0.3)
    if p:  # fourth ventricle: a kidney behind the pons
        w = f.mm(1.3 + 1.5 * atrophy) * p
        paint(t, tube(f, [(-0.09, 0.24), (-0.04, 0.19), (0.04, 0.19), (0.09, 0.24)], [w, w * 1.7, w * 1.7, w]),
              Tissue.VENTRICLE, brain)
    stem = presence(level, -0.2, 0.3)
    if stem:
        paint(t, ellipse(f, 0, 0.03, 0.24 * stem, 0.17 * stem), Tissue.CSF, brain)  # prepontine, CP angles
        size = 0.18 if level > 0.06 else 0.11  # pons, then medulla
        paint(t, ellipse(f, 0, 0.06, size * stem, 0.14 * stem), Tissue.STEM, brain)
        if head.dense_vessels > 0.3:
            paint(t, ellipse(f, 0, -0.09, f.norm(1.8), f.norm(1.8)), Tissue.DENSE, brain)  # basilar artery


def _cisterns(head: PatientHead, f: Frame, t: np.ndarray, brain: np.ndarray):
    """Suprasellar cistern (a five-pointed star), midbrain within the ambient cisterns, aqueduct,
    quadrigeminal cistern; the tentorium as a faint dense band."""
    level = f.local(0, 0)
    wide = 1 + 1.2 * head.atrophy
    p = presence(level, 0.22, 0.36)
    if p:
        arms = [(0, -0.42), (-0.26, -0.3), (0.26, -0.3), (-0.17, -0.06), (0.17, -0.06)]
        star = np.zeros(t.shape, bool)
        for x, y in arms:
            star |= tube(f, [(0, -0.2), (x, y)], [f.mm(4.0) * wide * p, f.mm(1.5) * wide * p])
        paint(t, star, Tissue.CSF, brain)
        if head.dense_vessels > 0.5:  # the circle of Willis
            vessels = tube(f, [(-0.2, -0.28), (-0.06, -0.22), (0.06, -0.22), (0.2, -0.28)], [f.mm(1.0)] * 4)
            paint(t, vessels & star, Tissue.DENSE)
    p = presence(level, 0.25, 0.42)
    if p:
        paint(t, ellipse(f, 0, 0.1, 0.21 * p, 0.2 * p), Tissue.CSF, brain)  # ambient cisterns
        for side in (-1, 1):  # cerebral peduncles
            paint(t, ellipse(f, side * 0.075, 0.04, 0.085 * p, 0.12 * p, side * 0.5), Tissue.STEM, brain)
        paint(t, ellipse(f, 0, 0.12, 0.13 * p, 0.1 * p), Tissue.STEM, brain)  # tegmentum and tectum
        paint(t, ellipse(f, 0, -0.05, f.norm(2.0) * wide * p, f.norm(3.0) * p), Tissue.CSF, brain)
        paint(t, ellipse(f, 0, 0.15, f.norm(1.0) * wide * p, f.norm(1.0) * wide * p), Tissue.CSF, brain)
        paint(t, tube(f, [(0, 0.23), (0, 0.34)], [f.mm(2.5) * wide * p, f.mm(4.0) * wide * p]), Tissue.CSF, brain)
    if presence(f.local(0, 0.45), 0.16, TOP):
        rim = posterior_fossa(f) & ~posterior_fossa(f, f.norm(0.8)) & (f.y > 0.45)
        paint(t, rim, Tissue.DENSE, brain & (t != Tissue.CSF))
