"""Build small CT DICOM files in tests, with exactly the tags a test needs (one place for all tests)."""

from __future__ import annotations

import numpy as np
import pydicom
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

_DEFAULTS = {
    "Modality": "CT",
    "PatientID": "ID_patient",
    "PatientName": "Doe^Jane",
    "PatientBirthDate": "19500101",
    "InstitutionName": "General Hospital",
    "StudyInstanceUID": "1.2.3.4",
    "SeriesInstanceUID": "1.2.3.4.5",
    "SOPInstanceUID": "1.2.3.4.5.6",
    "ImagePositionPatient": [-125.0, -125.0, 42.5],
    "PixelSpacing": [0.488, 0.488],
    "RescaleSlope": 1,
    "RescaleIntercept": -1024,
    "WindowCenter": 40,
    "WindowWidth": 80,
}


def make_ct(stored, signed: bool = True, bits_stored: int = 16, transfer_syntax=ExplicitVRLittleEndian,
            pixel_data: bytes | None = None, **tags) -> FileDataset:
    """A CT dataset holding ``stored`` (2-D ints) as its stored values.

    Tags default to :data:`_DEFAULTS`; pass ``Tag=value`` to change one or ``Tag=None`` to leave it out.
    ``pixel_data`` replaces the pixel bytes (for compressed transfer syntaxes).
    """
    stored = np.asarray(stored, np.int16 if signed else np.uint16)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = transfer_syntax
    ds = FileDataset("test.dcm", {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = CTImageStorage
    for key, value in {**_DEFAULTS, **tags}.items():
        if value is not None:
            setattr(ds, key, value)
    ds.Rows, ds.Columns = stored.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 1 if signed else 0
    ds.PixelData = stored.tobytes() if pixel_data is None else pixel_data
    if transfer_syntax.is_encapsulated:
        ds["PixelData"].VR = "OB"
    return ds


def write_ct(path, stored, **kwargs):
    """Write :func:`make_ct` to ``path`` and return the path."""
    make_ct(stored, **kwargs).save_as(path, enforce_file_format=True)
    return path


def ct_bytes(stored, **kwargs) -> bytes:
    """The bytes of a :func:`make_ct` file."""
    from io import BytesIO

    buffer = BytesIO()
    make_ct(stored, **kwargs).save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()
