"""Normal head anatomy for one axial slice: a tissue map and its clean Hounsfield units.

The head is drawn in a normalised frame per slice: the outer table of the skull is (close to) the
unit circle, ``X`` runs to the patient's left, ``Y`` to the back (radiological display). Anatomy
changes with ``level``: 0 is the skull base (orbits, petrous bones, posterior fossa), 1 the vertex.
Structures grow and shrink smoothly with level, so contiguous slices of one patient agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

SIZE = 512
ANGLES = 1024  # resolution of the lookup tables of functions of the polar angle


class Tissue(IntEnum):
    """Labels of the tissue map (before blur and noise)."""

    AIR = 0
    FAT = 1
    SOFT = 2  # scalp, muscle, vitreous of the globe
    BONE = 3  # cortical bone: inner and outer tables, petrous bone
    DIPLOE = 4
    WHITE = 5
    GREY = 6
    CSF = 7  # sulci, fissures, cisterns
    VENTRICLE = 8
    CALCIFICATION = 9  # choroid plexus, pineal gland
    DENSE = 10  # falx, venous sinuses, arteries: dense but not blood
    DEEP_GREY = 11  # basal ganglia and thalami


# Expected clean HU range of each tissue (tests check the generator against it).
TISSUE_HU = {
    Tissue.AIR: (-1000, -990),
    Tissue.FAT: (-110, -60),
    Tissue.SOFT: (5, 50),
    Tissue.BONE: (1000, 1600),
    Tissue.DIPLOE: (450, 950),
    Tissue.WHITE: (20, 30),
    Tissue.GREY: (35, 45),
    Tissue.CSF: (0, 15),
    Tissue.VENTRICLE: (0, 15),
    Tissue.CALCIFICATION: (120, 450),
    Tissue.DENSE: (45, 65),
    Tissue.DEEP_GREY: (30, 40),
}


@dataclass(frozen=True)
class PatientHead:
    """One patient's head: size, pose, shape and tissue densities (all drawn from one seed)."""

    center: tuple[float, float]  # pixel (x, y) of the head centre
    angle: float  # in-plane rotation, radians
    semi_axes: tuple[float, float]  # largest outer-table half width and half length, pixels
    shape: np.ndarray  # relative bumps of the outline, a function of the polar angle
    skull: float  # skull thickness, pixels
    skull_bumps: np.ndarray
    scalp: float  # scalp thickness, pixels
    atrophy: float  # 0 young brain .. 1 wide sulci and ventricles
    sulci: int
    sulcus_jitter: np.ndarray
    sulcus_depth: np.ndarray
    sulcus_width: np.ndarray
    hu: dict  # Tissue -> clean HU
    choroid_calcified: bool
    pineal_calcified: bool
    dense_vessels: float  # 0..1, how dense arteries and sinuses look
    noise: float  # noise standard deviation, HU
    blur: float  # Gaussian blur sigma, pixels


def smooth_periodic(rng: np.random.Generator, amplitude: float, orders=range(2, 7)) -> np.ndarray:
    """A random smooth function of the polar angle, sampled at ``ANGLES`` points."""
    psi = np.linspace(-np.pi, np.pi, ANGLES, endpoint=False)
    out = np.zeros(ANGLES)
    for k in orders:
        out += rng.normal(0, amplitude / k) * np.cos(k * psi + rng.uniform(0, 2 * np.pi))
    return out.astype(np.float32)


def random_head(rng: np.random.Generator) -> PatientHead:
    """Draw one patient's head."""
    half_width = rng.uniform(150, 178)
    sulci = int(rng.integers(30, 40))
    atrophy = float(rng.beta(1.5, 3.0))
    hu = {
        Tissue.AIR: -1000.0,
        Tissue.FAT: rng.uniform(-100, -70),
        Tissue.SOFT: rng.uniform(25, 40),
        Tissue.BONE: rng.uniform(1150, 1550),
        Tissue.DIPLOE: rng.uniform(550, 850),
        Tissue.WHITE: rng.uniform(22, 28),
        Tissue.GREY: rng.uniform(36, 42),
        Tissue.CSF: rng.uniform(3, 10),
        Tissue.CALCIFICATION: rng.uniform(150, 400),
        Tissue.DENSE: rng.uniform(48, 60),
    }
    hu[Tissue.DEEP_GREY] = (hu[Tissue.GREY] + hu[Tissue.WHITE]) / 2 + 2
    hu[Tissue.VENTRICLE] = hu[Tissue.CSF]
    return PatientHead(
        center=(256 + rng.normal(0, 9), 262 + rng.normal(0, 9)),
        angle=float(rng.normal(0, 0.09)),
        semi_axes=(half_width, half_width * rng.uniform(1.17, 1.32)),
        shape=smooth_periodic(rng, 0.05),
        skull=rng.uniform(12, 19),
        skull_bumps=smooth_periodic(rng, 0.25),
        scalp=rng.uniform(12, 20),
        atrophy=atrophy,
        sulci=sulci,
        sulcus_jitter=smooth_periodic(rng, 5.0, orders=range(3, 12)),
        sulcus_depth=rng.uniform(3, 30, size=sulci).astype(np.float32) * (1 + atrophy * 0.5),
        sulcus_width=rng.uniform(0.3, 1.4, size=sulci).astype(np.float32),
        hu=hu,
        choroid_calcified=bool(rng.random() < 0.6),
        pineal_calcified=bool(rng.random() < 0.5),
        dense_vessels=float(rng.uniform(0, 1)),
        noise=rng.uniform(3.0, 5.0),
        blur=rng.uniform(0.6, 1.0),
    )


def presence(level: float, low: float, high: float) -> float:
    """How much of a structure spanning levels ``low..high`` cuts this slice: 0 outside, 1 mid."""
    t = (level - low) / (high - low)
    return float(np.sqrt(max(0.0, 4 * t * (1 - t))))


# Outline size of the section relative to the largest, from skull base to vertex.
_SECTION_LEVELS = (0.0, 0.15, 0.3, 0.5, 0.65, 0.8, 0.9, 0.97, 1.0)
_SECTION_SCALE = (0.84, 0.88, 0.94, 1.0, 0.98, 0.9, 0.76, 0.55, 0.42)


@dataclass
class Frame:
    """Per-pixel coordinates of one slice in the head's frame."""

    x: np.ndarray  # normalised, left-right
    y: np.ndarray  # normalised, front (-1) to back (+1)
    psi: np.ndarray  # table index of the polar angle
    rho: np.ndarray  # normalised radius
    scale: np.ndarray  # pixels per unit of rho along this direction
    depth: np.ndarray  # pixels inside the inner table (negative: skull and outside)
    skull: np.ndarray  # skull thickness along this direction, pixels
    half_axes: tuple[float, float]  # of this section, pixels
    center: tuple[float, float]  # pixel (x, y)
    angle: float

    def px_to_norm(self, pixels: float) -> float:
        """A length in pixels as a normalised length (mean of both axes)."""
        return pixels / (0.5 * (self.half_axes[0] + self.half_axes[1]))

    def window(self, cx: float, cy: float, radius: float) -> tuple[slice, slice]:
        """Pixel rows and columns that hold a disc of normalised centre and radius."""
        c, s = np.cos(self.angle), np.sin(self.angle)
        u, v = cx * self.half_axes[0], cy * self.half_axes[1]
        px, py = self.center[0] + c * u - s * v, self.center[1] + s * u + c * v
        r = radius * max(self.half_axes) + 2
        rows = slice(max(0, int(py - r)), max(0, min(SIZE, int(py + r) + 1)))
        cols = slice(max(0, int(px - r)), max(0, min(SIZE, int(px + r) + 1)))
        return rows, cols


_GRID_Y, _GRID_X = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)


def head_frame(head: PatientHead, level: float) -> Frame:
    """Coordinates of every pixel in the head's normalised frame at ``level``."""
    s = float(np.interp(level, _SECTION_LEVELS, _SECTION_SCALE))
    a, b = head.semi_axes[0] * s, head.semi_axes[1] * s
    cos, sin = np.cos(head.angle), np.sin(head.angle)
    dx, dy = _GRID_X - np.float32(head.center[0]), _GRID_Y - np.float32(head.center[1])
    x = dx * np.float32(cos / a) + dy * np.float32(sin / a)
    y = dx * np.float32(-sin / b) + dy * np.float32(cos / b)
    psi = np.arctan2(y, x)
    index = ((psi + np.float32(np.pi)) * np.float32(ANGLES / (2 * np.pi))).astype(np.int32) & (ANGLES - 1)
    rho = np.sqrt(x * x + y * y)
    cos2 = (x * x) / np.maximum(rho * rho, np.float32(1e-12))
    scale = np.sqrt(np.float32(a * a) * cos2 + np.float32(b * b) * (1 - cos2))
    # Thinner over the temporal squama, thicker near the vertex where the cut is oblique.
    thickness = (head.skull * (1 + head.skull_bumps) * (1 + 1.6 * max(0.0, level - 0.86))).astype(np.float32)
    skull = thickness[index] * (1 - np.float32(0.35) * cos2)
    depth = (1 + head.shape[index] - rho) * scale - skull
    return Frame(x, y, index, rho, scale, depth, skull, (a, b), head.center, head.angle)


def ellipse(frame: Frame, cx, cy, rx, ry, angle=0.0) -> np.ndarray:
    """Boolean mask of an ellipse in normalised coordinates."""
    out = np.zeros(frame.x.shape, bool)
    if rx <= 0 or ry <= 0:
        return out
    win = frame.window(cx, cy, max(rx, ry))
    dx, dy = frame.x[win] - np.float32(cx), frame.y[win] - np.float32(cy)
    if angle:
        c, s = np.float32(np.cos(angle)), np.float32(np.sin(angle))
        dx, dy = c * dx + s * dy, -s * dx + c * dy
    out[win] = (dx / np.float32(rx)) ** 2 + (dy / np.float32(ry)) ** 2 < 1
    return out


def paint(tissue: np.ndarray, mask: np.ndarray, label: Tissue, within: np.ndarray | None = None):
    """Set ``tissue`` to ``label`` where ``mask`` (and ``within``, when given) hold."""
    tissue[mask if within is None else (mask & within)] = label


def draw_slice(head: PatientHead, level: float, rng: np.random.Generator):
    """The tissue map and the frame of one slice (hemorrhage-free)."""
    f = head_frame(head, level)
    t = np.full((SIZE, SIZE), Tissue.AIR, np.uint8)
    outer = f.depth + f.skull  # pixels inside the outer table
    paint(t, outer > -head.scalp, Tissue.SOFT)
    paint(t, (outer > -0.5 * head.scalp) & (outer < -0.38 * head.scalp), Tissue.FAT)
    paint(t, outer > 0, Tissue.BONE)
    paint(t, (outer > 0.3 * f.skull) & (f.depth < -0.3 * f.skull), Tissue.DIPLOE)
    brain = f.depth > 0
    paint(t, brain, Tissue.WHITE)
    _cortex(head, f, t, brain, level)
    _midline(head, f, t, brain, level)
    if level > 0.38:
        _deep_structures(head, f, t, level)
    if level < 0.5:
        _skull_base(head, f, t, brain, level, rng)
    return t, f


def _cortex(head: PatientHead, f: Frame, t: np.ndarray, brain: np.ndarray, level: float):
    """Cortical ribbon and sulci: CSF clefts running in from the surface, lined by grey matter."""
    n = head.sulci
    bend = np.sin(f.depth * 0.12 + head.sulcus_jitter[f.psi]) * np.minimum(f.depth, 25) * 0.06
    phase = n * (f.psi.astype(np.float32) * (2 * np.pi / ANGLES)) + head.sulcus_jitter[f.psi] + bend
    k = np.round(phase / (2 * np.pi))
    radius_px = f.rho * f.scale
    along = np.abs(phase - 2 * np.pi * k) / n * radius_px  # pixels to the nearest sulcus
    which = k.astype(np.int32) % n
    depth_of_sulcus = head.sulcus_depth[which] * (0.6 + 0.4 * level)
    taper = 1.2 - 0.7 * (f.depth / depth_of_sulcus).clip(0, 1)
    half_width = (1.2 + 2.0 * head.atrophy) * head.sulcus_width[which] * taper
    grey = 5.5 + 1.5 * np.sin(phase * 0.5)
    lining = (along < half_width + grey) & (f.depth < depth_of_sulcus + grey)
    paint(t, (f.depth < grey) | lining, Tissue.GREY, brain)
    cleft = (along < half_width) & (f.depth < depth_of_sulcus)
    paint(t, (f.depth < 0.6 + head.atrophy * 2.2) | cleft, Tissue.CSF, brain)


def _midline(head: PatientHead, f: Frame, t: np.ndarray, brain: np.ndarray, level: float):
    """Interhemispheric fissure with the falx; the superior sagittal sinus at the back."""
    if level < 0.3:
        return
    width = f.px_to_norm(1.6 + 2.5 * head.atrophy)
    deep = 0.55 * presence(level, 0.38, 0.82)  # the corpus callosum and ventricles interrupt it
    fissure = (np.abs(f.x) < width) & (np.abs(f.y) > deep) & (f.y > -0.98)
    paint(t, fissure, Tissue.CSF, brain)
    paint(t, fissure & (np.abs(f.x) < f.px_to_norm(0.9)), Tissue.DENSE, brain)
    half_width = f.px_to_norm(np.minimum(7, 9 - f.depth.clip(0, 9)))  # a triangle on the table
    sinus = (f.y > 0) & (f.depth < 9) & (np.abs(f.x) < half_width)
    paint(t, sinus, Tissue.DENSE, brain)


def _deep_structures(head: PatientHead, f: Frame, t: np.ndarray, level: float):
    """Basal ganglia, thalami, ventricles, pineal and choroid plexus at mid levels."""
    v = 1 + 0.9 * head.atrophy
    for side in (-1, 1):
        p = presence(level, 0.4, 0.62)
        lentiform = ellipse(f, side * 0.27, -0.08, 0.07 * p, 0.17 * p, side * 0.25)
        thalamus = ellipse(f, side * 0.1, 0.08, 0.09 * p, 0.12 * p)
        pc = presence(level, 0.45, 0.7)
        caudate = ellipse(f, side * 0.14, -0.3, 0.07 * pc, 0.08 * pc)
        paint(t, lentiform | thalamus | caudate, Tissue.DEEP_GREY)
        p = presence(level, 0.32, 0.5)
        sylvian = ellipse(f, side * 0.72, -0.08, 0.2 * p, 0.018 * v * p, side * 0.15)
        paint(t, sylvian, Tissue.CSF)
        vessel = ellipse(f, side * 0.62, -0.085, 0.06 * p * head.dense_vessels, 0.008, side * 0.15)
        paint(t, vessel, Tissue.DENSE)
        # lateral ventricles: frontal horns, bodies, atria with occipital horns
        frontal, body = presence(level, 0.44, 0.66), presence(level, 0.55, 0.76)
        atrium = frontal
        paint(t, ellipse(f, side * 0.09, -0.25, 0.045 * v * frontal, 0.15 * frontal, -side * 0.3)
              | ellipse(f, side * 0.11, -0.02, 0.05 * v * body, 0.3 * body, -side * 0.05)
              | ellipse(f, side * 0.2, 0.3, 0.055 * v * atrium, 0.16 * atrium, side * 0.45), Tissue.VENTRICLE)
        if head.choroid_calcified:
            pc = presence(level, 0.5, 0.62)
            paint(t, ellipse(f, side * 0.21, 0.3, 0.022 * pc, 0.03 * pc), Tissue.CALCIFICATION)
    third = presence(level, 0.4, 0.54)
    paint(t, ellipse(f, 0, 0.04, 0.012 * v * third, 0.11 * third), Tissue.VENTRICLE)
    if head.pineal_calcified:
        p = presence(level, 0.44, 0.52)
        paint(t, ellipse(f, 0, 0.19, 0.018 * p, 0.02 * p), Tissue.CALCIFICATION)


def _skull_base(head: PatientHead, f: Frame, t: np.ndarray, brain: np.ndarray, level: float, rng):
    """Orbits, sinuses, petrous bones, clivus, brain stem, cerebellum and basal cisterns."""
    v = 1 + 0.9 * head.atrophy
    # Suprasellar cistern and midbrain (about 0.3-0.45), pons and fourth ventricle (below).
    p = presence(level, 0.28, 0.48)
    paint(t, ellipse(f, 0, -0.12, 0.16 * p, 0.1 * p), Tissue.CSF, brain)
    paint(t, ellipse(f, 0, 0.1, 0.19 * p, 0.16 * p), Tissue.CSF, brain)  # ambient cisterns
    for side in (-1, 1):  # cerebral peduncles and tectum
        paint(t, ellipse(f, side * 0.07, 0.07, 0.1 * p, 0.13 * p, side * 0.4), Tissue.DEEP_GREY, brain)
    paint(t, ellipse(f, 0, 0.2, 0.02 * v * p, 0.02 * p), Tissue.CSF, brain)  # aqueduct
    if level >= 0.3:
        return
    # Below 0.3: the front of the cavity is face, the middle fossae hold the temporal lobes,
    # the back holds the posterior fossa behind the petrous ridges.
    base = presence(level, -0.3, 0.3)
    front = f.y < -0.55 + 0.3 * (1 - base)
    paint(t, front & (f.depth > -2), Tissue.SOFT)
    paint(t, front & ellipse(f, 0, -0.75, 0.13, 0.3), Tissue.AIR)  # nasal cavity / ethmoids
    orbit = presence(level, -0.05, 0.2)
    for side in (-1, 1):
        cone = ellipse(f, side * 0.42, -0.72, 0.26 * orbit, 0.3 * orbit, side * 0.3)
        paint(t, cone, Tissue.FAT)
        paint(t, ellipse(f, side * 0.43, -0.8, 0.19 * orbit, 0.17 * orbit), Tissue.SOFT)  # globe
        paint(t, ellipse(f, side * 0.43, -0.96, 0.07 * orbit, 0.02 * orbit), Tissue.DIPLOE)  # lens
        paint(t, ellipse(f, side * 0.25, -0.7, 0.02, 0.25 * orbit, side * 0.1), Tissue.BONE)  # wall
        petrous = presence(level, 0.02, 0.3)
        ridge = ellipse(f, side * 0.45, 0.05, 0.36 * petrous, 0.05 * petrous + 0.02, side * 0.6)
        paint(t, ridge, Tissue.BONE)
        mastoid = ellipse(f, side * 0.75, 0.2, 0.12 * petrous, 0.12 * petrous)
        paint(t, mastoid & (rng.random(mastoid.shape) < 0.7), Tissue.AIR)
        paint(t, ellipse(f, side * 0.3, 0.55, 0.32, 0.35) & (f.y > 0.18), Tissue.GREY, brain)
    sphenoid = presence(level, 0.0, 0.28)
    paint(t, ellipse(f, 0, -0.38, 0.17 * sphenoid, 0.13 * sphenoid), Tissue.AIR)
    paint(t, ellipse(f, 0, -0.14, 0.07 * base, 0.12 * base), Tissue.BONE)  # clivus
    stem = presence(level, -0.2, 0.32)
    paint(t, ellipse(f, 0, 0.1, 0.2 * stem, 0.17 * stem), Tissue.CSF, brain)  # prepontine cistern
    paint(t, ellipse(f, 0, 0.12, 0.16 * stem, 0.14 * stem), Tissue.DEEP_GREY)  # pons / medulla
    paint(t, ellipse(f, 0, 0.3, 0.05 * v * stem, 0.035 * stem), Tissue.VENTRICLE)  # fourth ventricle
    paint(t, ellipse(f, 0, 0.48, 0.05, 0.25) & (f.y > 0.35), Tissue.WHITE, brain)  # vermis
    for k in range(5):  # cerebellar fissures
        arc = np.abs(np.hypot(f.x / 0.9, f.y - 0.15) - (0.5 + 0.08 * k)) < f.px_to_norm(0.9 + 0.4 * head.atrophy)
        paint(t, arc & (f.y > 0.3) & (np.abs(f.x) > 0.07), Tissue.CSF, brain)
