"""Windows, colour-coding, skull mask and model-ready images, with exact expected pixels."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest
from helpers import ct_bytes, write_ct
from PIL import Image
from scipy import ndimage

from rsna_workshop.ct import read_ct
from rsna_workshop.errors import DicomError, ImageError, SettingsError
from rsna_workshop.imaging import (
    BLOOD_HU,
    WINDOWS,
    Preprocess,
    color_code,
    load_image,
    multi_window,
    skull_interior,
    square_crop,
    to_model_size,
    window,
)

RED, BLACK, WHITE = (255, 0, 0), (0, 0, 0), (255, 255, 255)


def test_presets_read_like_radiology():
    assert WINDOWS["brain"] == (40, 80)
    assert WINDOWS["subdural"] == (80, 200)
    assert WINDOWS["bone"] == (600, 2800)
    assert WINDOWS["stroke"] == (40, 40)
    assert WINDOWS["soft_tissue"] == (40, 350)
    assert BLOOD_HU == (50, 90)


@pytest.mark.parametrize(
    ("spec", "hu", "expected"),
    [
        ("brain", [-100, 0, 20, 40, 80, 200], [0, 0, 64, 128, 255, 255]),
        ("subdural", [-20, 80, 180], [0, 128, 255]),
        ("bone", [-800, 600, 2000], [0, 128, 255]),
        ((30, 60), [0, 30, 45, 60], [0, 128, 191, 255]),
    ],
)
def test_window_maps_hu_linearly_to_gray_levels(spec, hu, expected):
    levels = window(np.array([hu], np.float32), spec)
    assert levels.dtype == np.uint8
    np.testing.assert_array_equal(levels, [expected])


@pytest.mark.parametrize(
    ("spec", "message"),
    [("lung", r"unknown window 'lung'; choose one of \['bone', 'brain'"),
     ((40, 0), "width must be positive"),
     ("40/80", "unknown window"),
     ((40,), r"a window is a name or \(center, width\)")],
)
def test_bad_window_is_explained(spec, message):
    with pytest.raises(ValueError, match=message):
        window(np.zeros((2, 2)), spec)


# gray levels in the brain window:  40 -> 128, 49.9 -> 159, 50 -> 159, 70 -> 223, 90 and above -> 255
HU_ROW = np.array([[40, 49.9, 50, 70], [90, 90.1, 1000, -1000]], np.float32)


def test_color_code_paints_exactly_the_blood_range_red():
    rgb = color_code(HU_ROW)
    assert rgb.dtype == np.uint8 and rgb.shape == (2, 4, 3)
    expected = [[(128,) * 3, (159,) * 3, RED, RED], [RED, WHITE, WHITE, BLACK]]
    np.testing.assert_array_equal(rgb, expected)


def test_color_code_opacity_blends_red_with_the_gray_level():
    rgb = color_code(HU_ROW, opacity=0.5)
    # painted: red = gray / 2 + 127.5, green = blue = gray / 2, rounded half up
    expected = [[(128,) * 3, (159,) * 3, (207, 80, 80), (239, 112, 112)],
                [(255, 128, 128), WHITE, WHITE, BLACK]]
    np.testing.assert_array_equal(rgb, expected)
    np.testing.assert_array_equal(color_code(HU_ROW, opacity=0), np.dstack([window(HU_ROW)] * 3))


def test_color_code_blood_range_and_window_are_configurable():
    rgb = color_code(HU_ROW, blood_hu=(60, 1000), window=(500, 1000))
    painted = np.all(rgb == RED, axis=2)
    np.testing.assert_array_equal(painted, [[False, False, False, True], [True, True, True, False]])
    assert tuple(rgb[0, 0]) == (10,) * 3  # 40 HU in a 500/1000 window


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"blood_hu": (90, 50)}, "low < high"),
    ({"blood_hu": 70}, r"blood_hu is a \(low, high\) pair"),
    ({"opacity": 1.5}, "opacity must lie between 0 and 1"),
])
def test_bad_color_code_arguments_are_explained(kwargs, message):
    with pytest.raises(ValueError, match=message):
        color_code(HU_ROW, **kwargs)


def skull_phantom(offset: int = 0) -> np.ndarray:
    """80 x 80 brain (35 HU) in a 4-pixel square skull whose inner edge is at offset + 12 .. offset + 67.

    Blood-like 70 HU: the row just inside the top of the skull (partial-volume rim), one pixel deep
    inside (a small bleed) and one pixel outside the skull (scalp).
    """
    hu = np.full((80, 80), -1000.0, np.float32)
    outer, inner = slice(offset + 8, offset + 72), slice(offset + 12, offset + 68)
    hu[outer, outer] = 1000.0
    hu[inner, inner] = 35.0
    hu[offset + 12, inner] = 70.0
    hu[40, 40] = 70.0
    hu[2, 40] = 70.0
    return hu


@pytest.mark.parametrize("offset", [0, 1])
@pytest.mark.parametrize("margin", [0, 1, 3])
def test_skull_interior_is_inside_the_inner_table_less_the_margin(offset, margin):
    expected = np.zeros((80, 80), bool)
    first, last = offset + 12 + margin, offset + 67 - margin
    expected[first:last + 1, first:last + 1] = True
    np.testing.assert_array_equal(skull_interior(skull_phantom(offset), margin=margin), expected)


def test_skull_interior_bridges_gaps_up_to_gap_pixels_but_not_open_skulls():
    narrow, wide, no_bone = skull_phantom(), skull_phantom(), np.full((80, 80), 35.0)
    narrow[8:12, 32:48] = 35.0  # a 16-pixel opening in the top of the skull (a sinus, a foramen)
    wide[8:12, 20:60] = 35.0  # a 40-pixel defect, wider than the default gap of 24
    assert skull_interior(narrow)[20:60, 20:60].all()
    assert not skull_interior(wide).any()
    assert skull_interior(wide, gap=40)[20:60, 20:60].all()
    assert not skull_interior(no_bone).any()


def test_inside_skull_paints_the_bleed_but_not_the_rim_or_the_scalp():
    hu = skull_phantom()
    everywhere = np.argwhere(np.all(color_code(hu) == RED, axis=2))
    assert len(everywhere) == 56 + 2  # the rim row, the bleed and the scalp pixel
    inside = np.argwhere(np.all(color_code(hu, inside_skull=True) == RED, axis=2))
    np.testing.assert_array_equal(inside, [[40, 40]])


def test_multi_window_stacks_brain_subdural_and_bone():
    hu = np.array([[0, 40, 80, 600, 2000]], np.float32)
    rgb = multi_window(hu)
    assert rgb.shape == (1, 5, 3) and rgb.dtype == np.uint8
    np.testing.assert_array_equal(rgb[0, :, 0], [0, 128, 255, 255, 255])
    np.testing.assert_array_equal(rgb[0, :, 1], window(hu, "subdural")[0])
    np.testing.assert_array_equal(rgb[0, :, 2], [73, 77, 80, 128, 255])


def test_square_crop_keeps_the_centre():
    np.testing.assert_array_equal(square_crop(np.arange(15).reshape(3, 5)),
                                  [[1, 2, 3], [6, 7, 8], [11, 12, 13]])
    wide = np.arange(28).reshape(4, 7)
    np.testing.assert_array_equal(square_crop(wide), wide[:, 1:5])  # odd difference: cut one more on the right
    assert square_crop(np.zeros((9, 4, 3))).shape == (4, 4, 3)


def test_resize_is_antialiased():
    checkerboard = (np.indices((448, 448)).sum(axis=0) % 2 * 255).astype(np.uint8)
    small = to_model_size(checkerboard)
    assert small.shape == (224, 224, 3) and small.dtype == np.uint8
    assert 120 <= small.min() and small.max() <= 135  # a skipping resize would give pure 0 and 255


def hu_image(rows: int = 300, columns: int = 400, seed: int = 0) -> np.ndarray:
    """A non-square slice: skull ring, noisy brain and a left crescent, blurred like a CT image.

    The blur gives the inner table a partial-volume rim of blood-like HU all round.
    """
    rng = np.random.default_rng(seed)
    y, x = np.indices((rows, columns))
    radius = np.hypot(y - rows / 2, x - columns / 2)
    hu = np.where(radius < 120, 35.0, -1000.0)
    hu[(radius >= 120) & (radius < 135)] = 1200
    hu[(radius > 100) & (radius < 120) & (x < columns / 2)] = 70
    hu = ndimage.gaussian_filter(hu, 0.8) + rng.normal(0, 3, (rows, columns))
    return hu.astype(np.float32)


@pytest.mark.parametrize("preprocess", [
    Preprocess(),
    Preprocess(window="subdural"),
    Preprocess(color_code=True),
    Preprocess(color_code=True, inside_skull=True, opacity=0.6, blood_hu=(55, 85)),
    Preprocess(multi_window=True),
], ids=lambda p: p.key)
def test_preprocess_equals_the_public_functions_then_crop_and_resize(preprocess):
    hu = hu_image()
    if preprocess.multi_window:
        expected = multi_window(hu)
    elif preprocess.color_code:
        expected = color_code(hu, preprocess.blood_hu, preprocess.opacity, preprocess.inside_skull,
                              window=preprocess.window)
    else:
        expected = window(hu, preprocess.window)
    image = preprocess(hu)
    assert image.shape == (224, 224, 3) and image.dtype == np.uint8
    np.testing.assert_array_equal(image, to_model_size(expected))


def test_preprocess_paints_the_bleed_red_and_the_skull_mask_removes_the_rim():
    hu = hu_image()
    plain, masked = Preprocess(color_code=True)(hu), Preprocess(color_code=True, inside_skull=True)(hu)
    left, right = slice(None, 100), slice(124, None)
    reddish = lambda image: (image[:, :, 0].astype(int) - image[:, :, 1]) > 60  # noqa: E731
    assert reddish(masked[:, left]).sum() > 0.9 * reddish(plain[:, left]).sum() > 1000  # the crescent stays
    assert reddish(plain[:, right]).sum() > 100  # the rim is painted ...
    assert not reddish(masked[:, right]).any()  # ... unless the skull mask leaves it out


def test_preprocess_file_window_uses_the_dicom_window():
    hu = hu_image()
    from_file = Preprocess(window="file")
    np.testing.assert_array_equal(from_file(hu, file_window=(30, 60)), Preprocess(window=(30, 60))(hu))
    np.testing.assert_array_equal(from_file(hu), Preprocess()(hu))  # no window in the file: brain


def test_preprocess_keys_are_short_stable_and_distinct():
    keys = {
        Preprocess(): "v2-brain",
        Preprocess(window=(30, 60)): "v2-w30:60",
        Preprocess(window="file"): "v2-file",
        Preprocess(color_code=True): "v2-brain-red50:90-op1",
        Preprocess(color_code=True, inside_skull=True, opacity=0.5): "v2-brain-red50:90-op0.5-skull",
        Preprocess(color_code=True, blood_hu=(60, 100)): "v2-brain-red60:100-op1",
        Preprocess(multi_window=True): "v2-multi",
    }
    for preprocess, key in keys.items():
        assert preprocess.key == key
    assert Preprocess(inside_skull=True).key == "v2-brain"  # no colour-coding: the mask changes nothing
    assert Preprocess(window=[30, 60]) == Preprocess(window=(30.0, 60.0))
    assert hash(Preprocess(window=[30, 60])) == hash(Preprocess(window=(30, 60)))


def test_preprocess_describes_itself():
    assert Preprocess().describe() == "brain window (40/80)"
    assert (Preprocess(color_code=True, inside_skull=True, opacity=0.5).describe()
            == "brain window (40/80), 50-90 HU painted red inside the skull at opacity 0.5")
    assert Preprocess(multi_window=True).describe().startswith("multi-window RGB")


def test_preprocess_is_frozen_and_checks_its_arguments():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Preprocess().window = "bone"
    with pytest.raises(SettingsError, match="choose multi_window or color_code, not both"):
        Preprocess(multi_window=True, color_code=True)
    with pytest.raises(SettingsError, match="unknown window 'lung'"):
        Preprocess(window="lung")
    with pytest.raises(ValueError, match="opacity"):
        Preprocess(opacity=-0.1)
    with pytest.raises(ValueError, match=r"expected a 2-D array of Hounsfield units, got shape \(2, 2, 3\)"):
        Preprocess()(np.zeros((2, 2, 3)))


def png_bytes(array: np.ndarray, mode: str | None = None) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array, mode).save(buffer, format="PNG")
    return buffer.getvalue()


def test_load_image_reads_dicom_paths_and_bytes(tmp_path):
    hu_stored = (hu_image(64, 80) + 1024).astype(np.int16)
    path = write_ct(tmp_path / "ID_1.dcm", hu_stored)
    preprocess = Preprocess(color_code=True)
    expected = preprocess(read_ct(path).hu)
    np.testing.assert_array_equal(load_image(path, preprocess), expected)
    np.testing.assert_array_equal(load_image(path.read_bytes(), preprocess), expected)  # found by 'DICM'


def test_load_image_uses_the_file_window_on_request(tmp_path):
    data = ct_bytes(np.full((8, 8), 1034), WindowCenter=30, WindowWidth=60)  # 10 HU everywhere
    assert (load_image(data, Preprocess(window="file")) == 43).all()  # 10 HU in a 30/60 window
    assert (load_image(data, Preprocess()) == 32).all()  # in the brain window


def test_load_image_crops_and_resizes_pictures_and_ignores_preprocess():
    picture = np.zeros((100, 150, 3), np.uint8)
    picture[:, :, 1] = 255  # green margins, cut off by the centre crop
    picture[:, 25:125] = RED
    image = load_image(png_bytes(picture), Preprocess(color_code=True))
    assert image.shape == (224, 224, 3)
    assert (image == RED).all()
    gray = load_image(png_bytes(np.full((50, 50), 77, np.uint8)))
    assert (gray == 77).all()


def test_load_image_names_what_it_cannot_decode(tmp_path):
    with pytest.raises(ImageError, match=r"upload\.png is neither DICOM nor an image Pillow can read"):
        load_image(b"\x89PNG but not really", name="upload.png")
    with pytest.raises(DicomError, match=r"half\.dcm"):
        load_image(ct_bytes(np.zeros((64, 64)))[:1000], name="half.dcm")
    with pytest.raises(ValueError, match=r"gone\.png: cannot read the file"):
        load_image(tmp_path / "gone.png")


def test_painting_the_ground_truth_paints_exactly_the_mask():
    hu = np.full((64, 64), 30.0)
    hu[10:20, 10:20] = 70.0  # blood-range pixels the mask does not call bleed
    truth = np.zeros((64, 64), np.uint8)
    truth[40:50, 40:50] = 5  # a bleed at brain density, which the HU rule would miss
    step = Preprocess(color_code=True, paint="truth", window=(30, 60))
    gray = window(hu, (30, 60))
    green_blue = np.where(truth > 0, 0, gray).astype(np.uint8)
    expected = np.dstack([np.where(truth > 0, 255, gray).astype(np.uint8), green_blue, green_blue])
    np.testing.assert_array_equal(step(hu, truth=truth), to_model_size(expected))
    assert step.key == "v2-w30:60-redtruth-op1"
    assert "true bleed (ground-truth mask) painted red" in step.describe()
    with pytest.raises(ImageError, match="only the built-in synthetic cohort has masks"):
        step(hu)
    with pytest.raises(ImageError, match=r"mask is \(8, 8\), the slice \(64, 64\)"):
        step(hu, truth=np.zeros((8, 8)))
    with pytest.raises(SettingsError, match="set color_code=True as well"):
        Preprocess(paint="truth")
    with pytest.raises(SettingsError, match="paint must be 'hu'"):
        Preprocess(color_code=True, paint="mask")
