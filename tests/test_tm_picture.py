"""The picture the model sees is the one Teachable Machine draws in the browser.

Teachable Machine shrinks every upload onto a 224 x 224 canvas (its ``cropTo``: scale the shorter
side to 224, centre, ``drawImage``); :func:`rsna_workshop.imaging.to_model_size` must give the same
pixels as Chromium's canvas does, or the reproduced model would see other pictures than the
original's. Without Debian's chromium the test is skipped, except in CI.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from lab_browser import chromium, chromium_or_skip

from rsna_workshop.imaging import MODEL_SIZE, square_crop, to_model_size, window
from rsna_workshop.synthetic import generate_slice

# Teachable Machine's cropTo, run on a PNG given as base64; returns the canvas' red channel.
CROP_TO = """async (data) => {
  const image = new Image();
  image.src = 'data:image/png;base64,' + data;
  await image.decode();
  const size = 224, scale = size / Math.min(image.width, image.height);
  const width = Math.ceil(image.width * scale), height = Math.ceil(image.height * scale);
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = size;
  const context = canvas.getContext('2d');
  context.drawImage(image, ~~((width - size) / 2) * -1, ~~((height - size) / 2) * -1, width, height);
  const rgba = context.getImageData(0, 0, size, size).data;
  return Array.from(rgba.filter((_, i) => i % 4 === 0));
}"""
MEAN_LEVELS = 1.5  # mean absolute difference allowed, grey levels of 255 (1.0 on 2026-12-06)
P99_LEVELS = 25  # at the sharpest bone edges (18 on 2026-12-06)


@pytest.fixture(scope="module")
def canvas():
    """A function: uint8 gray picture -> Chromium's 224 x 224 canvas of it, as Teachable Machine draws."""
    executable = chromium_or_skip()
    with chromium(executable) as context:
        page = context.new_page()
        page.set_content("<html><body></body></html>")

        def draw(picture: np.ndarray) -> np.ndarray:
            png = io.BytesIO()
            Image.fromarray(picture).save(png, "PNG")
            pixels = page.evaluate(CROP_TO, base64.b64encode(png.getvalue()).decode())
            return np.array(pixels, np.uint8).reshape(MODEL_SIZE, MODEL_SIZE)

        yield draw


def _difference(ours: np.ndarray, browser: np.ndarray) -> tuple[float, float]:
    d = np.abs(ours.astype(float) - browser.astype(float))
    return float(d.mean()), float(np.percentile(d, 99))


@pytest.mark.parametrize("width", [512, 640])
def test_the_model_picture_matches_teachable_machine_s_canvas_in_chromium(canvas, width):
    brain = window(generate_slice(3, level=0.45, subtypes=("subdural",)).hu, "brain")
    picture = np.pad(brain, ((0, 0), ((width - 512) // 2,) * 2))  # a wider upload is cropped
    browser = canvas(picture)
    mean, p99 = _difference(to_model_size(picture)[:, :, 0], browser)
    assert mean <= MEAN_LEVELS and p99 <= P99_LEVELS, (mean, p99)
    # the bounds tell resizing methods apart: skipping pixels (nearest neighbour) is far outside them
    nearest = np.asarray(Image.fromarray(square_crop(picture)).resize((MODEL_SIZE,) * 2, Image.Resampling.NEAREST))
    nearest_mean, nearest_p99 = _difference(nearest, browser)
    assert nearest_mean > 2 * MEAN_LEVELS and nearest_p99 > 2 * P99_LEVELS, (nearest_mean, nearest_p99)
