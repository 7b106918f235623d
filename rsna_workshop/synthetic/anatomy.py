"""One patient's head and the coordinates of one axial slice through it.

A :class:`PatientHead` holds everything about a patient that does not change from slice to slice
(size in millimetres, pose, age and atrophy, tissue densities, normal variants), drawn from one
seed. :func:`head_frame` gives every pixel of a slice its place in the head: normalised
coordinates (the outer table of the skull is close to the unit circle; ``x`` runs to the
patient's left, ``y`` to the back, as a radiologist views the image) and its depth inside the
inner table, in pixels. ``level`` runs from 0 (foramen magnum, maxillary sinuses) to 1 (vertex);
the slice plane is tilted (chin up or down) and rolled as real patients lie, so the level at the
front of a slice differs from the level at the back (:meth:`Frame.local`).

The shape primitives here (:func:`ellipse`, :func:`tube`) draw in a window around the shape only,
which keeps a slice fast; the structures themselves are drawn by
:mod:`~rsna_workshop.synthetic.skull`, :mod:`~rsna_workshop.synthetic.cortex`,
:mod:`~rsna_workshop.synthetic.deep` and :mod:`~rsna_workshop.synthetic.base`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

SIZE = 512
ANGLES = 1024  # resolution of the tables of functions of the polar angle
WARP_TERMS = 12  # smooth waves that bend each head's anatomy its own way
WARP_SIZE = 0.045  # their combined displacement, normalised (a few millimetres)


class Tissue(IntEnum):
    """Labels of the tissue map (before blur and noise)."""

    AIR = 0
    FAT = 1
    SOFT = 2  # skin, scalp, subcutaneous tissue
    BONE = 3  # cortical bone: the tables of the skull, the skull base
    DIPLOE = 4
    WHITE = 5
    GREY = 6
    CSF = 7  # sulci, fissures, cisterns
    VENTRICLE = 8
    CALCIFICATION = 9  # pineal gland, choroid plexus, falx, basal ganglia
    DENSE = 10  # falx, tentorium, venous sinuses, arteries: dense but not blood
    DEEP_GREY = 11  # caudate, lentiform nuclei, thalami
    MUSCLE = 12  # temporalis, extraocular muscles, optic nerve
    VITREOUS = 13
    LENS = 14
    HOLDER = 15  # the scanner's head holder
    PAD = 16  # foam pad between head and holder
    LEUKOARAIOSIS = 17  # periventricular white matter of small-vessel disease
    STEM = 18  # brain stem and cerebellar white matter: between grey and white


# Expected clean HU range of each tissue (tests check the generator against it).
TISSUE_HU = {
    Tissue.AIR: (-1000, -990),
    Tissue.FAT: (-110, -70),
    Tissue.SOFT: (15, 45),
    Tissue.BONE: (900, 1900),  # thin tables read low: the kernel blurs them into the diploe
    Tissue.DIPLOE: (450, 950),
    Tissue.WHITE: (22, 33),
    Tissue.GREY: (34, 43),
    Tissue.CSF: (0, 12),
    Tissue.VENTRICLE: (0, 12),
    Tissue.CALCIFICATION: (120, 500),
    Tissue.DENSE: (42, 62),
    Tissue.DEEP_GREY: (31, 40),
    Tissue.MUSCLE: (38, 55),
    Tissue.VITREOUS: (5, 15),
    Tissue.LENS: (100, 120),
    Tissue.HOLDER: (150, 400),
    Tissue.PAD: (-950, -750),
    Tissue.LEUKOARAIOSIS: (14, 23),
    Tissue.STEM: (27, 35),
}


@dataclass(frozen=True)
class PatientHead:
    """One patient's head (all drawn from one seed). Lengths are millimetres."""

    half_width: float  # outer table at its widest
    half_length: float
    offset: tuple[float, float]  # head centre from the image centre, mm (x right, y down)
    yaw: float  # in-plane rotation, radians
    pitch: float  # level change from the front (y=-1) to the centre (y=0) of a slice
    roll: float  # level change from the right (x=-1) to the centre
    shape: np.ndarray  # relative bumps of the outline, a function of the polar angle
    skull: float  # vault thickness
    skull_bumps: np.ndarray
    scalp: float
    age: float  # years
    atrophy: float  # 0 young brain .. 1 wide sulci and ventricles
    fold: float  # wavelength of the gyral pattern
    ventricle_asymmetry: float
    septum_offset: float  # of the sphenoid sinus septum, normalised
    hu: dict  # Tissue -> clean HU
    calcified: frozenset  # among "pineal", "choroid", "falx", "basal_ganglia", "habenula"
    dense_vessels: float  # 0..1, how dense arteries and sinuses look
    frontal_sinus: float  # 0 (absent) .. 1 (large)
    mastoid: float  # pneumatisation 0..1
    leukoaraiosis: float  # 0..1
    warp: np.ndarray  # (terms, 6): wave vector x, y, phase, amplitudes x, y, drift with level
    sylvian: np.ndarray  # (2, 6): bends of the right and left lateral sulcus and of its posterior ramus


def smooth_periodic(rng: np.random.Generator, amplitude: float, orders=range(2, 7)) -> np.ndarray:
    """A random smooth function of the polar angle, sampled at ``ANGLES`` points."""
    psi = np.linspace(-np.pi, np.pi, ANGLES, endpoint=False)
    out = np.zeros(ANGLES)
    for k in orders:
        out += rng.normal(0, amplitude / k) * np.cos(k * psi + rng.uniform(0, 2 * np.pi))
    return out.astype(np.float32)


def random_head(rng: np.random.Generator) -> PatientHead:
    """Draw one patient's head."""
    child = rng.random() < 0.07
    age = float(rng.uniform(2, 17) if child else np.clip(rng.normal(62, 18), 18, 95))
    atrophy = float(np.clip((age - 35) / 55 + rng.normal(0, 0.15), 0, 1))
    grey = rng.uniform(35, 40)
    white = grey - rng.uniform(7, 10)  # white matter 25-33 HU: the adult grey-white difference
    hu = {
        Tissue.AIR: -1000.0, Tissue.FAT: rng.uniform(-105, -80), Tissue.SOFT: rng.uniform(22, 38),
        Tissue.BONE: rng.uniform(1250, 1750), Tissue.DIPLOE: rng.uniform(550, 850),
        Tissue.WHITE: white, Tissue.GREY: grey, Tissue.CSF: rng.uniform(3, 9),
        Tissue.CALCIFICATION: rng.uniform(130, 300), Tissue.DENSE: rng.uniform(45, 58),
        Tissue.DEEP_GREY: grey - rng.uniform(2, 5), Tissue.MUSCLE: rng.uniform(42, 52),
        Tissue.VITREOUS: rng.uniform(6, 14), Tissue.LENS: rng.uniform(103, 117),
        Tissue.HOLDER: rng.uniform(200, 350), Tissue.PAD: rng.uniform(-900, -800),
        Tissue.LEUKOARAIOSIS: white - rng.uniform(6, 9), Tissue.STEM: (grey + white) / 2,
    }
    hu[Tissue.VENTRICLE] = hu[Tissue.CSF]
    old = (age - 40) / 50
    calcified = {name for name, p in (("pineal", 0.4 + 0.3 * old), ("choroid", 0.5 + 0.3 * old),
                                      ("falx", 0.1 + 0.2 * old), ("basal_ganglia", 0.03 + 0.07 * old),
                                      ("habenula", 0.15)) if rng.random() < p}
    half_width = rng.uniform(56, 66) if child else rng.uniform(64, 74)
    return PatientHead(
        half_width=half_width, half_length=half_width * rng.uniform(1.1, 1.25),
        offset=(rng.normal(0, 14), rng.normal(-8, 14)),
        yaw=float(rng.normal(0, 0.2)), pitch=float(rng.normal(0.0, 0.06)), roll=float(rng.normal(0, 0.012)),
        shape=smooth_periodic(rng, 0.045), skull=rng.uniform(4.5, 7.0),
        skull_bumps=smooth_periodic(rng, 0.3), scalp=rng.uniform(4, 7.5),
        age=age, atrophy=atrophy, fold=rng.uniform(19, 25),
        ventricle_asymmetry=float(rng.normal(0, 0.08)), septum_offset=float(rng.normal(0, 0.05)),
        hu=hu, calcified=frozenset(calcified), dense_vessels=float(rng.uniform(0, 1)),
        frontal_sinus=float(rng.choice([0.0, rng.uniform(0.3, 1.0)], p=[0.1, 0.9])),
        mastoid=float(rng.uniform(0.3, 1.0)),
        leukoaraiosis=float(np.clip(old * rng.uniform(0, 1.2) - 0.15, 0, 1)),
        warp=np.column_stack([rng.normal(0, 1.6, (WARP_TERMS, 2)), rng.uniform(0, 2 * np.pi, WARP_TERMS),
                              rng.normal(0, WARP_SIZE / np.sqrt(WARP_TERMS), (WARP_TERMS, 2)),
                              rng.normal(0, 6, WARP_TERMS)]).astype(np.float32),
        sylvian=rng.normal(0, 1, (2, 6)),
    )


def presence(level: float, low: float, high: float) -> float:
    """How much of a structure spanning levels ``low..high`` cuts this slice: 0 outside, 1 mid."""
    t = (level - low) / (high - low)
    return float(np.sqrt(max(0.0, 4 * t * (1 - t))))


# Half axes of the outer table relative to the largest, from the foramen magnum to the vertex.
_SECTION_LEVELS = (0.0, 0.1, 0.2, 0.3, 0.45, 0.6, 0.72, 0.82, 0.9, 0.96, 1.0)
_SECTION_SCALE = (0.84, 0.88, 0.93, 0.97, 1.0, 0.99, 0.95, 0.88, 0.77, 0.62, 0.5)


def section_scale(level) -> np.ndarray:
    """Size of the section of the outer table at ``level`` (scalar or array), relative to the largest."""
    return np.interp(level, _SECTION_LEVELS, _SECTION_SCALE)


@dataclass
class Frame:
    """Per-pixel coordinates of one slice in the head's frame."""

    x: np.ndarray  # normalised, right (-1) to left (+1) of the patient
    y: np.ndarray  # normalised, front (-1) to back (+1)
    psi: np.ndarray  # table index of the polar angle
    rho: np.ndarray  # normalised radius
    depth: np.ndarray  # pixels inside the inner table (negative: skull and outside)
    outer: np.ndarray  # pixels inside the outer table
    skull: np.ndarray  # skull thickness along this direction, pixels
    half_axes: tuple[float, float]  # of this section's outer table, pixels
    center: tuple[float, float]  # pixel (x, y) of the head centre
    angle: float
    level: float
    pitch: float
    roll: float
    px_per_mm: float
    slack: float = 0.0  # pixels: how far mass effect displaces the coordinates at most

    def local(self, x: float, y: float) -> float:
        """The level of the slice plane at normalised point ``(x, y)`` (tilt and roll)."""
        return self.level + self.pitch * y + self.roll * x

    def mm(self, millimetres: float) -> float:
        """A length in millimetres, in pixels."""
        return millimetres * self.px_per_mm

    def norm(self, millimetres: float) -> float:
        """A length in millimetres as a normalised length (mean of both axes)."""
        return self.mm(millimetres) / (0.5 * (self.half_axes[0] + self.half_axes[1]))

    def to_pixel(self, x: float, y: float) -> tuple[float, float]:
        """Pixel (column, row) of normalised point ``(x, y)``."""
        c, s = np.cos(self.angle), np.sin(self.angle)
        u, v = x * self.half_axes[0], y * self.half_axes[1]
        return self.center[0] + c * u - s * v, self.center[1] + s * u + c * v

    def window(self, cx: float, cy: float, radius: float) -> tuple[slice, slice]:
        """Pixel rows and columns that hold a disc of normalised centre and radius (plus the
        frame's ``slack``, the largest displacement of its coordinates)."""
        px, py = self.to_pixel(cx, cy)
        r = radius * max(self.half_axes) + 2 + self.slack
        rows = slice(int(np.clip(py - r, 0, SIZE)), int(np.clip(py + r + 1, 0, SIZE)))
        cols = slice(int(np.clip(px - r, 0, SIZE)), int(np.clip(px + r + 1, 0, SIZE)))
        return rows, cols


_GRID_Y, _GRID_X = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
_PSI = np.linspace(-np.pi, np.pi, ANGLES, endpoint=False)


def hu_table(head: PatientHead) -> np.ndarray:
    """The head's clean HU of every tissue label, as an array indexed by label (0 for unused ones)."""
    return np.array([head.hu.get(t, 0.0) for t in range(max(Tissue) + 1)], np.float32)


def obliquity(level: float) -> float:
    """How much wider than its true thickness a layer parallel to the surface looks on the slice:
    1, growing near the vertex, where the plane cuts the skull and cortex obliquely."""
    return 1 + 1.8 * max(0.0, level - 0.84)


def head_frame(head: PatientHead, level: float, spacing: float) -> Frame:
    """Coordinates of every pixel in the head's frame at ``level``, for pixels of ``spacing`` mm."""
    px_per_mm = 1.0 / spacing
    s = float(section_scale(level))
    a, b = head.half_width * s * px_per_mm, head.half_length * s * px_per_mm
    center = (SIZE / 2 + head.offset[0] * px_per_mm, SIZE / 2 + head.offset[1] * px_per_mm)
    cos, sin = np.cos(head.yaw), np.sin(head.yaw)
    dx, dy = _GRID_X - np.float32(center[0]), _GRID_Y - np.float32(center[1])
    x = dx * np.float32(cos / a) + dy * np.float32(sin / a)
    y = dx * np.float32(-sin / b) + dy * np.float32(cos / b)
    warp_x, warp_y = _warp(head.warp, level, (cos / a, sin / a), (-sin / b, cos / b), center)
    x += warp_x
    y += warp_y
    psi = np.arctan2(y, x)
    index = ((psi + np.float32(np.pi)) * np.float32(ANGLES / (2 * np.pi))).astype(np.int32) & (ANGLES - 1)
    rho = np.sqrt(x * x + y * y)
    # The outline follows the section size at the local level of each direction (tilt and roll).
    local = level + head.pitch * np.sin(_PSI) + head.roll * np.cos(_PSI)
    radius = (section_scale(local) / s * (1 + head.shape)).astype(np.float32)
    cos2 = np.cos(_PSI) ** 2
    scale = np.sqrt(a * a * cos2 + b * b * (1 - cos2)).astype(np.float32)  # pixels per unit of rho
    thickness = (head.skull * px_per_mm * (1 + head.skull_bumps) * obliquity(level) * (1 - 0.3 * cos2)).astype(np.float32)
    outer = (radius[index] - rho) * scale[index]
    skull = thickness[index]
    return Frame(x, y, index, rho, outer - skull, outer, skull, (a, b), center, head.yaw, level,
                 head.pitch, head.roll, px_per_mm, slack=float(WARP_SIZE * 3 * max(a, b)))


def _warp(terms: np.ndarray, level: float, x_of, y_of, center) -> tuple[np.ndarray, np.ndarray]:
    """A smooth displacement (normalised) of every pixel: a sum of plane waves in the head's
    frame, each ``cos(kx x + ky y + phase)``, written as a product of a column and a row factor so
    that the whole field is one small matrix product."""
    columns = np.arange(SIZE, dtype=np.float64) - center[0]
    rows = np.arange(SIZE, dtype=np.float64) - center[1]
    kx, ky = terms[:, 0].astype(np.float64), terms[:, 1].astype(np.float64)
    along_columns = np.outer(columns, kx * x_of[0] + ky * y_of[0]) + (terms[:, 2] + terms[:, 5] * level)
    along_rows = np.outer(rows, kx * x_of[1] + ky * y_of[1])
    row_factor = np.hstack([np.cos(along_rows), np.sin(along_rows)]).astype(np.float32)
    out = []
    for amplitude in (terms[:, 3], terms[:, 4]):
        column_factor = np.hstack([amplitude * np.cos(along_columns), -amplitude * np.sin(along_columns)])
        out.append(row_factor @ column_factor.T.astype(np.float32))
    return out[0], out[1]


def ellipse(f: Frame, cx, cy, rx, ry, angle=0.0) -> np.ndarray:
    """Boolean mask of an ellipse in normalised coordinates."""
    out = np.zeros(f.x.shape, bool)
    if rx <= 0 or ry <= 0:
        return out
    win = f.window(cx, cy, max(rx, ry))
    dx, dy = f.x[win] - np.float32(cx), f.y[win] - np.float32(cy)
    if angle:
        c, s = np.float32(np.cos(angle)), np.float32(np.sin(angle))
        dx, dy = c * dx + s * dy, -s * dx + c * dy
    out[win] = (dx / np.float32(rx)) ** 2 + (dy / np.float32(ry)) ** 2 < 1
    return out


def ellipse_depth(f: Frame, cx, cy, rx, ry) -> np.ndarray:
    """Approximate depth (pixels) inside an axis-aligned ellipse in normalised coordinates: exact
    along its minor axis, an underestimate elsewhere; pixels far outside hold a large negative."""
    out = np.full(f.x.shape, -1e4, np.float32)
    if rx <= 0 or ry <= 0:
        return out
    win = f.window(cx, cy, max(rx, ry) * 1.2)
    dx, dy = (f.x[win] - np.float32(cx)) / np.float32(rx), (f.y[win] - np.float32(cy)) / np.float32(ry)
    out[win] = (1 - np.sqrt(dx * dx + dy * dy)) * np.float32(min(rx * f.half_axes[0], ry * f.half_axes[1]))
    return out


def tube(f: Frame, points, radii) -> np.ndarray:
    """Boolean mask of a tube along a polyline: discs of ``radii`` (pixels) swept between ``points``
    (normalised), the radius changing linearly along each segment."""
    return tube_distance(f, points, radii, reach=0.0) < 0


def tube_distance(f: Frame, points, radii, reach: float = 40.0) -> np.ndarray:
    """Signed distance (pixels, negative inside) to the tube of :func:`tube`, computed up to
    ``reach`` pixels outside it; farther pixels hold a large value."""
    out = np.full(f.x.shape, 1e4, np.float32)
    a, b = np.float32(f.half_axes[0]), np.float32(f.half_axes[1])
    for (x0, y0), (x1, y1), r0, r1 in zip(points, points[1:], radii, radii[1:]):
        if max(r0, r1) <= 0:
            continue
        middle = ((x0 + x1) / 2, (y0 + y1) / 2)
        half = 0.5 * np.hypot((x1 - x0) * a, (y1 - y0) * b)
        win = f.window(*middle, (half + max(r0, r1) + reach) / min(a, b))
        px, py = (f.x[win] - np.float32(x0)) * a, (f.y[win] - np.float32(y0)) * b
        ux, uy = (x1 - x0) * a, (y1 - y0) * b
        t = np.clip((px * ux + py * uy) / max(ux * ux + uy * uy, 1e-6), 0, 1)
        distance = np.sqrt((px - t * ux) ** 2 + (py - t * uy) ** 2) - (r0 + (r1 - r0) * t)
        np.minimum(out[win], distance, out=out[win])
    return out


def paint(tissue: np.ndarray, mask: np.ndarray, label: Tissue, within: np.ndarray | None = None):
    """Set ``tissue`` to ``label`` where ``mask`` (and ``within``, when given) hold."""
    tissue[mask if within is None else (mask & within)] = label


def field_noise(rng: np.random.Generator, shape: tuple[int, int], wavelength: float) -> np.ndarray:
    """Smooth random field of unit standard deviation, features about ``wavelength`` samples wide."""
    white = rng.standard_normal(shape).astype(np.float32)
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.rfftfreq(shape[1])[None, :]
    gain = np.exp(-((fx * fx + fy * fy) * (wavelength / 2.2) ** 2)).astype(np.float32)
    out = np.fft.irfft2(np.fft.rfft2(white) * gain, s=shape).astype(np.float32)
    return out / max(float(out.std()), 1e-6)
