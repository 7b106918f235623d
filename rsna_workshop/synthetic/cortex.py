"""The cerebral cortex: gyri and sulci over the convexity and along the interhemispheric fissure.

Sulci are the zero lines of a smooth random field laid out along the brain surface: one axis
follows the surface (the polar angle over the convexity, the front-back axis along the midline),
the other runs inward. The field varies faster along the surface than inward, so sulci run in from
the surface, meander and end at a depth of their own; a grey ribbon lines the surface and both
banks of every sulcus, with white matter fingers between. The field is three-dimensional: slices of
one patient 5 mm apart share most of their sulci, and each patient folds differently. Atrophy
widens the sulci and the subarachnoid space.
"""

from __future__ import annotations

import numpy as np

from .anatomy import ANGLES, Frame, PatientHead, Tissue

DEPTHS = 72  # pixels of depth covered by the folding fields
LAYER = 0.035  # level step between the independent layers of the three-dimensional field
CORTEX_MM = 2.6  # thickness of the grey ribbon


def fold_field(head_seed: int, level: float, shape: tuple[int, int], wavelength: float, which: int) -> np.ndarray:
    """The folding field at ``level``: depth rows by ``shape[1]`` samples along the surface.

    Two independent layers of white noise, blended by the slice's place between them, go through
    one anisotropic band-pass filter: a broad band around ``wavelength`` samples along the surface
    (so the spacing of sulci varies), a longer correlation inward (so sulci run inward); the result
    is warped along the surface by a smooth field, so sulci bend and meander."""
    k = int(np.floor(level / LAYER))
    phase = (level / LAYER - k) * np.pi / 2
    white = (np.cos(phase) * _white(head_seed, which, k, shape) + np.sin(phase) * _white(head_seed, which, k + 1, shape))
    fd = np.fft.fftfreq(shape[0])[:, None]
    ft = np.abs(np.fft.rfftfreq(shape[1])[None, :]) * wavelength
    along = ft * np.exp(-((ft / 1.1) ** 2))
    inward = np.exp(-((fd * wavelength * 1.6) ** 2))
    spectrum = np.fft.rfft2(white)
    field = np.fft.irfft2(spectrum * (along * inward).astype(np.float32), s=shape)
    bend = np.fft.irfft2(spectrum * np.exp(-(ft * 4) ** 2 - (fd * wavelength * 1.2) ** 2).astype(np.float32), s=shape)
    bend *= 0.45 * wavelength / max(float(bend.std()), 1e-6)
    columns = (np.arange(shape[1])[None, :] + bend.astype(np.int32)) % shape[1]
    field = np.take_along_axis(field, columns, axis=1)
    return (field / max(float(field.std()), 1e-6)).astype(np.float32)


def _white(head_seed: int, which: int, layer: int, shape) -> np.ndarray:
    return np.random.default_rng([head_seed, 11, which, layer]).standard_normal(shape, dtype=np.float32)


def distance_table(field: np.ndarray, along_px: float) -> np.ndarray:
    """Pixels from each sample to the nearest zero line of ``field`` (first-order estimate);
    ``along_px`` is the length of one sample along the surface, in pixels."""
    d_in, d_along = np.gradient(field)
    slope = np.sqrt(d_in * d_in + (d_along / np.float32(along_px)) ** 2) + np.float32(1e-3)
    return np.abs(field) / slope


def draw_cortex(head: PatientHead, head_seed: int, f: Frame, t: np.ndarray, offset: np.ndarray,
                surface: np.ndarray, medial: np.ndarray | None, effaced: np.ndarray | None):
    """Grey ribbon, sulci and subarachnoid space of the cerebrum.

    ``surface`` is each pixel's depth (pixels) below the convexity surface of the brain, ``medial``
    its depth below the medial surface (None where there is no interhemispheric fissure), and
    ``effaced`` how much mass effect narrows the sulci there (0 none .. 1 effaced), or None.
    Only pixels labelled white matter are changed.
    """
    radius_px = 0.5 * (f.half_axes[0] + f.half_axes[1])
    fold_px = f.mm(head.fold)
    nearest = surface if medial is None else np.minimum(surface, medial)
    shell = (t == Tissue.WHITE) & (nearest < DEPTHS - 1)
    along_px = 2 * np.pi * radius_px / ANGLES
    convexity = fold_field(head_seed, f.level, (DEPTHS, ANGLES), fold_px / along_px, 0)
    rows = np.clip(surface[shell], 0, DEPTHS - 1).astype(np.int32)
    near = distance_table(convexity, along_px)[rows, f.psi[shell]]
    limit = _sulcus_depth(head_seed, f, fold_px)[f.psi[shell]]
    depth = surface[shell]
    if medial is not None:
        side = medial[shell]
        use = side < depth
        if use.any():
            along = np.clip(f.y[shell][use] * f.half_axes[1] + 256, 0, 511).astype(np.int32)
            along = (along + 131 * (f.x[shell][use] > 0)) % 512
            field = fold_field(head_seed, f.level, (DEPTHS, 512), fold_px, 1)
            near[use] = distance_table(field, 1.0)[np.clip(side[use], 0, DEPTHS - 1).astype(np.int32), along]
            depth = np.where(use, side, depth)
            limit = np.where(use, limit * 0.8, limit)
    narrowing = 1.0 if effaced is None else 1 - effaced[shell]
    opening = _opening(head_seed, f)[f.psi[shell]]
    # CSF opens the sulci near the surface only; deeper, their banks touch (grey against grey)
    half_width = f.mm(0.1 + 1.0 * head.atrophy) * opening * narrowing * np.clip(1.1 - 1.4 * depth / np.maximum(limit, 1), 0, 1)
    beyond = np.maximum(depth - limit, 0)
    to_sulcus = np.where(beyond > 0, np.hypot(np.maximum(near - half_width, 0), beyond), near - half_width)
    to_csf = np.minimum(to_sulcus, depth)  # pixels to the nearest sulcus or to the surface
    grey_fraction = np.clip((f.mm(CORTEX_MM) - to_csf) / 1.4 + 0.5, 0, 1)
    labels = np.where(to_csf < 0, Tissue.CSF, np.where(grey_fraction > 0.5, Tissue.GREY, Tissue.WHITE))
    t[shell] = labels.astype(np.uint8)
    contrast = head.hu[Tissue.GREY] - head.hu[Tissue.WHITE]
    partial = (grey_fraction - (labels == Tissue.GREY)) * np.float32(contrast)
    offset[shell] += np.where(to_csf < 0, 0, partial).astype(np.float32)


def _sulcus_depth(head_seed: int, f: Frame, fold_px: float) -> np.ndarray:
    """How deep the sulci reach (pixels): a function of the polar angle that changes from one sulcus
    to the next."""
    return (fold_px * (0.55 + 0.35 * np.tanh(1.5 * _angular_noise(head_seed, f, 13, range(8, 60, 4))))).astype(np.float32)


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
