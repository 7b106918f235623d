"""CT display windows: which Hounsfield units the 256 grey levels of a picture show."""

from __future__ import annotations

import numpy as np

from ..errors import SettingsError

WINDOWS: dict[str, tuple[float, float]] = {
    "brain": (40.0, 80.0),
    "subdural": (80.0, 200.0),
    "stroke": (40.0, 40.0),
    "bone": (600.0, 2800.0),
    "soft_tissue": (40.0, 350.0),
}
"""Named display windows as (center, width) in HU.

``brain`` 40/80 shows 0-80 HU: grey matter, white matter and fresh blood. ``subdural`` 80/200 widens
that so a thin bright collection stays distinct from the bright inner table of the skull. ``stroke``
40/40 (20-60 HU) stretches the few HU between grey and white matter to show early ischaemic
grey-white blurring; we chose it over the narrower 32/8 that some sites use, because an 8 HU wide
window turns ordinary image noise and small calibration differences between scanners into
black-and-white speckle. ``bone`` 600/2800 shows fractures and ``soft_tissue`` 40/350 the scalp and
the soft tissues of the face and neck.
"""


def window(hu: np.ndarray, window: str | tuple[float, float] = "brain") -> np.ndarray:
    """Map HU to 0-255 gray levels through a display window.

    ``center - width / 2`` and below is black (0), ``center + width / 2`` and above white (255),
    linear in between, rounded to the nearest level.

    Parameters
    ----------
    hu : ndarray, 2-D
        Hounsfield units.
    window : str or (center, width)
        A name from :data:`WINDOWS`, or any centre and width in HU (for example a file's own
        ``CTSlice.window``).

    Returns
    -------
    ndarray of uint8, same shape as ``hu``

    Example
    -------
    >>> window(np.array([[0.0, 40.0, 80.0]]), "brain")
    array([[  0, 128, 255]], dtype=uint8)
    """
    return gray_levels(hu, *resolve_window(window))


def gray_levels(hu: np.ndarray, center: float, width: float) -> np.ndarray:
    """:func:`window` for a centre and width already checked (the fast inner step)."""
    scale = np.float32(255.0 / width)
    levels = (np.asarray(hu, np.float32) - np.float32(center - width / 2)) * scale
    np.clip(levels, 0, 255, out=levels)
    levels += 0.5
    return levels.astype(np.uint8)


def resolve_window(window: str | tuple[float, float]) -> tuple[float, float]:
    """The (center, width) of a window name or pair; a clear error for anything else."""
    if isinstance(window, str):
        try:
            return WINDOWS[window]
        except KeyError:
            raise SettingsError(f"unknown window {window!r}; choose one of {sorted(WINDOWS)} "
                                "or give (center, width) in HU") from None
    try:
        center, width = (float(v) for v in window)
    except (TypeError, ValueError):
        raise SettingsError(f"a window is a name or (center, width) in HU, not {window!r}") from None
    if not width > 0:
        raise SettingsError(f"a window's width must be positive, got {width}")
    return center, width


def multi_window(hu: np.ndarray) -> np.ndarray:
    """Brain, subdural and bone windows as the red, green and blue channels: (H, W, 3) uint8."""
    return np.dstack(multi_window_planes(hu))


def multi_window_planes(hu: np.ndarray) -> list[np.ndarray]:
    """The brain, subdural and bone windows of ``hu``, as three uint8 planes."""
    return [window(hu, name) for name in ("brain", "subdural", "bone")]
