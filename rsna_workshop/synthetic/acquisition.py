"""What the scanner does to the clean slice: reconstruction kernel, noise, beam hardening, field of view.

Filtered back-projection leaves noise whose power spectrum rises with spatial frequency (the ramp
filter) and falls where the reconstruction kernel cuts it off: fine, grainy, correlated noise,
not independent pixels. The same kernel sets the sharpness of edges, so a sharper kernel gives
crisper edges and coarser noise. Both are applied in one pass in the Fourier domain. Dense bone
at the skull base hardens the beam: dark bands between the petrous bones and streaks fanning from
them. Each scanner (one per patient's series) has its own pixel spacing, kernel, dose and head
holder.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft

from .anatomy import SIZE, Frame, Tissue

_FY = np.fft.fftfreq(SIZE).astype(np.float32)[:, None]
_FX = np.fft.rfftfreq(SIZE).astype(np.float32)[None, :]
_FREQ = np.sqrt(_FX * _FX + _FY * _FY)  # cycles per pixel
_ROWS, _COLS = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
OUTSIDE_FOV = np.hypot(_ROWS - (SIZE - 1) / 2, _COLS - (SIZE - 1) / 2) > SIZE / 2
ROUTINE_NOISE = (2.5, 4.5)  # HU in brain: routine head CT dose and kernel
LOW_DOSE_NOISE = (4.5, 6.5)  # HU in brain: one scan in five, low dose
HARDENING_BELOW = 0.34  # beam-hardening artefacts on slices below this level (the skull base)


@dataclass(frozen=True)
class Scanner:
    """One scanner and protocol: how a series was acquired and reconstructed."""

    spacing: float  # pixel spacing, mm
    noise: float  # noise standard deviation in brain, HU
    kernel: float  # cut-off of the reconstruction kernel, cycles per pixel (0.3 soft .. 0.5 sharp)
    blur: float  # focal spot and detector blur, Gaussian sigma in pixels
    hardening: float  # strength of beam-hardening artefacts, HU
    holder: int  # head holder style, see :func:`~rsna_workshop.synthetic.skull.draw_holder`
    holder_gap: float  # mm between head and holder
    calibration: float  # HU the scanner adds to every tissue (water calibration drift)
    cupping: float  # HU by which the brain brightens from the centre to the inner table


def random_scanner(rng: np.random.Generator) -> Scanner:
    """Draw one scanner and protocol."""
    return Scanner(
        spacing=round(float(rng.uniform(0.4, 0.52)), 4),  # head at 55-75 % of the 512-pixel width
        noise=float(rng.choice([rng.uniform(*ROUTINE_NOISE), rng.uniform(*LOW_DOSE_NOISE)], p=[0.8, 0.2])),
        kernel=float(rng.uniform(0.28, 0.48)),  # soft to standard brain kernels
        blur=float(rng.uniform(0.45, 0.8)),
        hardening=float(rng.uniform(6, 22)),
        holder=int(rng.choice(5, p=[0.12, 0.35, 0.2, 0.13, 0.2])),
        holder_gap=float(rng.uniform(6, 25)),
        calibration=float(rng.normal(0, 4.0)),  # water within the usual +-4 HU tolerance
        cupping=float(rng.uniform(0, 4)),
    )


def acquire(hu: np.ndarray, tissue: np.ndarray, f: Frame, scanner: Scanner, rng: np.random.Generator) -> np.ndarray:
    """The reconstructed slice: kernel blur and FBP noise, beam hardening, outside the field of view."""
    body = tissue != Tissue.AIR
    hu = hu + np.where(body, np.float32(scanner.calibration) + np.float32(scanner.cupping) * np.minimum(f.rho, 1) ** 2, 0)
    if f.level < HARDENING_BELOW:
        hu += _hardening(tissue, f, scanner, rng)
    window = np.where(_FREQ < scanner.kernel, 0.5 + 0.5 * np.cos(np.pi * _FREQ / scanner.kernel), 0).astype(np.float32)
    mtf = window * np.exp(-2 * (np.pi * scanner.blur) ** 2 * _FREQ * _FREQ).astype(np.float32)
    nps = np.sqrt(_FREQ) * window  # amplitude: the ramp's square root times the kernel
    white = rng.standard_normal((SIZE, SIZE // 2 + 1, 2), dtype=np.float32).view(np.complex64)[..., 0]
    scale = scanner.noise * SIZE * SIZE / (2 * np.sqrt(float(np.sum(nps * nps))))  # irfft2 sums each twice
    spectrum = scipy.fft.rfft2(hu) * mtf + white * (nps * np.float32(scale))
    out = scipy.fft.irfft2(spectrum, s=hu.shape).astype(np.float32)
    out[OUTSIDE_FOV] = -1000.0  # air: the reader maps padding there too
    return out


def _hardening(tissue: np.ndarray, f: Frame, scanner: Scanner, rng: np.random.Generator) -> np.ndarray:
    """Dark band between the petrous bones and streaks fanning out from dense bone."""
    strength = np.float32(scanner.hardening * (HARDENING_BELOW - f.level) / HARDENING_BELOW)
    band_y = np.float32(0.12 + 0.05 * rng.standard_normal())
    across = (f.y - band_y) / np.float32(0.06)
    band = np.exp(-across * across) * (np.abs(f.x) < 0.55)
    angle = np.arctan2(f.y - band_y, f.x)
    rays = np.cos(np.float32(rng.integers(14, 30)) * angle + np.float32(rng.uniform(0, 6.3)))
    rays *= rays
    rays *= rays
    rays *= rays  # cos^8: narrow rays, of uneven strength (each follows one dense bone path)
    rays *= np.float32(0.5) + np.sin(np.float32(rng.integers(3, 7)) * angle + np.float32(rng.uniform(0, 6.3))) ** 2
    inside = (f.depth > 0) & (tissue != Tissue.AIR)
    return np.where(inside, strength * (np.float32(0.3) * rays - np.float32(0.08) - np.float32(1.4) * band), 0)
