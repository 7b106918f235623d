"""The cerebral cortex: gyri and sulci over the convexity and along the interhemispheric fissure.

Each sulcus is a curve that leaves the brain surface and runs inward up to about 20 mm, leaning,
bending and, in about a third of them, branching once. Sulci sit on tracks about half a gyral
wavelength apart along the surface; up the head a track holds a chain of sulci, each a few
centimetres tall and deepest at its middle, so slices of one patient 5 mm apart share most of their
sulci, and each patient folds differently. A grey ribbon lines the surface and both banks of every
sulcus, with white matter fingers between; CSF opens the outer part of the sulci, more with atrophy.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .anatomy import ANGLES, Frame, PatientHead, Tissue, obliquity

DEPTHS = 72  # pixels of depth covered by the sulcus tables
CORTEX_MM = 2.6  # thickness of the grey ribbon
TRACKS = 64  # most sulcus tracks around the convexity (small sections show fewer)
SEGMENTS = 32  # sulci per track, stacked up the head
HEIGHT = (0.1, 0.3)  # level extent of one sulcus (skull base to vertex is 1.0)
MEDIAL_COLUMNS = 512  # samples along the interhemispheric fissure, one pixel each
LAYER = 0.035  # level step of the random opening of the sulci


def sulcus_table(head_seed: int, level: float, which: int, columns: int, along_px: float,
                 spacing_px: float, deepest_px: float) -> tuple[np.ndarray, np.ndarray]:
    """The sulci seen from each sample of a depth-by-``columns`` table.

    Rows are pixels below the surface, columns steps of ``along_px`` pixels along it (the table
    wraps around). Returns the distance (pixels) from each sample to the nearest sulcus line, and
    how deep in its sulcus that nearest point lies (0 at the surface, 1 at the fundus)."""
    lines = np.zeros((DEPTHS, columns), bool)
    relative = np.zeros((DEPTHS, columns), np.float32)
    for rows, along, rel in _sulcus_lines(head_seed, level, which, columns * along_px, spacing_px, deepest_px):
        keep = (rows >= 0) & (rows < DEPTHS)
        r, c = rows[keep].astype(np.int32), np.round(along[keep] / along_px).astype(np.int32) % columns
        lines[r, c] = True
        relative[r, c] = rel[keep]
    pad = min(columns, int(np.ceil(DEPTHS / along_px)) + 2)
    wrapped = np.concatenate([lines[:, -pad:], lines, lines[:, :pad]], axis=1)
    distance, (ir, ic) = ndimage.distance_transform_edt(~wrapped, sampling=(1.0, along_px), return_indices=True)
    nearest = relative[ir, (ic - pad) % columns]
    return distance[:, pad:-pad].astype(np.float32), nearest[:, pad:-pad]


def _sulcus_lines(head_seed: int, level: float, which: int, length_px: float, spacing_px: float, deepest_px: float):
    """Points (depth in pixels, position along the surface in pixels, relative depth) of every
    sulcus and branch that the slice at ``level`` cuts, on a surface ``length_px`` long."""
    rng = np.random.default_rng([head_seed, 11, which])
    place = (np.arange(TRACKS) + rng.uniform(-0.25, 0.25, TRACKS)) / TRACKS * length_px
    drift = rng.normal(0, 0.15 * spacing_px, (TRACKS, 3))  # how each track wanders up the head
    phase = rng.uniform(0, 2 * np.pi, (TRACKS, 3))
    ends = rng.uniform(-0.6, 0, (TRACKS, 1)) + np.cumsum(rng.uniform(*HEIGHT, (TRACKS, SEGMENTS)), axis=1)
    depth, lean, bend, fork, turn, branch, bridged = np.moveaxis(rng.uniform(0, 1, (TRACKS, SEGMENTS, 7)), -1, 0)
    shown = _bit_reversed(TRACKS) < min(length_px / spacing_px, TRACKS)
    start = place + (drift * np.cos(2 * np.pi * np.arange(1, 4) * level / 0.7 + phase)).sum(axis=1)
    for j in np.flatnonzero(shown):
        s = int(np.searchsorted(ends[j], level))
        if s == 0 or s >= SEGMENTS or bridged[j, s] < 0.1:  # a gyrus bridges the track here
            continue
        middle, half = (ends[j, s - 1] + ends[j, s]) / 2, (ends[j, s] - ends[j, s - 1]) / 2
        deep = max(deepest_px * (0.4 + 0.6 * depth[j, s]) * (1 - ((level - middle) / half) ** 2) ** 0.5, 1.0)
        course = _Course(start[j], 0.9 * lean[j, s] - 0.45, (0.8 * bend[j, s] - 0.4) / deep)
        t = np.arange(-4.0, deep + 0.5, 0.5)
        yield t, course(t), np.clip(t / deep, 0, 1)
        if fork[j, s] < 0.4 and deep > 8:  # a side branch
            at = deep * (0.3 + fork[j, s])
            slope = np.sign(turn[j, s] - 0.5) * (0.8 + 2.4 * abs(turn[j, s] - 0.5))
            u = np.arange(0, deep * (0.25 + 0.35 * branch[j, s]), 0.5) / np.hypot(1, slope)
            yield at + u, course(at) + slope * u, np.clip((at + u) / deep, 0, 1)


class _Course:
    """Position along the surface of a sulcus at depth ``t``: it leans and bends as it goes in."""

    def __init__(self, start: float, lean: float, bend: float):
        self.start, self.lean, self.bend = start, lean, bend

    def __call__(self, t):
        return self.start + self.lean * t + self.bend * t * t


def _bit_reversed(n: int) -> np.ndarray:
    """0 .. n-1 in bit-reversed order (n a power of two): thinning tracks by it keeps them evenly spread."""
    bits = int(np.log2(n))
    return np.array([int(format(i, f"0{bits}b")[::-1], 2) for i in range(n)])


def draw_cortex(head: PatientHead, head_seed: int, f: Frame, t: np.ndarray, offset: np.ndarray,
                surface: np.ndarray, medial: np.ndarray | None, effaced: np.ndarray | None):
    """Grey ribbon, sulci and subarachnoid space of the cerebrum.

    ``surface`` is each pixel's depth (pixels) below the convexity surface of the brain, ``medial``
    its depth below the medial surface (None where there is no interhemispheric fissure), and
    ``effaced`` how much mass effect narrows the sulci there (0 none .. 1 effaced), or None.
    Only pixels labelled white matter are changed.
    """
    radius_px = 0.5 * (f.half_axes[0] + f.half_axes[1])
    oblique = obliquity(f.level)
    spacing, deepest = f.mm(0.5 * head.fold), min(f.mm(0.85 * head.fold) * oblique, DEPTHS - 2)
    nearest = surface if medial is None else np.minimum(surface, medial)
    shell = (t == Tissue.WHITE) & (nearest < DEPTHS - 1)
    distance, fundus = sulcus_table(head_seed, f.level, 0, ANGLES, 2 * np.pi * radius_px / ANGLES, spacing, deepest)
    rows, cols = np.clip(surface[shell], 0, DEPTHS - 1).astype(np.int32), f.psi[shell]
    near, relative, depth = distance[rows, cols], fundus[rows, cols], surface[shell]
    if medial is not None:
        side = medial[shell]
        use = side < depth
        if use.any():
            along = np.clip(f.y[shell][use] * f.half_axes[1] + 256, 0, 511).astype(np.int32)
            along = (along + 131 * (f.x[shell][use] > 0)) % MEDIAL_COLUMNS
            m_distance, m_fundus = sulcus_table(head_seed, f.level, 1, MEDIAL_COLUMNS, 1.0, spacing, 0.8 * deepest)
            m_rows = np.clip(side[use], 0, DEPTHS - 1).astype(np.int32)
            near[use], relative[use] = m_distance[m_rows, along], m_fundus[m_rows, along]
            depth = np.where(use, side, depth)
    narrowing = 1.0 if effaced is None else 1 - effaced[shell]
    opening = _opening(head_seed, f)[f.psi[shell]]
    # CSF opens the sulci near the surface only; deeper, their banks touch (grey against grey)
    half_width = f.mm(0.1 + 1.0 * head.atrophy) * opening * narrowing * np.clip(1.1 - 1.4 * relative, 0, 1)
    # a sulcus narrower than a pixel shares it with the grey matter (partial volume)
    csf = np.where(depth < 0, 1, np.clip(np.minimum(half_width + 0.5, 2 * half_width) - near, 0, 1))
    to_csf = np.minimum(near - half_width, depth)  # pixels to the nearest sulcus or to the surface
    ribbon = f.mm(CORTEX_MM) * oblique * np.where(near - half_width < depth, 1 - 0.35 * relative, 1)  # thinner at a fundus
    grey_fraction = np.clip((ribbon - to_csf) / 1.4 + 0.5, 0, 1)
    labels = np.where(csf >= 0.5, Tissue.CSF, np.where(grey_fraction > 0.5, Tissue.GREY, Tissue.WHITE))
    t[shell] = labels.astype(np.uint8)
    hu = np.array([head.hu[Tissue.WHITE], head.hu[Tissue.GREY], head.hu[Tissue.CSF]], np.float32)
    value = csf * hu[2] + (1 - csf) * (grey_fraction * hu[1] + (1 - grey_fraction) * hu[0])
    offset[shell] += value - hu[labels - Tissue.WHITE]


def _opening(head_seed: int, f: Frame) -> np.ndarray:
    """How open (CSF-filled) the sulci are, 0.1 .. 1.5, along the polar angle."""
    return (0.8 + 0.7 * np.tanh(1.5 * _angular_noise(head_seed, f, 14, range(3, 40, 3)))).astype(np.float32)


def _angular_noise(head_seed: int, f: Frame, which: int, orders) -> np.ndarray:
    """A random function of the polar angle with unit spread, from the given Fourier orders."""
    rng = np.random.default_rng([head_seed, which, int(round(f.level / LAYER))])
    psi = np.linspace(0, 2 * np.pi, ANGLES, endpoint=False)
    orders = list(orders)
    out = sum(rng.normal(0, 1) * np.cos(k * psi + rng.uniform(0, 6.3)) for k in orders)
    return out / np.sqrt(len(orders) / 2)
