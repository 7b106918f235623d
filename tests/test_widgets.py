"""Each widget builds, and moving its controls (or calling its callbacks) updates what it shows."""

from __future__ import annotations

import datetime
import io
import types

import ipywidgets
import numpy as np
import pytest
from PIL import Image

from helpers import fake_result

from rsna_workshop import evaluation, imaging
from rsna_workshop.datasets import TrainingSettings
from rsna_workshop.errors import ImageError
from rsna_workshop.show import widgets


def shown(box) -> np.ndarray:
    """The picture a widget shows now, as an array."""
    return np.asarray(Image.open(io.BytesIO(box.image.value)))


def head_hu() -> np.ndarray:
    """A round 'head': air outside, a bone ring, brain at 30 HU and a 70 HU blob."""
    yy, xx = np.mgrid[:128, :128]
    r = np.hypot(yy - 64, xx - 64)
    hu = np.full((128, 128), -1000.0, np.float32)
    hu[r < 60] = 1000.0
    hu[r < 52] = 30.0
    hu[np.hypot(yy - 50, xx - 70) < 8] = 70.0
    return hu


def test_threshold_explorer_updates_counts_and_picture_with_the_slider():
    result = fake_result()
    box = widgets.threshold_explorer(result)
    first_picture = box.image.value
    assert box.metrics == evaluation.result_metrics(result, threshold=0.5)
    box.controls["threshold"].value = 0.2
    assert box.metrics == evaluation.result_metrics(result, threshold=0.2)
    assert box.image.value != first_picture
    assert f"Threshold 0.20: sensitivity {box.metrics.sensitivity}" in box.status.value


def test_window_explorer_presets_move_the_sliders_and_sliders_go_custom():
    hu = head_hu()
    box = widgets.window_explorer(hu)
    np.testing.assert_array_equal(shown(box), imaging.window(hu, "brain"))
    box.controls["preset"].value = "bone"
    assert (box.controls["center"].value, box.controls["width"].value) == (600, 2800)
    np.testing.assert_array_equal(shown(box), imaging.window(hu, "bone"))
    box.controls["width"].value = 500
    assert box.controls["preset"].value == "custom"
    np.testing.assert_array_equal(shown(box), imaging.window(hu, (600, 500)))
    assert "350 HU and below black" in box.status.value


def test_window_explorer_rejects_a_volume():
    with pytest.raises(ImageError, match="one CT slice"):
        widgets.window_explorer(np.zeros((3, 64, 64)))


def test_color_code_explorer_follows_range_opacity_and_skull_mask():
    hu = head_hu()
    box = widgets.color_code_explorer(hu)
    coded = shown(box)[:, -128:]
    np.testing.assert_array_equal(coded, imaging.color_code(hu, blood_hu=(50, 90)))
    blob_only = box.painted_fraction
    assert blob_only == pytest.approx(np.mean((hu >= 50) & (hu <= 90)))
    box.controls["blood_hu"].value = (20, 90)  # now brain is painted too
    assert box.painted_fraction > 10 * blob_only
    box.controls["inside_skull"].value = True
    expected = imaging.color_code(hu, blood_hu=(20, 90), inside_skull=True)
    np.testing.assert_array_equal(shown(box)[:, -128:], expected)
    box.controls["outline"].value = True  # the colour-blind view: a blue edge, no red
    outlined = shown(box)[:, -128:]
    blue = np.all(outlined == imaging.blood.OUTLINE_RGB, axis=2)
    inside = imaging.blood_pixels(hu, (20, 90), inside_skull=True)
    assert blue.any() and not np.all(outlined == (255, 0, 0), axis=2).any()
    assert blue[~inside].sum() > 0 and (inside & ~blue).sum() > 0  # an edge: some out, most in
    assert "outlined in blue" in box.status.value
    box.controls["opacity"].value = 0.0
    assert box.painted_fraction == 0.0


def test_blood_outline_is_the_edge_of_the_painted_pixels():
    hu = np.full((9, 9), 20.0)
    hu[2:7, 2:7] = 70.0
    blue = np.all(imaging.outline_blood(hu, imaging.blood_pixels(hu)) == imaging.blood.OUTLINE_RGB, axis=2)
    assert not blue[4, 4] and not blue[0, 0]  # the middle and far outside keep their gray
    assert blue[2, 2] and blue[1, 4] and blue[3, 3]  # the edge, one pixel out and one in
    assert blue.sum() == 7 * 7 - 1


def test_preview_shows_the_probabilities_of_an_uploaded_png():
    result = fake_result()
    seen = []

    def predict(images):
        seen.append(np.asarray(images).shape)
        return np.array([[0.25, 0.75]])

    result.classifier = types.SimpleNamespace(predict=predict, preprocess=imaging.Preprocess())
    box = widgets.preview(result)
    buffer = io.BytesIO()
    Image.fromarray(np.full((300, 200, 3), 90, np.uint8)).save(buffer, format="png")
    probabilities = box.show_file("slice.png", buffer.getvalue())
    assert seen == [(1, 224, 224, 3)]
    assert probabilities == {"normal": 0.25, "hemorrhage": 0.75}
    assert "hemorrhage</b> (75%)" in box.status.value and box.image.value


def test_preview_upload_event_and_a_broken_file():
    result = fake_result()
    result.classifier = types.SimpleNamespace(predict=lambda images: np.array([[0.9, 0.1]]),
                                              preprocess=imaging.Preprocess())
    box = widgets.preview(result)
    box.show_file("notes.txt", b"not an image")
    assert "Cannot use this file" in box.status.value and "notes.txt" in box.status.value
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((50, 50), np.uint8)).save(buffer, format="png")
    if ipywidgets.__version__.startswith("7."):  # what the browser sends on upload
        box.controls["upload"].set_state({"metadata": [{"name": "a.png", "type": "image/png", "size": 1,
                                                       "lastModified": 0}],
                                          "data": [memoryview(buffer.getvalue())], "_counter": 1})
    else:
        box.controls["upload"].value = [{"name": "a.png", "type": "image/png", "size": 1,
                                         "content": memoryview(buffer.getvalue()),
                                         "last_modified": datetime.datetime.now(datetime.timezone.utc)}]
    assert "a.png: <b>normal</b> (90%)" in box.status.value


def test_uploads_are_read_in_ipywidgets_7_and_8_formats():
    seven = {"a.png": {"metadata": {"name": "a.png", "type": "image/png", "size": 3}, "content": b"abc"}}
    eight = ({"name": "a.png", "type": "image/png", "size": 3, "content": memoryview(b"abc")},)
    assert widgets.uploaded_files(seven) == widgets.uploaded_files(eight) == [("a.png", b"abc")]


def test_training_panel_trains_with_the_chosen_settings_and_draws_each_epoch():
    dataset = types.SimpleNamespace(settings=TrainingSettings(epochs=3, batch_size=32, learning_rate=0.0005))
    calls = []

    def fake_train(data, *, epochs, batch_size, learning_rate, seed, on_epoch):
        calls.append((data, epochs, batch_size, learning_rate, seed))
        result = fake_result()
        history = {key: [] for key in result.history}
        for epoch in range(1, epochs + 1):
            for key in history:
                history[key].append(float(result.history[key][epoch - 1]))
            on_epoch(epoch, history)
            assert box.controls["progress"].value == epoch
        result.history, result.seconds = history, 1.5
        return result

    box = widgets.training_panel(dataset, seed=7, trainer=fake_train)
    assert box.image.layout.display == "none"  # no empty (broken) picture before the first run
    assert box.controls["epochs"].value == 3 and box.controls["batch_size"].value == 32
    box.controls["epochs"].value = 4
    pictures = []
    box.image.observe(lambda change: pictures.append(change["new"]), names="value")
    box.controls["train"].click()
    assert len(set(pictures)) == 4 + 1  # one curve picture per epoch, then under the hood
    assert box.image.layout.display is None
    assert calls == [(dataset, 4, 32, 0.0005, 7)]
    expected = fake_result().history["accuracy"][:4]
    assert box.result.history["accuracy"] == pytest.approx(list(expected))
    assert "final test accuracy" in box.status.value and not box.controls["train"].disabled
    assert shown(box).shape[1] > 1000  # the under-the-hood panel


def test_training_panel_offers_a_project_files_unusual_batch_size():
    box = widgets.training_panel(types.SimpleNamespace(settings=TrainingSettings(50, 8, 0.001)))
    assert box.controls["batch_size"].value == 8
    assert box.controls["batch_size"].options == (8, 16, 32, 64, 128, 256, 512)


def test_training_panel_shows_a_failure_and_stays_usable():
    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    box = widgets.training_panel(types.SimpleNamespace(settings=TrainingSettings(50, 16, 0.001)),
                                 trainer=broken)
    with pytest.raises(RuntimeError):
        box.train()
    assert "Training failed: out of memory" in box.status.value
    assert not box.controls["train"].disabled


def test_long_runs_draw_at_most_live_frames_pictures():
    assert [widgets.live_every(n) for n in (1, 15, 30, 31, 75, 250)] == [1, 1, 1, 2, 3, 9]
    for epochs in (15, 75, 250):
        drawn = [e for e in range(1, epochs + 1) if (e - 1) % widgets.live_every(epochs) == 0]
        assert drawn[0] == 1 and len(drawn) <= widgets.LIVE_FRAMES


def test_the_first_epoch_shows_as_dots_on_whole_epoch_ticks():
    fig, axes = widgets.new_figure(1, 2)
    widgets.figures.draw_curves(axes[0, 0], {"loss": [0.7], "test_loss": [0.69]}, "loss")
    fig.canvas.draw()
    train, test = axes[0, 0].lines
    assert train.get_marker() == "o" and test.get_marker() == "o"
    ticks = [t for t in axes[0, 0].get_xticks() if 0.5 <= t <= 2.5]
    assert ticks and all(float(t).is_integer() for t in ticks)


def test_status_lines_and_errors_take_the_theme_colours():
    box = widgets.threshold_explorer(fake_result())
    assert "color:var(--jp-ui-font-color1)" in box.status.value
    assert "black" not in box.status.value
    broken = widgets.training_panel(types.SimpleNamespace(settings=TrainingSettings(5, 16, 0.001)),
                                    trainer=lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        broken.train()
    assert "color:var(--jp-error-color1)" in broken.status.value


def test_a_picture_file_without_hounsfield_units_gets_a_synthetic_slice_and_says_so(tmp_path, capsys):
    project = tmp_path / "original-balanced.tm"
    project.write_bytes(b"zip")
    box = widgets.window_explorer(project)
    assert "original-balanced.tm holds pictures without Hounsfield units" in capsys.readouterr().out
    assert shown(box).shape == (512, 512) and "40 / 80" in box.status.value
    with pytest.raises(ImageError):
        widgets.window_explorer(np.zeros((3, 8, 8)))
