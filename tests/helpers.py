"""Helpers shared by the tests: small CT DICOM files, RSNA-layout folders, class folders of PNGs,
and a training result made of plain arrays. Test files import from here, never from each other."""

from __future__ import annotations

import csv
import types
from io import BytesIO
from pathlib import Path

import numpy as np
from PIL import Image
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from rsna_workshop.ct import SUBTYPES

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
    buffer = BytesIO()
    make_ct(stored, **kwargs).save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


# ---- RSNA-layout folders --------------------------------------------------------------------------

# (image id, positive subtypes, patient): 12 normal, 4 subdural only, 3 intraparenchymal only,
# one epidural + subdural; four patients.
SLICES = (
    [(f"ID_n{i:03d}", (), f"P{i % 4}") for i in range(12)]
    + [(f"ID_s{i:03d}", ("subdural",), f"P{i % 4}") for i in range(4)]
    + [(f"ID_p{i:03d}", ("intraparenchymal",), f"P{i % 4}") for i in range(3)]
    + [("ID_x000", ("epidural", "subdural"), "P3")]
)


def label_rows(slices):
    """The RSNA ``ID,Label`` rows (without header) of ``slices``."""
    rows = []
    for image_id, positive, _ in slices:
        rows += [f"{image_id}_{name},{int(name in positive)}" for name in SUBTYPES]
        rows.append(f"{image_id}_any,{int(bool(positive))}")
    return rows


def make_rsna(root, slices=SLICES, *, dicom=True, patients_csv=True, rows=None):
    """A tiny RSNA-layout folder: label file, one small DICOM (or empty file) per slice, slices.csv."""
    root = Path(root)
    images = root / "stage_2_train"
    images.mkdir(parents=True)
    lines = ["ID,Label"] + (label_rows(slices) if rows is None else rows)
    (root / "stage_2_train.csv").write_text("\n".join(lines) + "\n")
    for n, (image_id, positive, patient) in enumerate(slices):
        path = images / f"{image_id}.dcm"
        if dicom:
            stored = np.full((32, 32), 1024 + 40 + 30 * len(positive), np.int16)
            stored[n % 32, :] += 100 + n  # every file's bytes differ
            write_ct(path, stored, PatientID=patient)
        else:
            path.touch()
    if patients_csv:
        with open(root / "slices.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["ID", "PatientID", "StudyInstanceUID", "SeriesInstanceUID", "z", "level",
                             "subtypes"])
            for n, (image_id, positive, patient) in enumerate(slices):
                study = f"1.2.{patient[1:]}"
                writer.writerow([image_id, patient, study, study + ".1", n, 0.5, "|".join(positive)])
    return root


# ---- class folders of pictures the model can learn -------------------------------------------------


def separable_image(label: int, k: int) -> np.ndarray:
    """A 224 x 224 RGB picture of class ``label``: a bright square in colour channel ``label`` on
    dark noise, so a trained model must reach full test accuracy on such pictures."""
    rng = np.random.default_rng(k + 1000 * label)
    image = rng.integers(0, 60, (224, 224, 3), dtype=np.uint8)
    image[60:160, 60:160, label % 3] += 150
    return image


def make_class_folders(root, counts=(20, 20), classes=("normal", "hemorrhage")) -> Path:
    """``root/<class>/<n>.png`` with :func:`separable_image` pictures."""
    root = Path(root)
    for label, (name, n) in enumerate(zip(classes, counts)):
        (root / name).mkdir(parents=True, exist_ok=True)
        for k in range(n):
            Image.fromarray(separable_image(label, k)).save(root / name / f"{k:03d}.png")
    return root


# ---- a training result made of plain arrays --------------------------------------------------------


def fake_result(n_per_class=(12, 9), classes=("normal", "hemorrhage"), seed=0, model=None,
                positive="hemorrhage"):
    """A small training result with the attributes figures and words read, and imperfect predictions."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(classes)), n_per_class)
    logits = rng.normal(0, 1, (len(labels), len(classes))) + 1.2 * np.eye(len(classes))[labels]
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    images = rng.integers(0, 256, (len(labels), 224, 224, 3), dtype=np.uint8)
    epochs = np.arange(1, 16)
    history = {"accuracy": list(1 - 0.5 / epochs), "loss": list(1 / epochs),
               "test_accuracy": list(0.8 - 0.3 / epochs), "test_loss": list(0.6 + 0.4 / epochs)}
    return types.SimpleNamespace(
        classes=tuple(classes), positive=positive, history=history, test_labels=labels,
        test_probabilities=probabilities, test_index=np.arange(len(labels)) + 5,
        test_ids=[f"ID_{i:04d}" for i in range(len(labels))],
        test_images=lambda positions=None: images if positions is None else images[list(positions)],
        classifier=types.SimpleNamespace(keras_model=lambda: model, classes=tuple(classes)),
    )
