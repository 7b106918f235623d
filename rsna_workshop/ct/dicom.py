"""Read a head CT DICOM slice into Hounsfield units, coping with real scanners' quirks.

The one entry point is :func:`read_ct`. It decodes the stored values, applies the modality LUT
(pydicom's :func:`~pydicom.pixels.apply_modality_lut`: ``stored * RescaleSlope + RescaleIntercept``
for CT) and returns a :class:`CTSlice` whose ``hu`` array is float32. On top of the standard it
handles:

- signed and unsigned pixel data (``PixelRepresentation`` 1 or 0);
- single- or multi-valued ``WindowCenter`` / ``WindowWidth`` (the first pair is used);
- ``PixelPaddingValue`` (and ``PixelPaddingRangeLimit``): padded pixels lie outside the scanner's
  field of view, which is air, so they become :data:`AIR_HU` (-1000 HU) rather than the image
  minimum, which differs between scanners (-1024, -2000, -3024 ...);
- missing ``RescaleSlope`` / ``RescaleIntercept``: 1 and 0, with a warning;
- the RSNA 2019 12-bit defect (see :func:`has_rsna_12bit_defect`);
- non-CT files (a file without ``Modality`` is read as CT), compressed pixel data without a
  decoder installed, and truncated, damaged or non-DICOM files: a :class:`DicomError` that names
  the file and says what to do, whatever pydicom or NumPy raised (pydicom's warnings about values
  outside the standard are silenced: what read_ct cannot use ends in that error).

Example
-------
>>> ct = read_ct("ID_000012eaf.dcm")                                   # doctest: +SKIP
>>> ct.hu.dtype, ct.window, ct.meta["PatientID"]                       # doctest: +SKIP
(dtype('float32'), (40.0, 80.0), 'ID_8c9bcd7b')
"""

from __future__ import annotations

import io
import os
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError
from pydicom.pixels import apply_modality_lut

from ..errors import DicomError

AIR_HU = -1000.0
"""Hounsfield units given to padding pixels (outside the field of view, so air)."""

META_FIELDS = (
    "PatientID",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "SOPInstanceUID",
    "ImagePositionPatient",
    "PixelSpacing",
)
"""The only DICOM fields :func:`read_ct` keeps; no name, birth date or other identifiers."""

_PIP_NAMES = {"gdcm": "python-gdcm"}

# pydicom warns about every value that breaks the standard's rules, which floods a notebook reading
# old or damaged files; read_ct checks what it uses and raises a DicomError on what it cannot use.
# pydicom's own switch stops its validation warnings in every thread; _quiet_pydicom quiets the
# rest while a file is read (a filter set once at import is dropped by a caller's catch_warnings).
pydicom.config.settings.reading_validation_mode = pydicom.config.IGNORE


@contextmanager
def _quiet_pydicom():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module=r"pydicom\.")
        yield


@dataclass(frozen=True)
class CTSlice:
    """One CT slice in Hounsfield units.

    Attributes
    ----------
    hu : ndarray of float32, shape (rows, columns)
        Hounsfield units.
    window : (center, width) or None
        The display window stored in the file (the first one when there are several).
    meta : dict
        Only the fields in :data:`META_FIELDS` (``None`` where absent); UIDs as strings,
        ``ImagePositionPatient`` and ``PixelSpacing`` as tuples of floats.
    source : str
        The file's name, for messages.
    """

    hu: np.ndarray = field(repr=False)
    window: tuple[float, float] | None
    meta: dict
    source: str

    def __repr__(self) -> str:
        return f"CTSlice(source={self.source!r}, shape={self.hu.shape}, window={self.window})"


def read_ct(source, name: str | None = None) -> CTSlice:
    """Read one CT slice from a DICOM file path or its raw bytes.

    Parameters
    ----------
    source : str, Path or bytes
        A DICOM file, or its content (from a zip member or an upload).
    name : str, optional
        The name used in messages and ``CTSlice.source``; defaults to the path, or ``"<bytes>"``.

    Returns
    -------
    CTSlice

    Raises
    ------
    DicomError
        The file is not DICOM, is truncated, is not CT, holds several frames, or its compressed
        pixel data needs a decoder that is not installed.
    """
    name = name or (str(source) if isinstance(source, (str, os.PathLike)) else "<bytes>")
    try:
        with _quiet_pydicom():
            return _ct_slice(_read_dataset(source, name), name)
    except DicomError:
        raise
    except Exception as exc:  # a damaged header reaches pydicom and NumPy in many ways
        raise DicomError(f"{name} is damaged ({type(exc).__name__}: {exc}); copy or export it again, "
                         f"or leave it out") from None


def _ct_slice(ds, name: str) -> CTSlice:
    _check_ct(ds, name)
    stored = _stored_values(ds, name)
    hu = _hounsfield_units(ds, stored, name)
    padding = _padding_mask(ds, stored)
    if padding is not None:
        hu[padding] = AIR_HU
    return CTSlice(hu=hu, window=_file_window(ds), meta=_meta(ds), source=name)


def _hounsfield_units(ds, stored: np.ndarray, name: str) -> np.ndarray:
    """The modality LUT of the standard, except for the RSNA 12-bit defect (undone first)."""
    if has_rsna_12bit_defect(ds):
        unwrapped = np.remainder(stored.astype(np.int32) + 1000, 4096) - 1000
        return (unwrapped * float(ds.RescaleSlope or 1)).astype(np.float32)
    if "ModalityLUTSequence" not in ds:
        _default_rescale(ds, name)
    return np.asarray(apply_modality_lut(stored, ds), dtype=np.float32)


def has_rsna_12bit_defect(ds) -> bool:
    """True for the wrapped 12-bit files found in part of the RSNA 2019 hemorrhage data.

    These files say ``BitsStored == 12``, ``PixelRepresentation == 0`` (unsigned) and a
    ``RescaleIntercept`` above -100, and their stored values are ``HU mod 4096``, so air wraps
    round to about 3096. :func:`read_ct` undoes the wrap with
    ``hu = (((stored + 1000) mod 4096) - 1000) * RescaleSlope`` (the intercept is the defect and
    is not used), which is exact for -1000 <= HU < 3096.
    """
    intercept = ds.get("RescaleIntercept")
    return (
        ds.get("BitsStored") == 12
        and ds.get("PixelRepresentation") == 0
        and intercept is not None
        and float(intercept) > -100
    )


def _read_dataset(source, name: str):
    fileobj = io.BytesIO(source) if isinstance(source, (bytes, bytearray, memoryview)) else source
    try:
        return pydicom.dcmread(fileobj)
    except FileNotFoundError:
        raise DicomError(f"{name}: no such file") from None
    except OSError as exc:
        raise DicomError(f"{name}: cannot read the file: {exc.strerror or exc}") from None
    except InvalidDicomError:
        raise DicomError(
            f"{name} is not a DICOM file (no 'DICM' marker at byte 128); "
            "export the slice as DICOM, or load a PNG/JPEG as an image instead"
        ) from None
    except Exception as exc:  # pydicom raises many kinds on truncated or garbled files
        raise DicomError(f"{name} cannot be read as DICOM (truncated or damaged?): {exc}; copy or "
                         f"export it again") from None


def _check_ct(ds, name: str) -> None:
    modality = ds.get("Modality")
    if modality is not None and modality != "CT":
        raise DicomError(
            f"{name} is a {modality} image, not CT: Hounsfield units and CT windows apply only to CT"
        )
    if "PixelData" not in ds:
        raise DicomError(f"{name} holds no pixel data (a report or structured document?)")
    if int(ds.get("NumberOfFrames", 1) or 1) > 1 or int(ds.get("SamplesPerPixel", 1)) != 1:
        raise DicomError(f"{name} is not a single grayscale slice; read_ct reads one CT slice per file")


def _stored_values(ds, name: str) -> np.ndarray:
    """The stored pixel values (before rescale), as a 2-D integer array."""
    syntax = getattr(ds, "file_meta", {}).get("TransferSyntaxUID")
    if syntax is not None and syntax.is_compressed:
        decoder = pydicom.pixels.get_decoder(syntax)
        if not decoder.is_available:
            raise DicomError(f"{name} is compressed as {syntax.name}; {_install_hint(decoder)}")
    try:
        stored = ds.pixel_array
    except Exception as exc:
        raise DicomError(f"{name}: its pixel data cannot be decoded (truncated?): {exc}") from None
    if stored.ndim != 2:
        raise DicomError(f"{name}: expected a 2-D slice, found pixel data of shape {stored.shape}")
    return stored


def _install_hint(decoder) -> str:
    options = []
    for missing in decoder.missing_dependencies:  # e.g. "pylibjpeg - requires pylibjpeg>=2.0 and ..."
        plugin, _, needs = missing.partition(" - requires ")
        packages = [p.split(">")[0].split("=")[0].strip() for p in needs.split(" and ")]
        packages = [_PIP_NAMES.get(p, p) for p in packages if p and p != "numpy"] or [plugin]
        options.append("pip install " + " ".join(packages))
    return "install a decoder, one of: " + " | ".join(options)


def _default_rescale(ds, name: str) -> None:
    """Fill a missing ``RescaleSlope`` (1) or ``RescaleIntercept`` (0) in ``ds``, with a warning."""
    if "RescaleSlope" in ds and "RescaleIntercept" in ds:
        return
    warnings.warn(
        f"{name} has no RescaleSlope/RescaleIntercept; assuming 1 and 0 (HU = stored value)",
        stacklevel=4,
    )
    ds.RescaleSlope = ds.get("RescaleSlope", 1)
    ds.RescaleIntercept = ds.get("RescaleIntercept", 0)


def _padding_mask(ds, stored: np.ndarray) -> np.ndarray | None:
    value = ds.get("PixelPaddingValue")
    if value is None:
        return None
    limit = ds.get("PixelPaddingRangeLimit")
    if limit is None:
        return stored == value
    low, high = sorted((int(value), int(limit)))
    return (stored >= low) & (stored <= high)


def _first(value) -> float:
    return float(value[0]) if isinstance(value, pydicom.multival.MultiValue) else float(value)


def _file_window(ds) -> tuple[float, float] | None:
    center, width = ds.get("WindowCenter"), ds.get("WindowWidth")
    if center is None or width is None:
        return None
    try:
        center, width = _first(center), _first(width)
    except (TypeError, ValueError, IndexError):
        return None
    return (center, width) if width > 0 else None


def _meta(ds) -> dict:
    meta = {}
    for key in META_FIELDS:
        value = ds.get(key)
        if key in ("ImagePositionPatient", "PixelSpacing") and value is not None:
            value = tuple(float(v) for v in value)
        elif value is not None:
            value = str(value)
        meta[key] = value
    return meta


def is_dicom(data: bytes, name: str | os.PathLike | None = None) -> bool:
    """True when ``data`` has the 'DICM' marker at byte 128 or ``name`` ends in ``.dcm``."""
    return data[128:132] == b"DICM" or (name is not None and Path(str(name)).suffix.lower() == ".dcm")
