"""The deep cerebrum: lateral and third ventricles, caudate, lentiform nuclei, internal capsules,
thalami, insula and Sylvian fissures, the falx and the physiological calcifications.

Shapes are drawn along the anatomy's own lines (tubes along polylines: the frontal horns curve
round the caudate heads, the bodies run back to the atria and occipital horns, the internal
capsule bends at its genu between the lentiform nucleus and the thalamus). Each structure appears
over its own range of levels, read at its own place in the tilted slice; atrophy widens the
ventricles and fissures.
"""

from __future__ import annotations

import numpy as np

from .anatomy import Frame, PatientHead, Tissue, ellipse, paint, presence, tube


def ventricles(head: PatientHead, f: Frame) -> np.ndarray:
    """The lateral ventricles (both sides) and the third ventricle, as one mask."""
    v = f.mm(1.0) * (1 + 1.3 * head.atrophy)
    out = np.zeros(f.x.shape, bool)
    for side in (-1, 1):
        w = v * (1 + side * head.ventricle_asymmetry)
        p = presence(f.local(side * 0.1, -0.3), 0.4, 0.68)
        if p:  # frontal horn: its tip points forward and out, the caudate head dents its side
            out |= tube(f, [(side * 0.04, -0.08), (side * 0.06, -0.22), (side * 0.08, -0.34), (side * 0.13, -0.4)],
                        [w * 2.0 * p, w * 3.6 * p, w * 3.4 * p, w * 1.2 * p])
        p = presence(f.local(side * 0.12, -0.05), 0.53, 0.78)
        if p:
            out |= tube(f, [(side * 0.06, -0.34), (side * 0.1, -0.15), (side * 0.125, 0.08), (side * 0.17, 0.24)],
                        [w * 3.0 * p, w * 4.0 * p, w * 4.3 * p, w * 4.5 * p])
        p = presence(f.local(side * 0.2, 0.3), 0.37, 0.68)
        if p:
            out |= tube(f, [(side * 0.14, 0.1), (side * 0.21, 0.25), (side * 0.22, 0.4), (side * 0.15, 0.55)],
                        [w * 2.5 * p, w * 5.0 * p, w * 3.5 * p, w * 1.0 * p])
        p = presence(f.local(side * 0.5, -0.1), 0.1, 0.36)
        if p:  # temporal horn
            out |= tube(f, [(side * 0.52, -0.22), (side * 0.45, 0.0)], [w * 0.8 * p, w * 1.8 * p])
    out &= np.abs(f.x * f.half_axes[0]) > f.mm(1.4)  # the septum pellucidum between them
    p = presence(f.local(0, 0), 0.35, 0.56)
    if p:
        out |= tube(f, [(0, -0.1), (0, 0.05), (0, 0.15)], [v * 1.2 * p, v * 1.8 * p, v * 1.0 * p])
    return out


def draw_deep(head: PatientHead, f: Frame, t: np.ndarray, brain: np.ndarray):
    """Basal ganglia, thalami, internal capsules, insula and Sylvian fissures, within ``brain``."""
    for side in (-1, 1):
        p = presence(f.local(side * 0.27, -0.05), 0.37, 0.59)
        if p:
            lentiform = ellipse(f, side * 0.265, -0.06, 0.085 * p, 0.2 * p, side * 0.2)
            paint(t, lentiform, Tissue.DEEP_GREY, brain)
            capsule = tube(f, [(side * 0.12, -0.34), (side * 0.165, -0.11), (side * 0.25, 0.15)],
                           [f.mm(3.0) * p, f.mm(3.4) * p, f.mm(3.2) * p])
            paint(t, capsule, Tissue.WHITE, brain)
            paint(t, ellipse(f, side * 0.095, 0.06, 0.08 * p, 0.135 * p, -side * 0.15), Tissue.DEEP_GREY, brain)
        p = presence(f.local(side * 0.15, 0.0), 0.6, 0.76)
        if p:  # caudate body along the lateral wall of the ventricle
            paint(t, tube(f, [(side * 0.14, -0.2), (side * 0.16, 0.05)], [f.mm(2.5) * p, f.mm(1.5) * p]),
                  Tissue.DEEP_GREY, brain)
        _insula(head, f, t, brain, side)


def _insula(head: PatientHead, f: Frame, t: np.ndarray, brain: np.ndarray, side: int):
    """Claustrum, insular cortex, the Sylvian cistern over it and the lateral sulcus to the surface."""
    p = presence(f.local(side * 0.45, -0.05), 0.28, 0.6)
    if p < 0.35:
        return
    wide = f.mm(1.0 + 3.0 * head.atrophy)
    arc = [(side * 0.41, -0.26), (side * 0.45, -0.1), (side * 0.45, 0.05), (side * 0.41, 0.18)]
    paint(t, tube(f, [(x - side * 0.07, y) for x, y in arc], [f.mm(0.8) * p] * 4), Tissue.GREY, brain)
    paint(t, tube(f, arc, [f.mm(3.0) * p] * 4), Tissue.GREY, brain)
    paint(t, tube(f, [(x + side * 0.035, y) for x, y in arc], [wide * p] * 4), Tissue.CSF, brain)
    low = f.local(side * 0.6, 0)
    y = -0.02 + 0.25 * (0.45 - low)  # the lateral sulcus runs further forward at lower levels
    bends = head.sylvian[(side + 1) // 2]
    course = [(side * x, y + dy + 0.025 * bend) for x, dy, bend in
              zip((0.47, 0.6, 0.72, 0.86, 1.0), (-0.05, -0.02, 0.0, 0.015, 0.03), bends)]
    cleft = tube(f, course, [wide * p * w for w in (1.0, 0.95, 0.9, 0.75, 0.6)])
    ramus = presence(low, 0.38, 0.62) * p  # the posterior ramus turns back and up from its middle
    if ramus > 0.3:
        tip = (side * (0.8 + 0.03 * bends[5]), course[2][1] + 0.1 + 0.03 * bends[5])
        cleft |= tube(f, [course[2], tip], [wide * 0.8 * ramus, wide * 0.4 * ramus])
    paint(t, cleft, Tissue.CSF, brain)
    if head.dense_vessels > 0.4:  # middle cerebral artery branches in the fissure
        paint(t, tube(f, course[:3], [f.mm(0.9)] * 3) & cleft, Tissue.DENSE)


def draw_caudate_heads(f: Frame, t: np.ndarray, brain: np.ndarray):
    """The caudate heads, bulging into the lateral walls of the frontal horns."""
    for side in (-1, 1):
        p = presence(f.local(side * 0.14, -0.26), 0.41, 0.66)
        if p:
            paint(t, ellipse(f, side * 0.15, -0.24, 0.06 * p, 0.1 * p, side * 0.3), Tissue.DEEP_GREY, brain)


def draw_midline(head: PatientHead, f: Frame, t: np.ndarray, brain: np.ndarray, fissure: np.ndarray):
    """The falx in the interhemispheric fissure, its calcified plaques, and the septum line."""
    falx = fissure & (np.abs(f.x * f.half_axes[0]) < f.mm(0.6))
    paint(t, falx, Tissue.DENSE, brain)
    if "falx" in head.calcified and f.level > 0.45:
        paint(t, ellipse(f, 0, -0.55, f.norm(0.8), f.norm(3.0)), Tissue.CALCIFICATION, brain)


def draw_calcifications(head: PatientHead, f: Frame, t: np.ndarray, brain: np.ndarray):
    """Pineal gland, habenula, choroid plexus glomus and (in some older patients) the pallidum."""
    if "pineal" in head.calcified:
        p = presence(f.local(0, 0.2), 0.39, 0.5)
        paint(t, ellipse(f, 0, 0.2, f.norm(1.6) * p, f.norm(1.9) * p), Tissue.CALCIFICATION, brain)
    if "habenula" in head.calcified:
        p = presence(f.local(0, 0.14), 0.42, 0.5)
        paint(t, ellipse(f, 0, 0.14, f.norm(1.1) * p, f.norm(0.7) * p), Tissue.CALCIFICATION, brain)
    for side in (-1, 1):
        if "choroid" in head.calcified:
            p = presence(f.local(side * 0.2, 0.28), 0.44, 0.62)
            glomus = ellipse(f, side * 0.205, 0.28, f.norm(1.7) * p, f.norm(2.3) * p, side * 0.4)
            paint(t, glomus, Tissue.CALCIFICATION, brain)
        if "basal_ganglia" in head.calcified:
            p = presence(f.local(side * 0.22, -0.05), 0.4, 0.52)
            paint(t, ellipse(f, side * 0.225, -0.04, f.norm(1.5) * p, f.norm(2.8) * p), Tissue.CALCIFICATION, brain)


def draw_leukoaraiosis(head: PatientHead, f: Frame, t: np.ndarray):
    """Small-vessel disease: caps at the frontal horns and atria, patches in the centrum semiovale."""
    if head.leukoaraiosis <= 0:
        return
    a = head.leukoaraiosis
    white = t == Tissue.WHITE
    for side in (-1, 1):
        for cx, cy, lo, hi in ((0.12, -0.4, 0.42, 0.72), (0.22, 0.42, 0.4, 0.72), (0.17, -0.05, 0.6, 0.85)):
            p = presence(f.local(side * cx, cy), lo, hi) * a
            if p > 0.1:
                paint(t, ellipse(f, side * cx, cy, 0.09 * p, 0.16 * p), Tissue.LEUKOARAIOSIS, white)
