"""The cerebral cortex: gyri and sulci over the convexity and along the interhemispheric fissure.

Each sulcus is a curve that leaves the brain surface and runs inward, 6 to 21 mm at its deepest,
leaning, bending and, about one in three, branching once. Sulci sit on tracks about half a gyral
wavelength apart along the surface; up the head a track holds a chain of sulci, each 1-4 cm tall
and deepest at its middle, so a slice 5 mm higher in the same patient cuts most of the same sulci,
shifted by a millimetre or two, and each patient folds differently. A grey ribbon lines the
surface and both banks of every sulcus, thinner at the fundus, with white matter fingers between;
CSF opens the outer part of the sulci, more with atrophy.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .anatomy import ANGLES, Frame, PatientHead, Tissue, hu_table, obliquity

DEPTHS = 72  # pixels of depth covered by the sulcus tables
CORTEX_MM = 2.6  # thickness of the grey ribbon
TRACKS = 64  # most sulcus tracks around the convexity (small sections show fewer)
SEGMENTS = 32  # sulci per track, stacked up the head
HEIGHT = (0.1, 0.3)  # level extent of one sulcus (skull base to vertex is 1.0)
DRIFT = (0.15, 0.7)  # how far a track wanders (share of the spacing) and over what level period
MEDIAL_COLUMNS = 512  # samples along the interhemispheric fissure, one pixel each
REACH_PX = 24  # beyond this many pixels from a sulcus, which sulcus is nearest no longer matters
LAYER = 0.035  # level step of the random opening of the sulci
SULCUS_LABEL = 0.1  # share of CSF from which a pixel is labelled CSF: subarachnoid blood can fill it


def sulcus_table(head_seed: int, level: float, which: int, columns: int, along_px: float,
                 spacing_px: float, deepest_px: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The nearest sulcus from each sample of a depth-by-``columns`` table.

    Rows are pixels below the surface, columns steps of about ``along_px`` pixels along it (the
    table wraps around); ``which`` picks the surface (0 convexity, 1 medial), ``spacing_px`` is the
    mean distance between tracks and ``deepest_px`` the depth of the deepest sulci. Returns, per
    sample, the row of the nearest point of a sulcus line, how many columns away it lies (signed),
    and how deep in its sulcus it is (0 at the surface, 1 at the fundus)."""
    lines = np.zeros((DEPTHS, columns), bool)
    relative = np.zeros((DEPTHS, columns), np.float32)
    for rows, along, rel in _sulcus_lines(head_seed, level, which, columns * along_px, spacing_px, deepest_px):
        keep = rows < DEPTHS
        r, c = rows[keep].astype(np.int32), np.round(along[keep] / along_px).astype(np.int32) % columns
        lines[r, c] = True
        relative[r, c] = rel[keep]
    pad = min(columns, int(np.ceil(REACH_PX / along_px)) + 1)
    wrapped = np.concatenate([lines[:, -pad:], lines, lines[:, :pad]], axis=1)
    ir, ic = ndimage.distance_transform_edt(~wrapped, sampling=(1.0, along_px), return_distances=False,
                                            return_indices=True)
    ir, ic = ir[:, pad:-pad], ic[:, pad:-pad] - pad
    return ir.astype(np.float32), (ic - np.arange(columns)).astype(np.float32), relative[ir, ic % columns]


def _sulcus_lines(head_seed: int, level: float, which: int, length_px: float, spacing_px: float, deepest_px: float):
    """Points (depth in pixels, position along the surface in pixels, relative depth) of every
    sulcus and branch that the slice at ``level`` cuts, on a surface ``length_px`` long."""
    rng = np.random.default_rng([head_seed, 11, which])
    place = (np.arange(TRACKS) + rng.uniform(-0.25, 0.25, TRACKS)) / TRACKS * length_px
    drift = rng.normal(0, DRIFT[0] * spacing_px, (TRACKS, 3))
    phase = rng.uniform(0, 2 * np.pi, (TRACKS, 3))
    ends = rng.uniform(-0.6, -0.3, (TRACKS, 1)) + np.cumsum(rng.uniform(*HEIGHT, (TRACKS, SEGMENTS)), axis=1)
    depth, lean, bend, fork, turn, branch, bridged = np.moveaxis(rng.uniform(0, 1, (TRACKS, SEGMENTS, 7)), -1, 0)
    shown = _TRACK_ORDER < min(length_px / spacing_px, TRACKS)
    start = place + (drift * np.cos(2 * np.pi * np.arange(1, 4) * level / DRIFT[1] + phase)).sum(axis=1)
    for j in np.flatnonzero(shown):
        s = int(np.searchsorted(ends[j], level))  # the sulcus of track j at this level
        if bridged[j, s] < 0.1:  # a gyrus bridges the track here
            continue
        middle, half = (ends[j, s - 1] + ends[j, s]) / 2, (ends[j, s] - ends[j, s - 1]) / 2
        height = max(1 - ((level - middle) / half) ** 2, 0.0)
        deep = max(deepest_px * (0.4 + 0.6 * depth[j, s]) * height ** 0.5, 1.0)
        # it leans up to 24 degrees and bends by up to 0.4 of its depth along the surface
        course = _Course(start[j], 0.9 * lean[j, s] - 0.45, (0.8 * bend[j, s] - 0.4) / deep)
        t = np.arange(0.0, deep + 0.5, 0.5)
        yield t, course(t), np.minimum(t / deep, 1)
        if fork[j, s] < 0.4 and deep > 0.2 * deepest_px:  # one sulcus in three forks, 0.3-0.7 of the way in
            at = deep * (0.3 + fork[j, s])
            slope = np.sign(turn[j, s] - 0.5) * (0.8 + 2.4 * abs(turn[j, s] - 0.5))
            u = np.arange(0, deep * (0.25 + 0.35 * branch[j, s]), 0.5) / np.hypot(1, slope)
            yield at + u, course(at) + slope * u, np.minimum((at + u) / deep, 1)


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


_TRACK_ORDER = _bit_reversed(TRACKS)


def draw_cortex(head: PatientHead, head_seed: int, f: Frame, t: np.ndarray, offset: np.ndarray,
                surface: np.ndarray, medial: np.ndarray | None, effaced: np.ndarray | None):
    """Grey ribbon, sulci and subarachnoid space of the cerebrum.

    ``surface`` is each pixel's depth (pixels) below the convexity surface of the brain, ``medial``
    its depth below the medial surface (None where there is no interhemispheric fissure), and
    ``effaced`` how much mass effect narrows the sulci there (0 none .. 1 effaced), or None.
    Only pixels labelled white matter are changed.
    """
    oblique = obliquity(f.level)
    spacing, deepest = f.mm(0.5 * head.fold), min(f.mm(0.85 * head.fold) * oblique, DEPTHS - 2)
    shell = (t == Tissue.WHITE) & ((surface if medial is None else np.minimum(surface, medial)) < DEPTHS - 1)
    a, b = f.half_axes
    # how long one table column is where each pixel lies (the arc shrinks inward)
    column_px = np.hypot(a * f.y[shell], b * f.x[shell]) * np.float32(2 * np.pi / ANGLES)
    depth = surface[shell]
    at_surface = column_px[depth < 4]
    along_px = float(np.median(at_surface)) if at_surface.size else np.pi * (a + b) / ANGLES
    table = sulcus_table(head_seed, f.level, 0, ANGLES, along_px, spacing, deepest)
    near, relative = _nearest(table, depth, f.psi[shell], column_px)
    side = None if medial is None else medial[shell]
    if side is not None and (side < depth).any():
        use = side < depth
        along = np.clip(f.y[shell][use] * b + MEDIAL_COLUMNS // 2, 0, MEDIAL_COLUMNS - 1).astype(np.int32)
        along = (along + 131 * (f.x[shell][use] > 0)) % MEDIAL_COLUMNS  # each hemisphere its own stretch
        medial_table = sulcus_table(head_seed, f.level, 1, MEDIAL_COLUMNS, 1.0, spacing, 0.8 * deepest)
        near[use], relative[use] = _nearest(medial_table, side[use], along, 1.0)
        depth = np.where(use, side, depth)
    narrowing = 1.0 if effaced is None else 1 - effaced[shell]
    opening = _opening(head_seed, f)[f.psi[shell]]
    # CSF opens the sulci near the surface only; deeper, their banks touch (grey against grey)
    half_width = f.mm(0.1 + 1.0 * head.atrophy) * opening * narrowing * np.clip(1.1 - 1.4 * relative, 0, 1)
    labels, hu = _label_and_mix(head, f, near, half_width, depth, relative, oblique)
    t[shell] = labels
    offset[shell] += hu - hu_table(head)[labels]


def _nearest(table, depth: np.ndarray, columns: np.ndarray, along_px) -> tuple[np.ndarray, np.ndarray]:
    """Distance (pixels) from pixels at ``depth`` below the surface, in table ``columns``, to the
    nearest sulcus line, measured with the pixels' own length per column ``along_px``; and how
    deep in its sulcus that nearest point lies."""
    line_row, line_column, relative = table
    rows = np.clip(depth, 0, DEPTHS - 1).astype(np.int32)
    # a line point stands for the stretch of line crossing its row: no distance within that row
    across_rows = np.maximum(np.abs(np.maximum(depth, 0) - line_row[rows, columns]) - 0.5, 0)
    near = np.hypot(across_rows, line_column[rows, columns] * along_px)
    return near.astype(np.float32), relative[rows, columns]


def _label_and_mix(head: PatientHead, f: Frame, near, half_width, depth, relative, oblique):
    """Tissue labels and HU of cortex pixels: CSF where a sulcus covers ``SULCUS_LABEL`` of the pixel
    or more, grey within the ribbon, white deeper; each pixel's HU mixes what covers it."""
    # the share of a one-pixel-wide box centred ``near`` from the sulcus axis that the CSF covers
    csf = np.clip(np.minimum(near + 0.5, half_width) - np.maximum(near - 0.5, -half_width), 0, 1)
    csf = np.where(depth < 0, 1, csf)
    to_csf = np.minimum(near - half_width, depth)  # pixels to the nearest sulcus or to the surface
    ribbon = f.mm(CORTEX_MM) * oblique * np.where(near - half_width < depth, 1 - 0.35 * relative, 1)
    grey = np.clip((ribbon - to_csf) / 1.4 + 0.5, 0, 1)
    labels = np.where(csf >= SULCUS_LABEL, Tissue.CSF, np.where(grey > 0.5, Tissue.GREY, Tissue.WHITE)).astype(np.uint8)
    tissue = grey * head.hu[Tissue.GREY] + (1 - grey) * head.hu[Tissue.WHITE]
    return labels, (csf * head.hu[Tissue.CSF] + (1 - csf) * tissue).astype(np.float32)


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
