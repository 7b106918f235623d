"""Damaged files: seeded byte mutations (flips, truncations, junk, holes) of real generated files.

Every reader of untrusted bytes either reads a mutated file or raises a ``WorkshopError`` that names
it; any other exception is a bug. About 3,000 cases in all, in about half a minute.
"""

from __future__ import annotations

import io
import random
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pydicom
import pytest
from helpers import make_rsna
from PIL import Image
from pydicom.uid import ExplicitVRLittleEndian

from rsna_workshop.ct import read_ct
from rsna_workshop.datasets import ImageReader, from_rsna, read_tm, write_tm
from rsna_workshop.errors import WorkshopError
from rsna_workshop.imaging import load_image
from rsna_workshop.synthetic import build_cohort

DICOM_CASES = 1600
TM_CASES = 800
CSV_CASES = 400
PICTURE_CASES = 400


def mutate(data: bytes, rng: random.Random, region: int | None = None) -> bytes:
    """``data`` with one seeded kind of damage, mostly within its first ``region`` bytes."""
    data = bytearray(data)
    end = min(region or len(data), len(data))
    kind = rng.choice(["flip", "flip", "truncate", "junk", "hole"])
    if kind == "flip":
        for _ in range(rng.randint(1, 12)):
            data[rng.randrange(end)] ^= 1 << rng.randrange(8)
    elif kind == "truncate":
        del data[rng.randrange(len(data)):]
    elif kind == "junk":
        at = rng.randrange(end)
        data[at:at] = rng.randbytes(rng.randint(1, 64))
    else:
        at = rng.randrange(end)
        del data[at:at + rng.randint(1, 256)]
    return bytes(data)


def outcome(read, *names: str) -> str:
    """'read', or 'refused' for a WorkshopError naming one of ``names``; anything else fails the test."""
    try:
        read()
    except WorkshopError as error:
        assert any(name in str(error) for name in names), f"the error names none of {names}: {error}"
        return "refused"
    return "read"


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Path:
    """A small built-in cohort (about 50 slices, with every scanner quirk of the real one)."""
    return build_cohort(tmp_path_factory.mktemp("fuzz") / "synthetic", scale=0.02, workers=1).path


def header_variants(folder: Path) -> list[bytes]:
    """One uncompressed file per distinct header layout (signed, padded, 12-bit, single window,
    plain), as scanners write them, then the cohort's own deflated files of the same layouts."""
    chosen: dict[tuple, bytes] = {}
    for path in sorted((folder / "stage_2_train").glob("*.dcm")):
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        layout = (ds.PixelRepresentation, ds.BitsStored, "PixelPaddingValue" in ds,
                  isinstance(ds.WindowCenter, pydicom.multival.MultiValue))
        chosen.setdefault(layout, path.read_bytes())
    return [uncompressed(data) for data in chosen.values()] + list(chosen.values())


def uncompressed(data: bytes) -> bytes:
    """The same DICOM file in Explicit VR Little Endian, without the cohort's deflate."""
    ds = pydicom.dcmread(io.BytesIO(data))
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def test_damaged_dicom_files_are_read_or_refused_by_name(cohort):
    seeds = header_variants(cohort)
    assert len(seeds) >= 8
    rng = random.Random(15)
    tally = {"read": 0, "refused": 0}
    with warnings.catch_warnings(record=True) as caught:
        for case in range(DICOM_CASES):
            data = mutate(seeds[case % len(seeds)], rng, region=1600)  # the header, mostly
            name = f"upload-{case}.dcm"
            tally[outcome(lambda: load_image(data, name=name), name)] += 1
    assert tally["read"] > 100 and tally["refused"] > 100, tally
    chatter = [w for w in caught if "pydicom" in w.filename]
    assert not chatter, f"pydicom warned {len(chatter)} times, e.g. {chatter[0].message}"


def test_a_damaged_value_pydicom_trips_on_is_our_error_naming_the_file(cohort):
    data = header_variants(cohort)[0]
    marker = data.index(b"1.2.840.10008.1.2.1")  # the transfer syntax UID, in the file meta
    damaged = data[:marker] + b"1.2.840.10008.!.2.1" + data[marker + 19:]
    with pytest.raises(WorkshopError, match="scan-7.dcm is damaged.*copy or export it again"):
        read_ct(damaged, name="scan-7.dcm")


def tm_seeds(cohort: Path, folder: Path) -> list[Path]:
    """A project written by ``write_tm`` (images stored) and the same zipped with deflate."""
    stored = write_tm(from_rsna(cohort, counts=3, seed=0), folder / "stored.tm")
    deflated = folder / "deflated.tm"
    with zipfile.ZipFile(stored) as source, zipfile.ZipFile(deflated, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            out.writestr(info.filename, source.read(info))
    return [stored, deflated]


def read_every_image(path: Path) -> None:
    data = read_tm(path)
    with ImageReader(data) as reader:
        for i in range(len(data)):
            assert reader.image(i).shape == (224, 224, 3)


def test_damaged_tm_projects_are_read_or_refused_by_name(cohort, tmp_path):
    seeds = [path.read_bytes() for path in tm_seeds(cohort, tmp_path)]
    rng = random.Random(15)
    tally = {"read": 0, "refused": 0}
    skipped = 0
    for case in range(TM_CASES):
        path = tmp_path / f"project-{case}.tm"
        path.write_bytes(mutate(seeds[case % 2], rng))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            tally[outcome(lambda: read_every_image(path), path.name)] += 1
        skipped += any("Skipped" in str(w.message) for w in caught)
        path.unlink()
    assert tally["read"] > 50 and tally["refused"] > 50 and skipped > 10, (tally, skipped)


def test_damaged_rsna_label_and_patient_files_are_read_or_refused_by_name(tmp_path):
    root = make_rsna(tmp_path / "rsna", dicom=False)
    originals = {name: (root / name).read_bytes() for name in ("stage_2_train.csv", "slices.csv")}
    rng = random.Random(15)
    tally = {"read": 0, "refused": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "n images are not in the folder" is expected here
        for case in range(CSV_CASES):
            name = list(originals)[case % 2]
            (root / name).write_bytes(mutate(originals[name], rng))
            tally[outcome(lambda: from_rsna(root), name, str(root))] += 1  # the file, or its folder
            (root / name).write_bytes(originals[name])
    assert tally["read"] > 20 and tally["refused"] > 20, tally


def test_damaged_png_and_jpeg_uploads_are_read_or_refused_by_name():
    pictures = []
    for fmt in ("PNG", "JPEG"):
        buffer = io.BytesIO()
        Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 80, 3), dtype=np.uint8)).save(
            buffer, format=fmt)
        pictures.append(buffer.getvalue())
    rng = random.Random(15)
    tally = {"read": 0, "refused": 0}
    for case in range(PICTURE_CASES):
        data = mutate(pictures[case % 2], rng)
        name = f"upload-{case}.img"
        tally[outcome(lambda: load_image(data, name=name), name)] += 1
    assert tally["read"] > 20 and tally["refused"] > 20, tally

