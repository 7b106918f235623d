"""Outside the brain: scalp, temporalis muscles, the skull vault with its diploe, sutures and frontal
sinus, the venous sinuses along the inner table, and the scanner's head holder."""

from __future__ import annotations

import numpy as np

from .anatomy import SIZE, Frame, PatientHead, Tissue, ellipse, paint, presence

_ROWS, _COLS = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)


def draw_vault(head: PatientHead, f: Frame, t: np.ndarray, offset: np.ndarray, rng: np.random.Generator):
    """Scalp, temporalis, skull tables and diploe, sutures, frontal sinus and venous sinuses."""
    scalp = f.mm(head.scalp)
    paint(t, f.outer > -scalp, Tissue.SOFT)
    paint(t, (f.outer > -0.65 * scalp) & (f.outer < -0.3 * scalp), Tissue.FAT)
    level_front = f.local(0, -1)
    temporal = presence(f.local(1, -0.2), 0.0, 0.6)
    if temporal > 0:  # the temporalis muscle fans out over the temporal squama
        side_weight = np.clip(np.abs(f.x) - 0.6, 0, 0.3) * np.clip(0.25 - f.y, 0, 0.6)
        thick = f.mm(5.0) * temporal * side_weight / 0.18
        paint(t, (f.outer > -0.3 * scalp - thick) & (f.outer < -0.3 * scalp) & (thick > 1), Tissue.MUSCLE)
    bone = (f.outer > 0) & (f.depth < 0)
    paint(t, bone, Tissue.BONE)
    tables = np.minimum(f.outer, -f.depth) / np.maximum(f.skull, 1)  # 0 at a surface, 0.5 mid-bone
    diploe = bone & (tables > 0.28) & (f.skull > f.mm(3.5))
    paint(t, diploe, Tissue.DIPLOE)
    offset[diploe] += 120 * rng.standard_normal(int(diploe.sum()), dtype=np.float32)
    _sutures(head, f, t, bone, rng)
    if head.frontal_sinus and level_front < 0.42:
        p = presence(level_front, 0.16, 0.4) * head.frontal_sinus
        for side in (-1, 1):
            lobe = ellipse(f, side * 0.1 * p + head.septum_offset * 0.3, -0.96, 0.12 * p, 0.045 * p + 0.01)
            paint(t, lobe & (f.outer > f.mm(1.2)) & (f.depth < -f.mm(1.2)), Tissue.AIR)
    if f.level > 0.3:  # superior sagittal sinus: a dense triangle against the inner table, front and back
        half = f.norm(4.5) * np.clip(1 - (f.depth / f.mm(6.0)), 0, 1)
        sinus = (np.abs(f.x) < half) & (f.depth > 0) & (np.abs(f.y) > 0.75)
        paint(t, sinus, Tissue.DENSE)
    transverse = presence(f.local(0, 1), 0.12, 0.4)
    if transverse > 0:  # transverse sinuses along the occipital inner table
        band = (f.depth > 0) & (f.depth < f.mm(5.0) * transverse) & (f.y > 0.55) & (np.abs(f.x) > 0.15)
        paint(t, band, Tissue.DENSE)


def _sutures(head: PatientHead, f: Frame, t: np.ndarray, bone: np.ndarray, rng: np.random.Generator):
    """Coronal, lambdoid and sagittal sutures: thin zigzag lucencies across the vault."""
    if head.age > 75 and rng.random() < 0.5:
        return  # fused
    sites = []
    if f.level > 0.45:
        sites += [-np.pi / 2 - 0.9, -np.pi / 2 + 0.9]  # coronal
    if 0.25 < f.level < 0.75:
        sites += [np.pi / 2 - 0.75, np.pi / 2 + 0.75]  # lambdoid
    if f.level > 0.8:
        sites += [-np.pi / 2, np.pi / 2]  # sagittal
    if not sites:
        return
    rows, cols = np.nonzero(bone)
    psi = f.psi[rows, cols].astype(np.float32) * np.float32(2 * np.pi / len(head.shape)) - np.float32(np.pi)
    radius = f.rho[rows, cols] * np.float32(0.5 * (f.half_axes[0] + f.half_axes[1]))
    zigzag = np.sin(f.outer[rows, cols] * np.float32(1.7)) * np.float32(1.3)
    for site in sites:
        across = ((psi - np.float32(site) + np.float32(np.pi)) % np.float32(2 * np.pi) - np.float32(np.pi)) * radius
        gap = np.abs(across + zigzag) < 0.6
        t[rows[gap], cols[gap]] = Tissue.SOFT


def draw_holder(f: Frame, t: np.ndarray, style: int, gap_mm: float):
    """The head holder behind the head (fixed to the table, so drawn in image coordinates): 0 none
    visible, 1 a shallow cradle, 2 a deep cradle, 3 a double shell, 4 a cradle with straight sides;
    styles 2 and 4 sit on the table top, which shows at the bottom of the field of view."""
    if style == 0:
        return
    back = float(np.max(_ROWS[t != Tissue.AIR])) if (t != Tissue.AIR).any() else SIZE * 0.8
    cx = f.center[0]
    radius = 0.5 * (f.half_axes[0] + f.half_axes[1]) * 1.05 + f.mm(gap_mm)
    cy = back + f.mm(gap_mm) - radius
    r = np.hypot(_COLS - cx, _ROWS - cy)
    below = _ROWS > cy + (0.15 if style == 1 else -0.2) * radius
    shell = (np.abs(r - radius) < f.mm(1.4)) & below
    if style == 4:  # straight side walls rising from the cradle
        shell |= (np.abs(np.abs(_COLS - cx) - radius) < f.mm(1.4)) & (_ROWS > cy - 0.6 * radius) & (_ROWS <= cy)
    paint(t, (r < radius - f.mm(1.4)) & below & (t == Tissue.AIR), Tissue.PAD)
    paint(t, shell, Tissue.HOLDER)
    if style == 3:  # a second, outer shell
        paint(t, (np.abs(r - radius - f.mm(9)) < f.mm(1.0)) & below, Tissue.HOLDER)
    if style in (2, 4):  # the table top under the holder
        top = cy + radius + f.mm(12)
        paint(t, (_ROWS > top) & (_ROWS < top + f.mm(8)) & (np.abs(_COLS - cx) < 1.6 * radius), Tissue.HOLDER)
