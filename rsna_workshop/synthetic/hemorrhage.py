"""The five RSNA hemorrhage subtypes: where they sit, their shapes and their densities.

A :class:`Bleed` is planned once per patient (site, size, density, the levels it spans) and then
cut at every slice, so contiguous slices show the same bleed growing and shrinking.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ct.rsna import SUBTYPES
from ..errors import SettingsError
from .anatomy import ANGLES, Frame, Tissue, presence

PARENCHYMA = (Tissue.WHITE, Tissue.GREY, Tissue.DEEP_GREY, Tissue.CSF)
CODES = {name: i + 1 for i, name in enumerate(SUBTYPES)}  # mask values, RSNA order

# Difficulty: most bleeds are small or thin and near grey matter in density; a minority are obvious.
SEVERITY_BETA = (1.0, 3.5)  # severity in 0..1 drawn from this Beta; scales size and density
DENSITY = {  # acute blood, HU at severity 0 and at severity 1: mostly just above grey matter
    "epidural": (54, 80),
    "intraparenchymal": (54, 82),
    "intraventricular": (52, 72),
    "subarachnoid": (50, 64),
    "subdural": (52, 74),
}
LEVELS = {  # levels where each subtype's centre may sit
    "epidural": (0.3, 0.9),
    "intraparenchymal": (0.35, 0.85),
    "intraventricular": (0.48, 0.66),
    "subarachnoid": (0.3, 0.85),
    "subdural": (0.3, 0.92),
}


@dataclass(frozen=True)
class Bleed:
    """One hemorrhage of one patient."""

    subtype: str
    level: float  # level of its largest cut
    extent: float  # it shows within level +- extent
    severity: float
    density: float  # HU
    angle: float  # polar angle of its site (convexity bleeds)
    spread: float  # angular half width, radians
    size: float  # thickness or radius at severity and full cut, pixels
    site: tuple[float, float]  # normalised centre (intraparenchymal)
    lobes: tuple  # outline bumps (intraparenchymal): (amplitudes, phases)
    oedema: float  # width of the low-density rim, pixels


def plan_bleed(subtype: str, rng: np.random.Generator, level: float | None = None) -> Bleed:
    """Draw one bleed of ``subtype``, centred at ``level`` (drawn from its typical levels if None)."""
    if subtype not in CODES:
        raise SettingsError(f"Unknown hemorrhage subtype {subtype!r}; choose from {', '.join(SUBTYPES)}.")
    severity = float(rng.beta(*SEVERITY_BETA))
    low, high = DENSITY[subtype]
    lo_level, hi_level = LEVELS[subtype]
    level = float(rng.uniform(lo_level, hi_level)) if level is None else float(level)
    lateral = rng.choice([-1, 1])
    size = {
        "epidural": 5 + 28 * severity,
        "subdural": 2.5 + 16 * severity,
        "intraparenchymal": 4 + 34 * severity,
        "intraventricular": 0.15 + 0.85 * severity,  # fraction of the ventricle filled
        "subarachnoid": 0.3 + 0.7 * severity,  # fraction of sulci in its sector filled
    }[subtype]
    if level < 0.52 and rng.random() < 0.6:
        site = (lateral * rng.uniform(0.18, 0.32), rng.uniform(-0.15, 0.1))  # basal ganglia
    else:
        site = (lateral * rng.uniform(0.2, 0.55), rng.uniform(-0.55, 0.55))  # lobar
    return Bleed(
        subtype=subtype,
        level=level,
        extent=float(rng.uniform(0.14, 0.26)),
        severity=severity,
        density=float(low + (high - low) * np.clip(severity + rng.normal(0, 0.15), 0, 1)),
        angle=float(rng.uniform(-np.pi, np.pi)) if subtype != "epidural" else _temporal_angle(rng, lateral),
        spread={"epidural": rng.uniform(0.25, 0.5), "subdural": rng.uniform(0.5, 1.3)}.get(
            subtype, rng.uniform(0.4, 1.2)
        ),
        size=float(size),
        site=site,
        lobes=(rng.uniform(0, 0.3, 5) / np.arange(1, 6) ** 0.5, rng.uniform(0, 2 * np.pi, 5)),
        oedema=float(rng.uniform(0, 6) * severity),
    )


def _temporal_angle(rng, lateral) -> float:
    """Epidurals sit mostly over the temporal and parietal convexity."""
    base = 0.0 if lateral > 0 else np.pi
    return float(base + rng.normal(0, 0.5))


def cut(bleed: Bleed, level: float) -> float:
    """How much of the bleed shows at ``level``: 1 at its centre, 0 beyond its extent."""
    return presence(level, bleed.level - bleed.extent, bleed.level + bleed.extent)


def draw_bleed(bleed: Bleed, frame: Frame, tissue: np.ndarray, level: float) -> np.ndarray:
    """Boolean mask of the bleed in this slice (empty when the slice misses it)."""
    factor = cut(bleed, level)
    if factor < 0.2:
        return np.zeros(tissue.shape, bool)
    brain = frame.depth > 0
    if bleed.subtype in ("epidural", "subdural"):
        psi = frame.psi.astype(np.float32) * (2 * np.pi / ANGLES) - np.pi
        u = np.angle(np.exp(1j * (psi - bleed.angle))) / (bleed.spread * (0.5 + 0.5 * factor))
        inside = np.abs(u) < 1
        power = 0.6 if bleed.subtype == "epidural" else 0.25
        thickness = bleed.size * factor * np.clip(1 - u * u, 0, 1) ** power
        return inside & brain & (frame.depth < thickness) & (tissue != Tissue.DENSE)
    if bleed.subtype == "intraparenchymal":
        return _blob(bleed, frame, bleed.size * factor) & brain & np.isin(tissue, PARENCHYMA)
    if bleed.subtype == "intraventricular":
        ventricle = tissue == Tissue.VENTRICLE
        if not ventricle.any():
            return ventricle
        y = frame.y[ventricle]
        top, bottom = y.min(), y.max()
        return ventricle & (frame.y > bottom - bleed.size * (bottom - top))  # layers posteriorly
    # subarachnoid: the CSF of sulci and cisterns within a sector, or the basal cisterns
    psi = frame.psi.astype(np.float32) * (2 * np.pi / ANGLES) - np.pi
    sector = np.abs(np.angle(np.exp(1j * (psi - bleed.angle)))) < bleed.spread * factor
    basal = (np.abs(frame.x) < 0.3) & (np.abs(frame.y) < 0.3) & (level < 0.5)
    return (tissue == Tissue.CSF) & brain & (sector | basal) & (frame.depth > 1.0)


def _blob(bleed: Bleed, frame: Frame, radius_px: float) -> np.ndarray:
    """An irregular blob around the bleed's site."""
    out = np.zeros(frame.x.shape, bool)
    amplitudes, phases = bleed.lobes
    win = frame.window(*bleed.site, frame.px_to_norm(radius_px * (1 + amplitudes.sum())) * 1.5)
    cx, cy = bleed.site
    dx = (frame.x[win] - cx) * frame.half_axes[0]
    dy = (frame.y[win] - cy) * frame.half_axes[1]
    theta = np.arctan2(dy, dx)
    outline = np.ones_like(theta)
    for k, (amp, phase) in enumerate(zip(amplitudes, phases), start=2):
        outline += amp * np.cos(k * theta + phase)
    out[win] = dx * dx + dy * dy < (radius_px * outline) ** 2
    return out


def oedema_rim(bleed: Bleed, frame: Frame, level: float) -> np.ndarray:
    """The low-density rim around an intraparenchymal bleed (empty for others)."""
    if bleed.subtype != "intraparenchymal" or bleed.oedema < 1:
        return np.zeros(frame.x.shape, bool)
    factor = cut(bleed, level)
    return _blob(bleed, frame, bleed.size * factor + bleed.oedema) & (frame.depth > 0)
