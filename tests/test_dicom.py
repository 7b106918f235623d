"""read_ct: Hounsfield units from DICOM files built here, one real-scanner quirk per test."""

from __future__ import annotations

import warnings

import numpy as np
import pydicom
import pytest
from helpers import ct_bytes, make_ct, write_ct
from pydicom.encaps import encapsulate
from pydicom.uid import JPEGLSLossless

from rsna_workshop.ct.dicom import AIR_HU, has_rsna_12bit_defect, read_ct
from rsna_workshop.errors import DicomError


@pytest.mark.parametrize(
    ("stored", "signed", "slope", "intercept", "expected"),
    [
        ([[-1000, -20], [40, 2000]], True, 1, 0, [[-1000, -20], [40, 2000]]),
        ([[-1024, 0], [1064, 3000]], True, 1, -1024, [[-2048, -1024], [40, 1976]]),
        ([[0, 1024], [1064, 4000]], False, 1, -1024, [[-1024, 0], [40, 2976]]),
        ([[0, 500], [532, 1000]], False, 2, -1024, [[-1024, -24], [40, 976]]),
        ([[0, 100], [-100, 7]], True, 0.5, 10, [[10, 60], [-40, 13.5]]),
    ],
    ids=["signed", "signed-intercept", "unsigned", "slope-2", "fractional-slope"],
)
def test_hu_is_stored_value_times_slope_plus_intercept(stored, signed, slope, intercept, expected):
    ct = read_ct(ct_bytes(stored, signed=signed, RescaleSlope=slope, RescaleIntercept=intercept))
    assert ct.hu.dtype == np.float32
    np.testing.assert_array_equal(ct.hu, np.array(expected, np.float32))


def test_rsna_12bit_defect_is_unwrapped_so_air_is_minus_1000():
    hu = np.array([[-1000, -20, 0, 40], [70, 1500, 3000, -500]])
    defective = make_ct(hu % 4096, signed=False, bits_stored=12, RescaleIntercept=0)
    assert has_rsna_12bit_defect(defective)
    assert (defective.pixel_array.min(), defective.pixel_array.max()) == (0, 4076)  # air wrapped to 3096
    ct = read_ct(ct_bytes(hu % 4096, signed=False, bits_stored=12, RescaleIntercept=0))
    np.testing.assert_array_equal(ct.hu, hu.astype(np.float32))


@pytest.mark.parametrize(
    ("bits_stored", "signed", "intercept"), [(12, False, -1024), (16, False, 0), (12, True, 0)]
)
def test_12bit_correction_leaves_other_files_alone(bits_stored, signed, intercept):
    stored = [[24, 1064]]
    assert not has_rsna_12bit_defect(make_ct(stored, signed=signed, bits_stored=bits_stored,
                                             RescaleIntercept=intercept))
    ct = read_ct(ct_bytes(stored, signed=signed, bits_stored=bits_stored, RescaleIntercept=intercept))
    np.testing.assert_array_equal(ct.hu, np.array(stored, np.float32) + intercept)


def test_window_from_single_multi_valued_and_missing_tags():
    assert read_ct(ct_bytes([[0]], WindowCenter=40, WindowWidth=80)).window == (40.0, 80.0)
    multi = ct_bytes([[0]], WindowCenter=[36, 600], WindowWidth=[90, 2800])
    assert read_ct(multi).window == (36.0, 90.0)
    assert read_ct(ct_bytes([[0]], WindowCenter=None, WindowWidth=None)).window is None
    assert read_ct(ct_bytes([[0]], WindowCenter=40, WindowWidth=0)).window is None


def test_padding_value_becomes_air():
    ct = read_ct(ct_bytes([[-2000, 0], [1064, -2000]], PixelPaddingValue=-2000))
    np.testing.assert_array_equal(ct.hu, [[AIR_HU, -1024], [40, AIR_HU]])
    unsigned = read_ct(ct_bytes([[0, 24], [1064, 0]], signed=False, PixelPaddingValue=0))
    np.testing.assert_array_equal(unsigned.hu, [[AIR_HU, -1000], [40, AIR_HU]])


def test_padding_range_limit_pads_the_whole_range():
    stored = [[-2000, -1800, -1500], [-1499, 0, 1064]]
    ct = read_ct(ct_bytes(stored, PixelPaddingValue=-2000, PixelPaddingRangeLimit=-1500))
    np.testing.assert_array_equal(ct.hu, [[AIR_HU, AIR_HU, AIR_HU], [-2523, -1024, 40]])


def test_missing_slope_and_intercept_default_to_1_and_0_with_a_warning():
    data = ct_bytes([[-1000, 40]], RescaleSlope=None, RescaleIntercept=None)
    with pytest.warns(UserWarning, match="no RescaleSlope/RescaleIntercept; assuming 1 and 0"):
        ct = read_ct(data, name="bare.dcm")
    np.testing.assert_array_equal(ct.hu, [[-1000, 40]])


def test_present_rescale_gives_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_ct(ct_bytes([[0]]))


def test_meta_keeps_only_the_lesson_fields_and_no_identifiers():
    ct = read_ct(ct_bytes([[0]]), name="ID_0001.dcm")
    assert ct.meta == {
        "PatientID": "ID_patient",
        "StudyInstanceUID": "1.2.3.4",
        "SeriesInstanceUID": "1.2.3.4.5",
        "SOPInstanceUID": "1.2.3.4.5.6",
        "ImagePositionPatient": (-125.0, -125.0, 42.5),
        "PixelSpacing": (0.488, 0.488),
    }
    text = repr(ct) + str(ct.meta)
    for identifier in ("Doe", "Jane", "19500101", "General Hospital"):
        assert identifier not in text
    assert ct.source == "ID_0001.dcm"


def test_missing_meta_fields_are_none():
    ct = read_ct(ct_bytes([[0]], PixelSpacing=None, ImagePositionPatient=None))
    assert ct.meta["PixelSpacing"] is None and ct.meta["ImagePositionPatient"] is None


def test_reads_a_path_and_names_it(tmp_path):
    path = write_ct(tmp_path / "slice.dcm", [[1064, 0]])
    ct = read_ct(path)
    assert ct.source == str(path)
    np.testing.assert_array_equal(ct.hu, [[40, -1024]])


def test_non_ct_modality_is_refused():
    with pytest.raises(DicomError, match=r"knee\.dcm is a MR image, not CT"):
        read_ct(ct_bytes([[0]], Modality="MR"), name="knee.dcm")


def test_compressed_without_decoder_names_the_package_to_install():
    if pydicom.pixels.get_decoder(JPEGLSLossless).is_available:
        pytest.skip("a JPEG-LS decoder is installed here")
    data = ct_bytes([[0, 0]], transfer_syntax=JPEGLSLossless, pixel_data=encapsulate([b"\xff\xd8junk"]))
    with pytest.raises(DicomError, match=r"jls\.dcm is compressed as JPEG-LS Lossless") as error:
        read_ct(data, name="jls.dcm")
    assert "pip install pylibjpeg pylibjpeg-libjpeg" in str(error.value)
    assert "pip install python-gdcm" in str(error.value)


def test_truncated_pixel_data_names_the_file(tmp_path):
    data = ct_bytes(np.zeros((64, 64)))
    path = tmp_path / "cut.dcm"
    path.write_bytes(data[: len(data) - 3000])
    with pytest.raises(DicomError, match=r"cut\.dcm.*cannot be decoded \(truncated\?\)"):
        read_ct(path)


def test_truncated_header_names_the_file(tmp_path):
    path = tmp_path / "stub.dcm"
    path.write_bytes(ct_bytes([[0]])[:200])
    with pytest.raises(DicomError, match=r"stub\.dcm"):
        read_ct(path)


def test_non_dicom_file_names_the_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("not an image " * 20)
    with pytest.raises(DicomError, match=r"notes\.txt is not a DICOM file \(no 'DICM' marker"):
        read_ct(path)
    with pytest.raises(DicomError, match=r"missing\.dcm: no such file"):
        read_ct(tmp_path / "missing.dcm")


def test_multi_frame_file_is_refused():
    data = ct_bytes(np.zeros((4, 2)), NumberOfFrames=2)
    with pytest.raises(DicomError, match="not a single grayscale slice"):
        read_ct(data, name="volume.dcm")


def test_unreadable_path_names_the_file(tmp_path):
    folder = tmp_path / "folder.dcm"
    folder.mkdir()
    with pytest.raises(DicomError, match=r"folder\.dcm: cannot read the file: Is a directory"):
        read_ct(folder)
