"""Painting blood red: the pixels whose Hounsfield units fall in the range of fresh blood.

This is the original workshop's preprocessing idea: a radiologist's rule (acute blood measures
about 50-90 HU) put into the picture, so that the model does not have to learn it.

>>> color_code(np.array([[40.0, 70.0]]))
array([[[128, 128, 128],
        [255,   0,   0]]], dtype=uint8)
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..errors import SettingsError
from .windows import gray_levels, resolve_window

BLOOD_HU: tuple[float, float] = (50.0, 90.0)
"""The default Hounsfield-unit range painted red as acute blood (both ends included).

Fresh clotted blood measures about 50-90 HU, rising with the haematocrit as the clot retracts. The
lower bound sits above grey matter (about 35-45 HU) and white matter (about 20-30 HU), so normal
brain is not painted; the upper bound sits below calcification and bone (above 100 HU). The range
is a teaching aid, not a diagnosis: hyperacute, anaemic or old blood can be darker, and the skull's
partial-volume rim falls in it too (see :func:`skull_interior`).
"""

BONE_HU = 150.0
"""Pixels above this are bone for :func:`skull_interior`.

Cortical bone measures several hundred to over 1000 HU, and nothing else in an unenhanced head CT
passes 150 HU except calcifications; at 150 HU, most of the blurred edge of the skull counts as bone.
"""

SKULL_MARGIN_PX = 1
"""Pixels next to bone left out of :func:`skull_interior`: the partial-volume rim of the inner table.

With bone above :data:`BONE_HU`, the blood-range part of the blurred edge lies within a pixel of it.
Measured on the built-in generator (12 normal and 12 extra-axial-bleed slices), a 1-pixel margin
leaves 4% of the blood-range pixels near bone painted and keeps 87% of the blood of subdural,
epidural and subarachnoid bleeds; 2 pixels leave 3% but keep only 72%, because those bleeds lie
against the skull.
Thick slices cut the skull obliquely near the vertex and widen the rim: raise the margin there.
"""

SKULL_GAP_PX = 24
"""Gaps in the skull up to about this wide (pixels) are bridged by :func:`skull_interior`."""

OUTLINE_RGB = (0, 114, 178)
"""The blue (Okabe-Ito palette) of :func:`outline_blood`, for viewers who cannot tell red from gray."""


def skull_interior(hu: np.ndarray, margin: int = SKULL_MARGIN_PX, bone_hu: float = BONE_HU,
                   gap: int = SKULL_GAP_PX) -> np.ndarray:
    """Mask of the pixels enclosed by the skull and more than ``margin`` pixels away from bone.

    Bone is everything above ``bone_hu``. The interior is what the skull cuts off from the image
    border once gaps up to about ``gap`` pixels wide are bridged (sinuses and foramina at the skull
    base, sutures), less the pixels within ``margin`` pixels of bone: the rim just inside the inner
    table, where partial-volume averaging of bone and brain gives blood-like HU. A slice without a
    closed skull (above the vertex, a wide craniectomy) has an empty interior.

    Gaps are bridged by a morphological closing on 2 x 2 blocks, which keeps this cheap (about two
    milliseconds for 512 x 512); a brain region narrower than ``gap`` joined to the rest only through
    a gap narrower than ``gap`` may be left out.

    Returns
    -------
    ndarray of bool, same shape as ``hu``

    Example
    -------
    >>> hu = np.full((24, 24), 35.0)
    >>> hu[2, 2:22] = hu[21, 2:22] = hu[2:22, 2] = hu[2:22, 21] = 1000.0     # a square skull
    >>> skull_interior(hu, margin=1, gap=2)[[1, 3, 4, 12], 12]             # outside, rim, inside
    array([False, False,  True,  True])
    """
    bone = np.asarray(hu) > bone_hu
    height, width = bone.shape
    padded = np.pad(bone, ((0, height % 2), (0, width % 2))) if height % 2 or width % 2 else bone
    bone_blocks = padded[::2, ::2] | padded[1::2, ::2] | padded[::2, 1::2] | padded[1::2, 1::2]
    reach = (gap + 3) // 4  # closing radius in blocks: bridges gaps of 4 * reach pixels
    regions, count = ndimage.label(~_dilate(bone_blocks, reach))
    enclosed = np.ones(count + 1, bool)
    enclosed[0] = False  # label 0: the thickened bone
    enclosed[np.concatenate([regions[0], regions[-1], regions[:, 0], regions[:, -1]])] = False
    filled = _dilate(enclosed[regions], reach + 1)  # back up to the bone blocks, so margin=0 is exact
    inside = filled.repeat(2, axis=0).repeat(2, axis=1)[:height, :width]
    return inside & ~_dilate(bone, margin)


def _dilate(mask: np.ndarray, pixels: int) -> np.ndarray:
    """``mask`` grown by ``pixels`` in every direction (a square structuring element).

    Each axis grows in steps that at most double the reach (1, 3, 9 ... pixels), so a radius
    of ``r`` costs about log3(r) passes instead of ``r``. Steps longer than one pixel would lose
    reach at the image border, hence the padding.
    """
    pad = pixels if pixels > 1 else 0
    grown = np.pad(mask, pad) if pad else mask.copy()
    for axis in (0, 1):
        reach = 0
        while reach < pixels:
            step = min(2 * reach + 1, pixels - reach)
            source = grown.copy()
            ahead, behind = [slice(None)] * 2, [slice(None)] * 2
            ahead[axis], behind[axis] = slice(step, None), slice(None, -step)
            grown[tuple(ahead)] |= source[tuple(behind)]
            grown[tuple(behind)] |= source[tuple(ahead)]
            reach += step
    return grown[pad:grown.shape[0] - pad, pad:grown.shape[1] - pad]


def color_code(
    hu: np.ndarray,
    blood_hu: tuple[float, float] = BLOOD_HU,
    opacity: float = 1.0,
    inside_skull: bool = False,
    window: str | tuple[float, float] = "brain",
    painted: np.ndarray | None = None,
) -> np.ndarray:
    """The windowed grayscale image with the pixels in the blood HU range painted red.

    Parameters
    ----------
    hu : ndarray, 2-D
        Hounsfield units.
    blood_hu : (low, high)
        HU range painted red, both ends included; see :data:`BLOOD_HU` for the default.
    opacity : float in [0, 1]
        1 paints pure red (255, 0, 0); 0.5 blends red half-and-half with the gray level.
    inside_skull : bool
        Paint only inside :func:`skull_interior`, not the partial-volume rim of the skull.
    window : str or (center, width)
        The grayscale window (brain by default).
    painted : ndarray of bool, optional
        The pixels to paint, when already known (:func:`blood_pixels`, or a ground-truth bleed);
        ``blood_hu`` and ``inside_skull`` are then not used.

    Returns
    -------
    ndarray of uint8, shape (H, W, 3)

    Example
    -------
    >>> color_code(np.array([[40.0, 70.0]]))
    array([[[128, 128, 128],
            [255,   0,   0]]], dtype=uint8)
    """
    red, green_blue = color_planes(hu, blood_hu, opacity, inside_skull, window, painted)
    return np.dstack([red, green_blue, green_blue])


def color_planes(hu, blood_hu, opacity, inside_skull, window,
                 painted: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The red plane and the (equal) green and blue plane of :func:`color_code`.

    ``painted``, a boolean mask, replaces the HU rule (a ground-truth bleed, say).
    """
    check_opacity(opacity)
    hu = np.asarray(hu)
    gray = gray_levels(hu, *resolve_window(window))
    if painted is None:
        painted = blood_pixels(hu, blood_hu, inside_skull)
    kept = np.arange(256, dtype=np.float32) * np.float32(1 - opacity)
    red_lut = np.floor(kept + np.float32(255 * opacity) + 0.5).astype(np.uint8)
    dark_lut = np.floor(kept + 0.5).astype(np.uint8)
    under = gray[painted]
    red, green_blue = gray.copy(), gray.copy()
    red[painted] = red_lut[under]
    green_blue[painted] = dark_lut[under]
    return red, green_blue


def blood_pixels(hu: np.ndarray, blood_hu=BLOOD_HU, inside_skull: bool = False) -> np.ndarray:
    """Boolean mask of the pixels :func:`color_code` paints."""
    low, high = check_blood_range(blood_hu)
    hu = np.asarray(hu)
    painted = (hu >= low) & (hu <= high)
    return painted & skull_interior(hu) if inside_skull else painted


def outline_blood(hu: np.ndarray, painted: np.ndarray, window="brain") -> np.ndarray:
    """The windowed slice with the edge of the ``painted`` pixels (:func:`blood_pixels`) drawn in
    :data:`OUTLINE_RGB`.

    For human eyes only (the model sees :func:`color_code`): an outline in a blue that differs
    from every gray level in brightness stays visible to colour-blind viewers, for whom red paint
    on gray tissue can look like a darker gray.

    Example
    -------
    >>> hu = np.full((5, 5), 20.0); hu[1:4, 1:4] = 70.0
    >>> int((outline_blood(hu, blood_pixels(hu))[..., 2] == OUTLINE_RGB[2]).sum())
    25
    """
    edge = painted & ~_eroded(painted)
    rgb = np.repeat(gray_levels(np.asarray(hu), *resolve_window(window))[..., None], 3, axis=2)
    rgb[_dilate(edge, 1)] = OUTLINE_RGB
    return rgb


def _eroded(mask: np.ndarray) -> np.ndarray:
    """``mask`` less its pixels that touch a pixel outside it (any of the 8 neighbours)."""
    return ~_dilate(~mask, 1)


def check_blood_range(blood_hu) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in blood_hu)
    except (TypeError, ValueError):
        raise SettingsError(f"blood_hu is a (low, high) pair of HU, not {blood_hu!r}") from None
    if not low < high:
        raise SettingsError(f"blood_hu must have low < high, got {blood_hu!r}")
    return low, high


def check_opacity(opacity: float) -> None:
    if not 0 <= opacity <= 1:
        raise SettingsError(f"opacity must lie between 0 and 1, got {opacity!r}")
