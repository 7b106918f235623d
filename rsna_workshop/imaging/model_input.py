"""The picture the model sees: a (224, 224, 3) uint8 RGB image made from a CT slice or an image file.

:class:`Preprocess` chains a window and, optionally, the blood colour-coding into Teachable
Machine's input; :func:`load_image` does the same for a DICOM, PNG or JPEG file or its bytes.

>>> hu = np.full((512, 512), 35.0, np.float32)          # grey matter everywhere
>>> Preprocess(color_code=True)(hu).shape
(224, 224, 3)
"""

from __future__ import annotations

import io
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from .. import ct
from ..errors import ImageError, SettingsError
from .blood import BLOOD_HU, check_blood_range, check_opacity, color_planes
from .windows import WINDOWS, multi_window_planes, resolve_window, window

MODEL_SIZE = 224
"""Teachable Machine's image models take 224 x 224 RGB images (MobileNetV2's input size)."""


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
    averages every source pixel instead of skipping some (no aliasing of fine bone edges). The
    result is, to about one grey level on average, what Chromium's canvas draws in Teachable
    Machine's own crop-and-resize of an upload (``tests/test_tm_picture.py``).
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
    paint : {"hu", "truth"}
        With ``color_code``, what is painted: the pixels in ``blood_hu`` (the workshop's rule), or
        the slice's ground-truth hemorrhage mask (the built-in cohort's, passed as ``truth``): the
        upper bound a perfect segmentation would give.

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
    paint: str = "hu"

    VERSION = 2  # bump when the pixels a given key produces change (it invalidates caches)

    def __post_init__(self):
        if self.window != "file":
            center, width = resolve_window(self.window)
            if not isinstance(self.window, str):
                object.__setattr__(self, "window", (center, width))
        object.__setattr__(self, "blood_hu", check_blood_range(self.blood_hu))
        check_opacity(self.opacity)
        if self.multi_window and self.color_code:
            raise SettingsError("choose multi_window or color_code, not both")
        if self.paint not in ("hu", "truth"):
            raise SettingsError(f"paint must be 'hu' (the blood HU range) or 'truth' (the ground-truth "
                                f"mask), not {self.paint!r}")
        if self.paint == "truth" and not self.color_code:
            raise SettingsError("paint='truth' paints the true bleed red: set color_code=True as well")

    def __call__(self, hu: np.ndarray, file_window: tuple[float, float] | None = None,
                 truth: np.ndarray | None = None) -> np.ndarray:
        """The model-ready image of ``hu``; ``file_window`` is used when ``window="file"``, and
        ``truth`` (the slice's hemorrhage mask, nonzero where it bleeds) when ``paint="truth"``."""
        hu = np.asarray(hu)
        if hu.ndim != 2:
            raise ImageError(f"expected a 2-D array of Hounsfield units, got shape {hu.shape}")
        if self.multi_window:
            return _model_rgb(multi_window_planes(hu))
        shown = (file_window or "brain") if self.window == "file" else self.window
        if self.color_code:
            painted = self._truth_mask(truth, hu.shape) if self.paint == "truth" else None
            red, green_blue = color_planes(hu, self.blood_hu, self.opacity, self.inside_skull, shown,
                                           painted)
            return _model_rgb([red, green_blue, green_blue])
        gray = window(hu, shown)
        return _model_rgb([gray, gray, gray])

    @staticmethod
    def _truth_mask(truth, shape) -> np.ndarray:
        if truth is None:
            raise ImageError("painting the true bleed needs the slice's ground-truth mask, and only the "
                             "built-in synthetic cohort has masks: use paint='hu' for other images")
        truth = np.asarray(truth)
        if truth.shape != shape:
            raise ImageError(f"the ground-truth mask is {truth.shape}, the slice {shape}: they must match")
        return truth > 0

    def to_dict(self) -> dict:
        """The settings as plain JSON-able values (see :meth:`from_dict`)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, record: dict) -> "Preprocess":
        """The preprocessing that :meth:`to_dict` wrote."""
        return cls(**{key: tuple(value) if isinstance(value, list) else value
                      for key, value in record.items()})

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
        if self.paint == "truth":
            return f"v{self.VERSION}-{name}-redtruth-op{_num(self.opacity)}"
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
        if self.paint == "truth":
            return f"{shown}, the true bleed (ground-truth mask) painted red at opacity {_num(self.opacity)}"
        low, high = self.blood_hu
        where = " inside the skull" if self.inside_skull else ""
        return f"{shown}, {_num(low)}-{_num(high)} HU painted red{where} at opacity {_num(self.opacity)}"


def load_image(source, preprocess: Preprocess = Preprocess(), name: str | None = None,
               truth: np.ndarray | None = None) -> np.ndarray:
    """A model-ready (224, 224, 3) uint8 image from a DICOM, PNG or JPEG file or its bytes.

    DICOM (the 'DICM' marker at byte 128, or a ``.dcm`` name) goes through
    :func:`rsna_workshop.ct.read_ct` and ``preprocess``. PNG and JPEG are already pictures
    without HU, so ``preprocess`` does not apply: they are turned to RGB, centre-cropped and
    resized, as Teachable Machine does with uploads.

    Raises
    ------
    ImageError or DicomError
        naming the file when it cannot be read or decoded.
    """
    if isinstance(source, (str, os.PathLike)):
        name = name or str(source)
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise ImageError(f"{name}: cannot read the file: {exc.strerror or exc}") from None
    else:
        data = bytes(source)
        name = name or "<bytes>"
    if ct.is_dicom(data, name):
        slice_ = ct.read_ct(data, name=name)
        return preprocess(slice_.hu, file_window=slice_.window, truth=truth)
    try:
        with Image.open(io.BytesIO(data)) as picture:
            rgb = np.asarray(ImageOps.exif_transpose(picture).convert("RGB"))
    except Exception as exc:
        raise ImageError(f"{name} is neither DICOM nor an image Pillow can read "
                         f"(PNG, JPEG ...): {exc}") from None
    return to_model_size(rgb)
