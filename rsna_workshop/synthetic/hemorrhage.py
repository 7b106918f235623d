"""The five RSNA hemorrhage subtypes: where they sit, their shapes, densities and mass effect.

A :class:`Bleed` is planned once per patient (site, size, age, the levels it spans) and cut at
every slice, so contiguous slices show one bleed growing and shrinking. :func:`shows` decides,
from the plan alone, whether a slice shows a bleed; the drawing functions guarantee that a bleed
that shows has pixels, so a cohort's labels can be written before any slice is drawn.

Densities follow published ranges for unenhanced CT: acute clot 50-80 HU (up to 90 as it
retracts), hyperacute or anaemic blood 40-55 HU, subacute subdurals isodense to grey matter
(30-45 HU), chronic subdurals near CSF (8-25 HU), acute-on-chronic subdurals with a dependent
haematocrit level, and subarachnoid or intraventricular blood thinned by CSF. About one bleed in
six therefore lies below the 50-90 HU range that colour-coding paints.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..ct.rsna import SUBTYPES
from ..errors import SettingsError
from .anatomy import ANGLES, Frame, Tissue, presence

CODES = {name: i + 1 for i, name in enumerate(SUBTYPES)}  # mask values, RSNA order
PARENCHYMA = (Tissue.WHITE, Tissue.GREY, Tissue.DEEP_GREY, Tissue.STEM, Tissue.LEUKOARAIOSIS)
MIN_CUT = 0.25  # a bleed shows on a slice where its cut is at least this
SUBTLE = 0.5  # share of bleeds that are small or thin (severity below 0.06); the rest are overt
OVERT = (6.0, 1.2)  # Beta distribution of the severity (size) of overt bleeds, in 0..1
CLOT_LUMPS_HU = 5.0  # SD of the smooth unevenness of a parenchymal clot
BONE_SHADOW_MM = 1.0  # subarachnoid blood this close to the inner table is lost in the bone's blur
CENTRES = {  # levels where each subtype's largest cut may sit
    "epidural": (0.36, 0.84),
    "intraparenchymal": (0.36, 0.8),
    "intraventricular": (0.46, 0.6),
    "subarachnoid": (0.32, 0.8),
    "subdural": (0.36, 0.86),
}
SAFE = {  # levels where a bleed of each subtype can be drawn for every head and pose
    "epidural": (0.3, 0.92),
    "intraparenchymal": (0.3, 0.88),
    "intraventricular": (0.43, 0.63),
    "subarachnoid": (0.28, 0.88),
    "subdural": (0.3, 0.94),
}
STAGES = {  # stage: (probability per subtype, HU range of its blood)
    "epidural": {"acute": (0.9, (56, 80)), "hyperacute": (0.1, (42, 55))},
    "subdural": {"acute": (0.64, (52, 76)), "hyperacute": (0.08, (40, 50)), "subacute": (0.12, (32, 44)),
                 "chronic": (0.1, (8, 24)), "mixed": (0.06, (14, 26))},
    "intraparenchymal": {"acute": (0.88, (54, 78)), "hyperacute": (0.12, (42, 54))},
    "intraventricular": {"acute": (0.9, (52, 76)), "hyperacute": (0.1, (40, 50))},
    "subarachnoid": {"acute": (0.88, (50, 70)), "hyperacute": (0.12, (40, 50))},
}


@dataclass(frozen=True)
class Bleed:
    """One hemorrhage of one patient. Lengths in millimetres, angles in radians."""

    subtype: str
    level: float  # level of its largest cut
    extent: float  # it shows within level +- extent
    severity: float
    stage: str
    density: float  # HU of its bulk
    angle: float  # polar angle of its site (extra-axial and subarachnoid bleeds)
    spread: float  # angular half width
    size: float  # thickness (extra-axial), radius (intraparenchymal), fill fraction (ventricles, sulci)
    site: tuple[float, float]  # normalised centre (intraparenchymal)
    lobes: tuple  # outline bumps (intraparenchymal): (amplitudes, phases)
    oedema: float  # width of the low-density rim
    basal: bool  # subarachnoid blood in the basal cisterns too
    fracture: bool  # epidural: a fracture line through the skull over it
    swelling: float  # epidural: scalp haematoma thickness


def plan_bleed(subtype: str, rng: np.random.Generator, level: float | None = None, side: float | None = None) -> Bleed:
    """Draw one bleed of ``subtype``, centred at ``level`` (drawn from its typical levels if None),
    on the patient's left (``side`` 1) or right (-1; drawn if None)."""
    if subtype not in CODES:
        raise SettingsError(f"Unknown hemorrhage subtype {subtype!r}; choose from {', '.join(SUBTYPES)}.")
    severity = float(rng.uniform(0, 0.06) if rng.random() < SUBTLE else rng.beta(*OVERT))
    stages = STAGES[subtype]
    stage = str(rng.choice(list(stages), p=[p for p, _ in stages.values()]))
    low, high = stages[stage][1]
    centre = float(rng.uniform(*CENTRES[subtype])) if level is None else float(level)
    side = float(rng.choice([-1, 1])) if side is None else side
    size, extent, spread = {
        "epidural": (6 + 20 * severity, rng.uniform(0.07, 0.14) + 0.08 * severity, rng.uniform(0.28, 0.5)),
        "subdural": (3 + 14 * severity, rng.uniform(0.12, 0.24), rng.uniform(0.55, 1.3)),
        "intraparenchymal": (4 + 22 * severity, 0.0, 0.0),
        "intraventricular": (0.08 + 0.9 * severity, rng.uniform(0.1, 0.18), 0.0),
        "subarachnoid": (0.4 + 0.6 * severity, rng.uniform(0.12, 0.28), 0.12 + 0.9 * severity * rng.uniform(0.6, 1.2)),
    }[subtype]
    if subtype == "intraparenchymal":
        extent = (size / 125) * rng.uniform(1.0, 1.5) + 0.03
    if rng.random() < 0.55:  # putamen and external capsule, the commonest site
        site = (side * rng.uniform(0.24, 0.32), rng.uniform(-0.15, 0.05))
    else:  # lobar, clear of the ventricles
        site = (side * rng.uniform(0.34, 0.6), rng.uniform(-0.55, 0.55))
    angle = _convexity_angle(rng, side, subtype)
    return Bleed(
        subtype=subtype, level=centre, extent=float(extent), severity=severity, stage=stage,
        density=float(low + (high - low) * rng.random()), angle=float(angle), spread=float(spread),
        size=float(size), site=site,
        lobes=(rng.uniform(0, 0.25, 6) / np.arange(1, 7) ** 1.2, rng.uniform(0, 2 * np.pi, 6)),
        oedema=float(rng.uniform(1, 6) * (0.3 + severity)), basal=bool(rng.random() < 0.4),
        fracture=bool(rng.random() < 0.6), swelling=float(rng.uniform(0, 9) * (rng.random() < 0.7)),
    )


def _convexity_angle(rng: np.random.Generator, side: float, subtype: str) -> float:
    """Epidurals sit mostly over the temporal and parietal convexity; others anywhere lateral."""
    base = 0.0 if side > 0 else np.pi
    return float(base + rng.normal(0, 0.45 if subtype == "epidural" else 0.7))


def cut(bleed: Bleed, level: float) -> float:
    """How much of the bleed shows at ``level``: 1 at its centre, 0 beyond its extent."""
    return presence(level, bleed.level - bleed.extent, bleed.level + bleed.extent)


def shows(bleed: Bleed, level: float) -> bool:
    """Whether a slice at ``level`` shows the bleed (decided without drawing)."""
    low, high = SAFE[bleed.subtype]
    return low <= level <= high and cut(bleed, level) >= MIN_CUT


def thickness_table(bleeds, level: float, px_per_mm: float) -> np.ndarray:
    """Thickness (pixels) of the extra-axial collections along each polar angle."""
    psi = np.linspace(-np.pi, np.pi, ANGLES, endpoint=False)
    out = np.zeros(ANGLES, np.float32)
    for bleed in bleeds:
        if bleed.subtype not in ("epidural", "subdural"):
            continue
        factor = cut(bleed, level)
        u = _turn(psi, bleed.angle) / (bleed.spread * (0.55 + 0.45 * factor))
        power = 0.5 if bleed.subtype == "epidural" else 0.3  # a lens convex to the brain; a flat crescent
        profile = np.clip(1 - u * u, 0, 1) ** power
        minimum = 2.5 if np.abs(u).min() < 1 else 0.0  # every bleed that shows is at least this thick
        thick = np.maximum(bleed.size * px_per_mm * factor, minimum) * profile
        out = np.maximum(out, thick.astype(np.float32))
    return out


def midline_shift(bleeds, level: float, px_per_mm: float) -> float:
    """Shift of the midline (pixels, + towards the patient's left) from the bleeds' mass."""
    shift = 0.0
    for bleed in bleeds:
        factor = cut(bleed, level)
        if bleed.subtype in ("epidural", "subdural"):
            mm = max(0.0, bleed.size * factor - 4) * (0.55 if bleed.stage != "chronic" else 0.7)
            direction = -np.cos(bleed.angle)
        elif bleed.subtype == "intraparenchymal":
            mm = max(0.0, bleed.size * factor + bleed.oedema - 8) * 0.45
            direction = -np.sign(bleed.site[0])
        else:
            continue
        shift += direction * min(mm, 15.0) * px_per_mm
    return float(shift)


def blob(bleed: Bleed, f: Frame, radius_px: float) -> np.ndarray:
    """The irregular, lobulated outline of an intraparenchymal bleed (or its oedema)."""
    out = np.zeros(f.x.shape, bool)
    amplitudes, phases = bleed.lobes
    win = f.window(*bleed.site, 1.6 * radius_px * (1 + amplitudes.sum()) / min(f.half_axes))
    dx = (f.x[win] - bleed.site[0]) * f.half_axes[0]
    dy = (f.y[win] - bleed.site[1]) * f.half_axes[1]
    theta = np.arctan2(dy, dx)
    outline = np.ones_like(theta)
    for k, (amp, phase) in enumerate(zip(amplitudes, phases), start=2):
        outline += np.float32(amp) * np.cos(k * theta + np.float32(phase))
    out[win] = dx * dx + dy * dy < (radius_px * outline) ** 2
    return out


def paint_bleeds(bleeds, f: Frame, t: np.ndarray, hu: np.ndarray, thickness: np.ndarray,
                 rng: np.random.Generator) -> np.ndarray:
    """Paint each bleed's blood into ``hu`` (and its oedema, fracture or scalp swelling); return the
    mask (0 none, 1..5 the subtypes in RSNA order). ``t`` is the tissue map drawn with the
    collections' ``thickness`` already pushing the brain in."""
    mask = np.zeros(t.shape, np.uint8)
    for bleed in sorted(bleeds, key=lambda b: ("epidural", "subdural", "subarachnoid",
                                                "intraparenchymal", "intraventricular").index(b.subtype)):
        blood = _DRAW[bleed.subtype](bleed, f, t, hu, thickness, rng) & (mask == 0)
        mask[blood] = CODES[bleed.subtype]
    return mask


def _extra_axial(bleed: Bleed, f: Frame, t, hu, thickness, rng) -> np.ndarray:
    """Epidural lens or subdural crescent between the inner table and the pushed-in brain."""
    own = thickness_table([bleed], f.level, f.px_per_mm)[f.psi]
    blood = (f.depth >= 0) & (f.depth < own) & (own > 0) & (t != Tissue.BONE)
    rows = np.nonzero(blood.any(axis=1))[0]
    hu[blood] = bleed.density
    if bleed.stage == "mixed" and len(rows):  # acute blood settles to the dependent side
        settled = blood & (np.arange(t.shape[0])[:, None] > rows[0] + 0.55 * (rows[-1] - rows[0]))
        hu[settled] = bleed.density + rng.uniform(30, 40)
    if bleed.stage == "hyperacute":  # swirl: unclotted blood mottling the clot
        n = int(blood.sum())
        hu[blood] -= 8 * (rng.random(n) < 0.35).astype(np.float32)
    if bleed.subtype == "epidural":
        if bleed.fracture:  # a lucent line through the vault over the bleed
            crack = (own > 0) & (np.abs(_turn(_angle(f), bleed.angle + 0.1 * bleed.spread)) < 0.01)
            hu[crack & (f.depth < 0) & (f.outer > 0)] = 30.0
        if bleed.swelling:  # a scalp haematoma over the fracture
            bulge = f.mm(bleed.swelling) * np.clip(1 - (_turn(_angle(f), bleed.angle) / bleed.spread) ** 2, 0, 1)
            lifted = (f.outer < 0) & (f.outer > -f.mm(5.0) - bulge) & (bulge > 0.5)
            hu[lifted] = np.maximum(hu[lifted], 45.0)
    return blood


def _turn(angle, reference):
    """Signed angle from ``reference`` to ``angle``, in -pi..pi."""
    return (angle - np.float32(reference) + np.float32(np.pi)) % np.float32(2 * np.pi) - np.float32(np.pi)


def _angle(f: Frame) -> np.ndarray:
    return f.psi.astype(np.float32) * np.float32(2 * np.pi / ANGLES) - np.float32(np.pi)


def _parenchymal(bleed: Bleed, f: Frame, t, hu, thickness, rng) -> np.ndarray:
    """An irregular, heterogeneous clot with a rim of oedema."""
    radius = max(f.mm(bleed.size) * cut(bleed, f.level), f.mm(2.5))
    parenchyma = np.isin(t, PARENCHYMA)
    rim = blob(bleed, f, radius + f.mm(bleed.oedema)) & parenchyma
    hu[rim] = np.minimum(hu[rim], hu[rim] - 4 - 1.5 * bleed.oedema)
    # the clot displaces the sulci and ventricle it grows into, leaving no CSF inside it
    blood = blob(bleed, f, radius) & (parenchyma | np.isin(t, (Tissue.CSF, Tissue.VENTRICLE))) & (f.depth > 0)
    rows, cols = np.nonzero(blood)
    if len(rows):
        hu[rows, cols] = bleed.density + CLOT_LUMPS_HU * clot_lumps(rng, rows, cols, f.mm(2.0))
        if bleed.stage == "hyperacute":
            hu[rows, cols] -= 6 * (rng.random(len(rows)) < 0.4)
    return blood


def clot_lumps(rng: np.random.Generator, rows: np.ndarray, cols: np.ndarray, scale_px: float) -> np.ndarray:
    """Smooth random variation of unit SD at pixels ``rows, cols``, lumps about ``scale_px`` across:
    a clot's uneven retraction, without the regular pattern of a few summed waves."""
    r0, c0 = rows.min(), cols.min()
    field = ndimage.gaussian_filter(rng.standard_normal((rows.max() - r0 + 1, cols.max() - c0 + 1)), scale_px)
    lumps = field[rows - r0, cols - c0]
    return ((lumps - lumps.mean()) / (lumps.std() + 1e-6)).astype(np.float32)


def _ventricular(bleed: Bleed, f: Frame, t, hu, thickness, rng) -> np.ndarray:
    """Blood layering in the dependent ventricles, with a level; a cast when the fill is large."""
    ventricle = t == Tissue.VENTRICLE
    back = ventricle & (f.y > 0)
    rows = np.nonzero((back if back.any() else ventricle).any(axis=1))[0]
    if len(rows) == 0:
        return ventricle
    if bleed.size > 0.9:
        blood = ventricle
    else:
        level_row = rows[-1] - max(2.0, bleed.size * (rows[-1] - rows[0]))
        blood = ventricle & (np.arange(t.shape[0])[:, None] > level_row) & (f.y > -0.1)
    hu[blood] = bleed.density
    return blood


def _subarachnoid(bleed: Bleed, f: Frame, t, hu, thickness, rng) -> np.ndarray:
    """Blood in the sulci and fissures of a sector, and in the basal cisterns, widening each cleft
    it fills by a pixel into the cortex beside it; none in the first millimetre under the inner
    table, where the bone's blur would hide it."""
    clear = f.depth > f.mm(BONE_SHADOW_MM)
    csf = (t == Tissue.CSF) & clear
    reach = bleed.spread * (0.5 + 0.5 * cut(bleed, f.level))
    sector = np.abs(_turn(_angle(f), bleed.angle)) < reach
    region = sector & (f.rho > 0.45)
    if bleed.basal and f.level < 0.45:
        region |= (np.abs(f.x) < 0.35) & (np.abs(f.y + 0.1) < 0.35)
    blood = csf & region
    blood |= ndimage.binary_dilation(blood) & region & clear & (t == Tissue.GREY)
    hu[blood] = bleed.density
    return blood


_DRAW = {"epidural": _extra_axial, "subdural": _extra_axial, "intraparenchymal": _parenchymal,
         "intraventricular": _ventricular, "subarachnoid": _subarachnoid}
