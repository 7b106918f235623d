"""From Hounsfield units to pictures: CT windows, red hemorrhage colour-coding, model-ready images.

Every function takes a float 2-D array of Hounsfield units (HU), as :func:`rsna_workshop.dicom.read_ct`
gives, and returns uint8 images. :class:`Preprocess` chains them into the ``(224, 224, 3)`` RGB image
that Teachable Machine's model sees, and :func:`load_image` does the same for a file or its bytes.

Example
-------
>>> hu = np.full((512, 512), 35.0, np.float32)          # grey matter everywhere
>>> window(hu, "brain")[0, 0]                            # 35 HU in a 40/80 window
np.uint8(112)
>>> Preprocess(color_code=True)(hu).shape
(224, 224, 3)
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from scipy import ndimage

from rsna_workshop import dicom
from rsna_workshop.weights import IMAGE_SIZE

MODEL_SIZE = IMAGE_SIZE
"""Teachable Machine's image models take 224 x 224 RGB images (the backbone's input size)."""

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
    return _gray(hu, *resolve_window(window))


def _gray(hu: np.ndarray, center: float, width: float) -> np.ndarray:
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
            raise ValueError(f"unknown window {window!r}; choose one of {sorted(WINDOWS)} "
                             "or give (center, width) in HU") from None
    try:
        center, width = (float(v) for v in window)
    except (TypeError, ValueError):
        raise ValueError(f"a window is a name or (center, width) in HU, not {window!r}") from None
    if not width > 0:
        raise ValueError(f"a window's width must be positive, got {width}")
    return center, width


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

    Returns
    -------
    ndarray of uint8, shape (H, W, 3)

    Example
    -------
    >>> color_code(np.array([[40.0, 70.0]]))
    array([[[128, 128, 128],
            [255,   0,   0]]], dtype=uint8)
    """
    red, green_blue = _color_planes(hu, blood_hu, opacity, inside_skull, window)
    return np.dstack([red, green_blue, green_blue])


def _color_planes(hu, blood_hu, opacity, inside_skull, window) -> tuple[np.ndarray, np.ndarray]:
    """The red plane and the (equal) green and blue plane of :func:`color_code`."""
    low, high = _check_blood_range(blood_hu)
    _check_opacity(opacity)
    hu = np.asarray(hu)
    gray = _gray(hu, *resolve_window(window))
    painted = (hu >= low) & (hu <= high)
    if inside_skull:
        painted &= skull_interior(hu)
    kept = np.arange(256, dtype=np.float32) * np.float32(1 - opacity)
    red_lut = np.floor(kept + np.float32(255 * opacity) + 0.5).astype(np.uint8)
    dark_lut = np.floor(kept + 0.5).astype(np.uint8)
    under = gray[painted]
    red, green_blue = gray.copy(), gray.copy()
    red[painted] = red_lut[under]
    green_blue[painted] = dark_lut[under]
    return red, green_blue


def multi_window(hu: np.ndarray) -> np.ndarray:
    """Brain, subdural and bone windows as the red, green and blue channels: (H, W, 3) uint8."""
    return np.dstack(_multi_window_planes(hu))


def _multi_window_planes(hu: np.ndarray) -> list[np.ndarray]:
    return [window(hu, name) for name in ("brain", "subdural", "bone")]


def square_crop(image: np.ndarray) -> np.ndarray:
    """The centred square of an image (2-D or H x W x C), as Teachable Machine crops its inputs.

    For a non-square image the longer side is cut equally at both ends (one pixel more at the end
    when the difference is odd). We crop rather than pad because Teachable Machine crops, and a
    model trained on padded images would meet black bars that its users' images do not have;
    a head CT is centred in its field of view, so the crop loses only air.

    Example
    -------
    >>> square_crop(np.zeros((512, 640))).shape
    (512, 512)
    """
    height, width = image.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    return image[top:top + side, left:left + side]


def to_model_size(image: np.ndarray, size: int = MODEL_SIZE) -> np.ndarray:
    """Centre-crop a uint8 image (2-D or H x W x 3) to a square, resize to ``size`` x ``size`` RGB.

    Resizing is antialiased: Pillow's bilinear filter widens with the reduction factor, so shrinking
    averages every source pixel instead of skipping some (no aliasing of fine bone edges).
    """
    image = np.asarray(image)
    planes = [image] * 3 if image.ndim == 2 else [image[:, :, channel] for channel in range(3)]
    return _model_rgb(planes, size)


def _model_rgb(planes: list[np.ndarray], size: int = MODEL_SIZE) -> np.ndarray:
    """Stack three uint8 planes, each square-cropped and resized, as (size, size, 3) RGB.

    Working plane by plane is faster than resizing an RGB image, and a plane repeated (the same
    object) is resized once.
    """
    rgb = np.empty((size, size, 3), np.uint8)
    done: dict[int, np.ndarray] = {}
    for channel, plane in enumerate(planes):
        if id(plane) not in done:
            square = np.ascontiguousarray(square_crop(plane), np.uint8)
            if square.shape != (size, size):
                square = np.asarray(Image.fromarray(square).resize((size, size), Image.Resampling.BILINEAR))
            done[id(plane)] = square
        rgb[:, :, channel] = done[id(plane)]
    return rgb


def _check_blood_range(blood_hu) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in blood_hu)
    except (TypeError, ValueError):
        raise ValueError(f"blood_hu is a (low, high) pair of HU, not {blood_hu!r}") from None
    if not low < high:
        raise ValueError(f"blood_hu must have low < high, got {blood_hu!r}")
    return low, high


def _check_opacity(opacity: float) -> None:
    if not 0 <= opacity <= 1:
        raise ValueError(f"opacity must lie between 0 and 1, got {opacity!r}")


def _num(value: float) -> str:
    """40.0 -> '40', 0.5 -> '0.5'."""
    return f"{value:g}"


@dataclass(frozen=True)
class Preprocess:
    """How a CT slice in HU becomes the (224, 224, 3) uint8 RGB image the model sees.

    Parameters
    ----------
    window : str or (center, width)
        Grayscale window: a name from :data:`WINDOWS`, a (center, width) pair, or ``"file"`` for the
        window stored in the DICOM (the brain window when the file has none).
    color_code : bool
        Paint the pixels in ``blood_hu`` red (see :func:`color_code`).
    inside_skull : bool
        With ``color_code``, paint only inside the skull (see :func:`skull_interior`).
    blood_hu : (low, high)
        HU range painted red.
    opacity : float in [0, 1]
        Opacity of the red paint.
    multi_window : bool
        Brain, subdural and bone windows as R, G, B instead (``window`` and colour-coding unused).

    Example
    -------
    >>> step = Preprocess(color_code=True, inside_skull=True)
    >>> step.key
    'v2-brain-red50:90-op1-skull'
    >>> step(np.zeros((512, 512), np.float32)).shape
    (224, 224, 3)
    """

    window: str | tuple[float, float] = "brain"
    color_code: bool = False
    inside_skull: bool = False
    blood_hu: tuple[float, float] = BLOOD_HU
    opacity: float = 1.0
    multi_window: bool = False

    VERSION = 2  # bump when the pixels a given key produces change (it invalidates caches)

    def __post_init__(self):
        if self.window != "file":
            center, width = resolve_window(self.window)
            if not isinstance(self.window, str):
                object.__setattr__(self, "window", (center, width))
        object.__setattr__(self, "blood_hu", _check_blood_range(self.blood_hu))
        _check_opacity(self.opacity)
        if self.multi_window and self.color_code:
            raise ValueError("choose multi_window or color_code, not both")

    def __call__(self, hu: np.ndarray, file_window: tuple[float, float] | None = None) -> np.ndarray:
        """The model-ready image of ``hu``; ``file_window`` is used when ``window="file"``."""
        hu = np.asarray(hu)
        if hu.ndim != 2:
            raise ValueError(f"expected a 2-D array of Hounsfield units, got shape {hu.shape}")
        if self.multi_window:
            return _model_rgb(_multi_window_planes(hu))
        shown = (file_window or "brain") if self.window == "file" else self.window
        if self.color_code:
            red, green_blue = _color_planes(hu, self.blood_hu, self.opacity, self.inside_skull, shown)
            return _model_rgb([red, green_blue, green_blue])
        gray = window(hu, shown)
        return _model_rgb([gray, gray, gray])

    @property
    def key(self) -> str:
        """A short stable string naming the preprocessing, for cache keys."""
        if self.multi_window:
            return f"v{self.VERSION}-multi"
        name = self.window
        if not isinstance(name, str):
            name = f"w{_num(name[0])}:{_num(name[1])}"
        if not self.color_code:
            return f"v{self.VERSION}-{name}"
        low, high = self.blood_hu
        skull = "-skull" if self.inside_skull else ""
        return f"v{self.VERSION}-{name}-red{_num(low)}:{_num(high)}-op{_num(self.opacity)}{skull}"

    def describe(self) -> str:
        """One readable sentence, for notebooks and figure titles."""
        if self.multi_window:
            return "multi-window RGB: brain (R), subdural (G) and bone (B) windows"
        if self.window == "file":
            shown = "the file's own window"
        elif isinstance(self.window, str):
            center, width = WINDOWS[self.window]
            shown = f"{self.window} window ({_num(center)}/{_num(width)})"
        else:
            shown = f"window {_num(self.window[0])}/{_num(self.window[1])}"
        if not self.color_code:
            return shown
        low, high = self.blood_hu
        where = " inside the skull" if self.inside_skull else ""
        return f"{shown}, {_num(low)}-{_num(high)} HU painted red{where} at opacity {_num(self.opacity)}"


def load_image(source, preprocess: Preprocess = Preprocess(), name: str | None = None) -> np.ndarray:
    """A model-ready (224, 224, 3) uint8 image from a DICOM, PNG or JPEG file or its bytes.

    DICOM (the 'DICM' marker at byte 128, or a ``.dcm`` name) goes through
    :func:`rsna_workshop.dicom.read_ct` and ``preprocess``. PNG and JPEG are already pictures
    without HU, so ``preprocess`` does not apply: they are turned to RGB, centre-cropped and
    resized, as Teachable Machine does with uploads.

    Raises
    ------
    ValueError
        (or :class:`~rsna_workshop.dicom.DicomError`) naming the file when it cannot be decoded.
    """
    if isinstance(source, (str, os.PathLike)):
        name = name or str(source)
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise ValueError(f"{name}: cannot read the file: {exc.strerror or exc}") from None
    else:
        data = bytes(source)
        name = name or "<bytes>"
    if dicom.is_dicom(data, name):
        ct = dicom.read_ct(data, name=name)
        return preprocess(ct.hu, file_window=ct.window)
    try:
        with Image.open(io.BytesIO(data)) as picture:
            rgb = np.asarray(ImageOps.exif_transpose(picture).convert("RGB"))
    except Exception as exc:
        raise ValueError(f"{name} is neither DICOM nor an image Pillow can read "
                         f"(PNG, JPEG ...): {exc}") from None
    return to_model_size(rgb)
